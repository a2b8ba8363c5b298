"""Project-wide housekeeping tasks."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task
def clear_expired_sessions() -> int:
    """Delete sessions past their expiry date; returns how many went."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@shared_task
def ping(value: str) -> str:
    """Echo a value back: lets health checks and tests see a worker answer."""
    return f"pong:{value}"
