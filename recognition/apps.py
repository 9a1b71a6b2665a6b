from django.apps import AppConfig


class RecognitionConfig(AppConfig):
    name = "recognition"
    verbose_name = "Recognition"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from celery.signals import task_postrun
        from django.core.signals import request_finished

        from recognition.engines.imaging import forget_decoded
        from recognition.services.exports import export_delete, exports_older_than
        from recognition.services.retention import Retained, retention_register

        # Decoded images are shared within one request or task, never kept beyond it.
        request_finished.connect(forget_decoded, dispatch_uid="recognition.forget_decoded")
        task_postrun.connect(forget_decoded, dispatch_uid="recognition.forget_decoded", weak=False)
        retention_register("exports", Retained(label="subject access exports", due=exports_older_than,
                                               remove=lambda export: export_delete(export=export)))  # fmt: skip
