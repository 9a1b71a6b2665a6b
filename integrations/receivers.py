from django.dispatch import receiver

from integrations.services import deliveries_for_image
from recognition.signals import image_analysed


@receiver(image_analysed, dispatch_uid="integrations.image_analysed")
def queue_deliveries(*, image, **kwargs) -> None:
    # Runs inside the transaction that marks the image done: the outbox rows
    # commit with the results or not at all.
    deliveries_for_image(image=image)
