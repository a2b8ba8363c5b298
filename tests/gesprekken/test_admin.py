"""The admin goes through the services: a change tells residents, actions publish and
call off, registrations and e-mails are read-only, and no e-mail address is listed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from gesprekken.models import Aanmelding, Bericht, Gesprek
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, InteresseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("model", ["thema", "gesprek", "aanmelding", "interesse", "bericht"])
def test_every_list_opens(admin_client, model):
    aanmelding = AanmeldingFactory(email="geheim.adres@example.org", phone="0612345678")
    InteresseFactory(buurt=aanmelding.gesprek.buurt, email="ook.geheim@example.org")

    response = admin_client.get(reverse(f"admin:gesprekken_{model}_changelist"))

    assert response.status_code == 200
    assert b"geheim.adres@example.org" not in response.content
    assert b"ook.geheim@example.org" not in response.content
    assert b"0612345678" not in response.content


def test_the_gesprek_list_shows_seats_taken(admin_client):
    gesprek = GesprekFactory(max_participants=5)
    AanmeldingFactory.create_batch(2, gesprek=gesprek)
    AanmeldingFactory(gesprek=gesprek, status=Aanmelding.Status.WACHTLIJST)

    response = admin_client.get(reverse("admin:gesprekken_gesprek_changelist"))

    assert "2 / 5" in response.content.decode()


def test_registrations_and_emails_cannot_be_added_or_edited(admin_client):
    aanmelding = AanmeldingFactory()

    assert admin_client.get(reverse("admin:gesprekken_aanmelding_add")).status_code == 403
    assert admin_client.get(reverse("admin:gesprekken_bericht_add")).status_code == 403
    url = reverse("admin:gesprekken_aanmelding_change", args=[aanmelding.pk])
    response = admin_client.post(url, {"name": "Anders", "status": "bevestigd"})
    assert response.status_code == 403
    aanmelding.refresh_from_db()
    assert aanmelding.name != "Anders"


def form_data(gesprek, **changes):
    local = timezone.localtime
    data = {
        "format": gesprek.format,
        "buurt": gesprek.buurt_id,
        "street": gesprek.street,
        "place": gesprek.place,
        "route": gesprek.route,
        "video_url": gesprek.video_url,
        "starts_at_0": local(gesprek.starts_at).date().isoformat(),
        "starts_at_1": local(gesprek.starts_at).time().isoformat(),
        "ends_at_0": local(gesprek.ends_at).date().isoformat(),
        "ends_at_1": local(gesprek.ends_at).time().isoformat(),
        "min_participants": gesprek.min_participants,
        "max_participants": gesprek.max_participants,
        "thema": "",
        "language": gesprek.language,
        "accessibility_notes": gesprek.accessibility_notes,
        "balance_max_share": gesprek.balance_max_share,
        "facilitator": "",
        "co_facilitator": "",
    }
    return {**data, **changes}


def test_changing_the_place_in_the_admin_tells_everyone_registered(admin_client):
    gesprek = GesprekFactory(place="Buurthuis")
    aanmelding = AanmeldingFactory(gesprek=gesprek)
    url = reverse("admin:gesprekken_gesprek_change", args=[gesprek.pk])

    response = admin_client.post(url, form_data(gesprek, place="Wijkcentrum"))

    assert response.status_code == 302
    gesprek.refresh_from_db()
    assert (gesprek.place, gesprek.sequence) == ("Wijkcentrum", 1)
    assert Bericht.objects.get(kind="gewijzigd").aanmelding == aanmelding


def test_saving_the_admin_form_unchanged_tells_nobody(admin_client):
    gesprek = GesprekFactory()
    AanmeldingFactory(gesprek=gesprek)
    url = reverse("admin:gesprekken_gesprek_change", args=[gesprek.pk])

    admin_client.post(url, form_data(gesprek))

    assert not Bericht.objects.exists()


def test_a_new_gesprek_made_in_the_admin_starts_as_a_draft(admin_client):
    template = GesprekFactory.build(buurt=GesprekFactory().buurt)
    template.starts_at = timezone.now() + timedelta(days=3)
    template.ends_at = template.starts_at + timedelta(hours=2)

    admin_client.post(reverse("admin:gesprekken_gesprek_add"), form_data(template))

    assert Gesprek.objects.filter(status=Gesprek.Status.CONCEPT).count() == 1


def test_the_publish_and_call_off_actions_use_the_services(admin_client):
    gesprek = GesprekFactory(status=Gesprek.Status.CONCEPT)
    interesse = InteresseFactory(buurt=gesprek.buurt, confirmed=True)
    url = reverse("admin:gesprekken_gesprek_changelist")

    admin_client.post(url, {"action": "publish_selected", "_selected_action": [gesprek.pk]})
    assert Bericht.objects.get(kind="uitnodiging").interesse == interesse

    AanmeldingFactory(gesprek=gesprek)
    admin_client.post(url, {"action": "cancel_selected", "_selected_action": [gesprek.pk]})
    gesprek.refresh_from_db()
    assert gesprek.status == Gesprek.Status.AFGELAST
    assert Bericht.objects.filter(kind="afgelast").count() == 1


def test_cancelling_a_registration_in_the_admin_offers_the_seat_on(admin_client):
    gesprek = GesprekFactory(max_participants=1)
    seated = AanmeldingFactory(gesprek=gesprek)
    waiting = AanmeldingFactory(gesprek=gesprek, status=Aanmelding.Status.WACHTLIJST)

    admin_client.post(
        reverse("admin:gesprekken_aanmelding_changelist"),
        {"action": "cancel_selected", "_selected_action": [seated.pk]},
    )

    waiting.refresh_from_db()
    assert waiting.status == Aanmelding.Status.AANGEBODEN
