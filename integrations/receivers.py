from django.db import transaction
from django.dispatch import receiver

from integrations.models import OutboxEvent
from recognition.signals import image_analysed


@receiver(image_analysed, dispatch_uid="integrations.image_analysed")
def record_image_analysed(*, image, **kwargs) -> None:
    from integrations.tasks import dispatch_event

    event = OutboxEvent.objects.create(kind=OutboxEvent.Kind.IMAGE_ANALYSED, image=image)
    transaction.on_commit(lambda: dispatch_event.delay(event.pk))
