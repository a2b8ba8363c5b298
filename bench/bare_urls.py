"""The sign-up's database work and nothing else, for the signup part's comparison.

POST /bare/<gesprek>/ with name, email, postcode: in one transaction lock the gesprek,
check the address is not signed up yet, count the seats taken and insert the Aanmelding
(a held seat or the waiting list), as gesprekken.services.sign_up does; no CSRF, session,
form, template, outbox or broker. Served by gunicorn with bench.bare_settings.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone

from gesprekken.models import Aanmelding, Gesprek, new_short_code

Status = Aanmelding.Status


def bare_sign_up(request, pk):
    if request.method != "POST":
        return HttpResponse(status=405)
    email = request.POST["email"].strip().lower()
    now = timezone.now()
    with transaction.atomic():
        gesprek = Gesprek.objects.select_for_update().get(pk=pk)
        active = gesprek.aanmeldingen.filter(email=email, status__in=Aanmelding.ACTIVE_STATUSES)
        if active.exists():
            return HttpResponse("already signed up", status=409)
        free = gesprek.max_participants - gesprek.aanmeldingen.holding_seat().count()
        aanmelding = Aanmelding(
            gesprek=gesprek,
            name=request.POST["name"].strip(),
            email=email,
            postcode=request.POST["postcode"].replace(" ", "").upper(),
            language="nl",
            consent_at=now,
            created_at=now,
        )
        if free > 0:
            aanmelding.status = Status.ONBEVESTIGD
            hold = timedelta(minutes=settings.GESPREKKEN_HOLD_MINUTES)
            aanmelding.hold_expires_at = min(now + hold, gesprek.starts_at)
        else:
            aanmelding.status = Status.WACHTLIJST
        for attempt in range(3):
            try:
                with transaction.atomic():
                    aanmelding.save(force_insert=True)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
                aanmelding.short_code = new_short_code()
    return HttpResponse(aanmelding.status, status=201)


urlpatterns = [path("bare/<int:pk>/", bare_sign_up)]
