"""The back office's tasks: security notices, on the deliveries queue (``backoffice.notices``)."""

from celery import shared_task

from backoffice.notices import security_notice_email


@shared_task(autoretry_for=(OSError,), retry_backoff=30, retry_backoff_max=1800, max_retries=10)
def send_security_notice(event_id: str) -> bool:
    return security_notice_email(event_id=event_id)  # a mail server that is down (OSError) is tried again later
