from celery import shared_task

from integrations import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def dispatch_event(event_id: int) -> None:
    services.event_dispatch(event_id=event_id)


@shared_task
def sweep_undispatched_events() -> int:
    return services.events_sweep_undispatched()
