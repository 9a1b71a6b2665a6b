from django.apps import AppConfig


class VideosConfig(AppConfig):
    """Recorded video: uploads, analysis in chunks, and sightings of people with their times."""

    name = "videos"
    verbose_name = "Videos"
    default_auto_field = "django.db.models.BigAutoField"
