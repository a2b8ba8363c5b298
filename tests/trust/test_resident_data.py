"""A resident downloads (JSON) and erases their details from the manage page.

"Erase by a link sent to your e-mail" is the existing resend flow: "Lost your link?"
(gesprekken:resend) mails the personal link, which opens the manage page with these
buttons; see docs/privacy.md.
"""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from gesprekken import services
from gesprekken.models import Aanmelding, Bericht, Gesprek, Incident
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory
from tests.gesprekken.pages import Elements, cache_table, empty_cache  # noqa: F401

pytestmark = pytest.mark.usefixtures("empty_cache")

Status = Aanmelding.Status


def url(name: str, aanmelding: Aanmelding) -> str:
    return reverse(f"gesprekken:{name}", args=[aanmelding.pk, aanmelding.token])


@pytest.fixture
def gesprek(utrecht):
    return GesprekFactory(buurt=utrecht.buurten[0], max_participants=1, place="Buurthuis")


@pytest.fixture
def fatima(gesprek):
    return AanmeldingFactory(
        gesprek=gesprek,
        name="Fatima de Vries",
        email="fatima@example.org",
        phone="0612345678",
        postcode="3511AB",
    )


def test_the_manage_page_links_to_download_and_delete(client, fatima):
    page = Elements(client.get(url("manage", fatima)).content.decode())
    assert page.find("a", href=url("export", fatima))
    assert page.find("a", href=url("erase", fatima))


def test_the_download_holds_the_registration_the_gesprek_and_the_mails(client, fatima):
    Bericht.objects.create(
        key=f"bevestigd:{fatima.pk}", kind="bevestigd", to=fatima.email, aanmelding=fatima
    )
    response = client.get(url("export", fatima))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["registration"]["name"] == "Fatima de Vries"
    assert data["registration"]["email"] == "fatima@example.org"
    assert data["registration"]["phone"] == "0612345678"
    assert data["registration"]["postcode"] == "3511AB"
    assert data["conversation"]["buurt"] == fatima.gesprek.buurt.name
    assert [mail["kind"] for mail in data["emails"]] == ["bevestigd"]
    # The secret link itself is not data about the person, and must not leak in a file.
    assert fatima.token not in response.content.decode()


def test_the_download_holds_incidents_recorded_about_them_and_no_one_elses(client, fatima):
    other = AanmeldingFactory(gesprek=fatima.gesprek)
    Incident.objects.create(
        gesprek=fatima.gesprek, aanmelding=fatima, category="niet_verschenen", text="Twee keer weg."
    )
    Incident.objects.create(
        gesprek=fatima.gesprek, aanmelding=other, category="verstoring", text="Over iemand anders."
    )

    data = json.loads(client.get(url("export", fatima)).content)

    assert [(i["category"], i["text"]) for i in data["incidents"]] == [
        ("niet_verschenen", "Twee keer weg.")
    ]


def test_the_download_needs_the_right_token(client, fatima):
    wrong = reverse("gesprekken:export", args=[fatima.pk, "x" * 43])
    assert client.get(wrong).status_code == 404


def test_the_erase_link_asks_first_and_changes_nothing_on_get(client, fatima):
    response = client.get(url("erase", fatima))
    assert response.status_code == 200
    page = Elements(response.content.decode())
    assert page.find("form", method="post")
    fatima.refresh_from_db()
    assert fatima.name == "Fatima de Vries"


def test_erasing_anonymises_cancels_and_gives_the_seat_to_the_next(client, gesprek, fatima):
    waiting = AanmeldingFactory(gesprek=gesprek, status=Status.WACHTLIJST)
    manage = url("manage", fatima)

    response = client.post(url("erase", fatima))

    assert response.status_code == 302
    assert response["Location"] == reverse("gesprekken:erased")
    fatima.refresh_from_db()
    assert fatima.status == Status.GEANNULEERD
    assert fatima.name == "" and fatima.phone == "" and fatima.postcode == ""
    assert fatima.email == f"verwijderd-{fatima.pk}@invalid"
    # The old link is dead: the token was replaced.
    assert client.get(manage).status_code == 404
    waiting.refresh_from_db()
    assert waiting.status == Status.AANGEBODEN
    assert client.get(response["Location"]).status_code == 200


def test_mails_still_waiting_for_an_erased_registration_are_not_sent(fatima):
    pending = Bericht.objects.create(
        key=f"herinnering:{fatima.pk}", kind="herinnering", to=fatima.email, aanmelding=fatima
    )
    services.erase_registration(aanmelding=fatima)
    pending.refresh_from_db()
    assert pending.status == Bericht.Status.FAILED
    assert pending.to == f"verwijderd-{fatima.pk}@invalid"


def test_erasing_after_the_gesprek_keeps_the_attendance(utrecht):
    ended = timezone.now() - timedelta(days=2)
    gesprek = GesprekFactory(
        buurt=utrecht.buurten[0],
        starts_at=ended - timedelta(hours=2),
        ends_at=ended,
        status=Gesprek.Status.GEHOUDEN,
    )
    came = AanmeldingFactory(gesprek=gesprek, status=Status.AANWEZIG, name="Kwam Wel")
    services.erase_registration(aanmelding=came)
    came.refresh_from_db()
    assert came.status == Status.AANWEZIG
    assert came.name == ""


def test_erasing_twice_is_harmless(fatima):
    services.erase_registration(aanmelding=fatima)
    token = fatima.token
    services.erase_registration(aanmelding=fatima)
    fatima.refresh_from_db()
    assert fatima.token == token


def test_erasing_needs_a_post_with_a_csrf_token(fatima):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url("erase", fatima)).status_code == 403
    fatima.refresh_from_db()
    assert fatima.name == "Fatima de Vries"


def test_a_lost_link_is_mailed_again_so_erasure_works_by_e_mail_too(client, fatima):
    client.post(reverse("gesprekken:resend"), {"email": "fatima@example.org"})
    assert Bericht.objects.filter(kind="beheerlink", aanmelding=fatima).exists()
