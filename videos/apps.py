from django.apps import AppConfig


class VideosConfig(AppConfig):
    """Recorded video: uploads, analysis in chunks, and sightings of people with their times."""

    name = "videos"
    verbose_name = "Videos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        from recognition.models import Person
        from recognition.services.retention import Retained, retention_register
        from recognition.services.strays import held_in, strays_register
        from videos.analysis import frames_held
        from videos.models import Video
        from videos.services import video_delete, videos_due
        from videos.sightings import sightings_forget_details

        retention_register("videos", Retained(label="videos", due=videos_due, remove=lambda v: video_delete(video=v)))
        strays_register("videos/", held_in(Video))
        strays_register("videos/frames/", frames_held)
        pre_delete.connect(sightings_forget_details, sender=Person, dispatch_uid="videos.sightings_forget_details")
