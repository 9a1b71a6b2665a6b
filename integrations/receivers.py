from django.dispatch import receiver

from integrations.services.outbox import (
    deliveries_for_image,
    deliveries_for_verification,
    deliveries_for_video,
    deliveries_forget,
    deliveries_redact,
)
from recognition.signals import image_analysed, person_erased, verification_done, verifications_purged
from videos.signals import video_analysed


@receiver(image_analysed, dispatch_uid="integrations.image_analysed")
def queue_deliveries(*, image, results=None, **kwargs) -> None:
    # Runs inside the transaction that marks the image done: the outbox rows
    # commit with the results or not at all.
    deliveries_for_image(image=image, results=results)


@receiver(video_analysed, dispatch_uid="integrations.video_analysed")
def queue_video_deliveries(*, video, **kwargs) -> None:
    deliveries_for_video(video=video)


@receiver(verification_done, dispatch_uid="integrations.verification_done")
def queue_verification_deliveries(*, verification, **kwargs) -> None:
    deliveries_for_verification(verification=verification)


@receiver(person_erased, dispatch_uid="integrations.person_erased")
def redact_deliveries(*, image_ids, verification_ids, **kwargs) -> None:
    # Inside the erasure's transaction: the documents are redacted together with the data, or not at all.
    deliveries_redact(image_ids=image_ids, verification_ids=verification_ids)


@receiver(verifications_purged, dispatch_uid="integrations.verifications_purged")
def forget_verification_deliveries(*, verification_ids, **kwargs) -> None:
    deliveries_forget(verification_ids=verification_ids)
