from django.db import models


class OutboxEvent(models.Model):
    """Something recognition announced, written in the same transaction as the results.

    Because the row commits or rolls back with the results, an event is never
    lost and never announced for results that did not commit. A follow-up task
    dispatches it; the sweeper re-queues events whose task message was lost.
    """

    class Kind(models.TextChoices):
        IMAGE_ANALYSED = "image.analysed", "Image analysed"

    kind = models.CharField(max_length=50, choices=Kind.choices)
    image = models.ForeignKey("recognition.Image", on_delete=models.CASCADE, related_name="outbox_events")
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.image_id}"
