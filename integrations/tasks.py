from celery import shared_task

from integrations.services.sending import delivery_send
from integrations.services.upkeep import deliveries_sweep


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_delivery(delivery_id: str) -> None:
    # Safe to receive twice: the service claims the delivery atomically before sending.
    delivery_send(delivery_id=delivery_id)


@shared_task
def sweep_deliveries() -> dict:
    return deliveries_sweep().__dict__
