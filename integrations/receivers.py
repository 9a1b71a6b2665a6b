from django.dispatch import receiver

from integrations.services import deliveries_for_image, deliveries_for_verification
from recognition.signals import image_analysed, verification_done


@receiver(image_analysed, dispatch_uid="integrations.image_analysed")
def queue_deliveries(*, image, **kwargs) -> None:
    # Runs inside the transaction that marks the image done: the outbox rows
    # commit with the results or not at all.
    deliveries_for_image(image=image)


@receiver(verification_done, dispatch_uid="integrations.verification_done")
def queue_verification_deliveries(*, verification, **kwargs) -> None:
    deliveries_for_verification(verification=verification)
