from celery import shared_task

from integrations import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_delivery(delivery_id: str) -> None:
    # Safe to receive twice: the service claims the delivery atomically before sending.
    services.delivery_send(delivery_id=delivery_id)


@shared_task
def sweep_deliveries() -> dict:
    return services.deliveries_sweep().__dict__
