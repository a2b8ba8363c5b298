"""Check-in on the day: by name or by the resident's code, on a phone, JavaScript off."""

import io
from datetime import timedelta

import pytest
import zxingcpp
from django.conf import settings
from django.urls import reverse
from PIL import Image

from gesprekken import emails, services
from gesprekken.models import Aanmelding, Bericht, Gesprek
from tests.gesprekken.factories import AanmeldingFactory

from .running_helpers import BEFORE, ON_THE_DAY, STARTS_AT, gesprek_led_by

S = Aanmelding.Status


@pytest.fixture(autouse=True)
def _on_the_day(time_machine):
    time_machine.move_to(ON_THE_DAY, tick=False)


@pytest.fixture(autouse=True)
def _english(client):
    # The pages in English, so the sentences asserted here do not depend on the catalogue.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def gesprek(cast):
    return gesprek_led_by(cast.facilitator, cast.buurt_a, co_facilitator=cast.co_facilitator)


@pytest.fixture
def anna(gesprek):
    return AanmeldingFactory(gesprek=gesprek, name="Anna de Vries", short_code="K7M2QX")


def check_in_url(gesprek):
    return reverse("uitvoering:check_in", args=[gesprek.pk])


def mark_url(aanmelding):
    return reverse("uitvoering:mark", args=[aanmelding.gesprek_id, aanmelding.pk])


def status_of(aanmelding) -> str:
    aanmelding.refresh_from_db()
    return aanmelding.status


# --- by name -------------------------------------------------------------------------------


def test_the_list_shows_everyone_expected_by_name_with_a_post_button_each(cast, client, gesprek):
    AanmeldingFactory(gesprek=gesprek, name="Bram Jansen")
    AanmeldingFactory(gesprek=gesprek, name="Wachtende Wim", status=S.WACHTLIJST)
    AanmeldingFactory(gesprek=gesprek, name="Afgemelde Ans", status=S.GEANNULEERD)
    anna = AanmeldingFactory(gesprek=gesprek, name="Anna de Vries")
    cast.login(client, cast.facilitator)

    response = client.get(check_in_url(gesprek))

    assert response.status_code == 200
    names = [a.name for a in response.context["people"]]
    assert names == ["Anna de Vries", "Bram Jansen", "Wachtende Wim"]
    page = response.text
    # Works without JavaScript: each button is a form that posts.
    assert f'<form method="post" action="{mark_url(anna)}">' in page
    assert 'name="present" value="1"' in page and 'name="present" value="0"' in page
    assert "<script" not in page
    # The day's list needs names, not contact details.
    assert anna.email not in page


def test_present_marks_the_resident_present_and_returns_to_their_place(cast, client, anna):
    cast.login(client, cast.facilitator)

    response = client.post(mark_url(anna), {"present": "1"})

    assert response.status_code == 302
    assert response.url == f"{check_in_url(anna.gesprek)}#aanmelding-{anna.pk}"
    anna.refresh_from_db()
    assert anna.status == S.AANWEZIG
    assert anna.checked_in_at == ON_THE_DAY
    page = client.get(response.url).text
    assert "Anna de Vries is checked in." in page


def test_not_here_marks_a_no_show_and_a_second_tap_corrects_it(cast, client, anna):
    cast.login(client, cast.co_facilitator)

    client.post(mark_url(anna), {"present": "0"})
    assert status_of(anna) == S.NIET_VERSCHENEN

    client.post(mark_url(anna), {"present": "1"})
    assert status_of(anna) == S.AANWEZIG


def test_the_name_filter_narrows_the_list_and_is_kept_after_marking(cast, client, gesprek, anna):
    AanmeldingFactory(gesprek=gesprek, name="Bram Jansen", status=S.AANWEZIG)
    cast.login(client, cast.facilitator)

    listed = client.get(check_in_url(gesprek), {"q": "ann"})
    marked = client.post(mark_url(anna), {"present": "1", "q": "ann"})

    assert [a.name for a in listed.context["people"]] == ["Anna de Vries"]
    # The head count is of everyone, not of the names shown.
    assert listed.context["present"] == 1
    assert marked.url == f"{check_in_url(gesprek)}?q=ann#aanmelding-{anna.pk}"


def test_someone_on_the_waiting_list_who_turns_up_can_be_checked_in(cast, gesprek):
    waiting = AanmeldingFactory(gesprek=gesprek, status=S.WACHTLIJST, confirmed_at=None)

    services.check_in(aanmelding=waiting, present=True, by_user=cast.facilitator)

    assert status_of(waiting) == S.AANWEZIG


def test_a_cancelled_registration_cannot_be_checked_in(cast, client, gesprek):
    gone = AanmeldingFactory(gesprek=gesprek, status=S.GEANNULEERD)
    cast.login(client, cast.facilitator)

    with pytest.raises(services.RegistrationCancelled):
        services.check_in(aanmelding=gone, present=True, by_user=cast.facilitator)
    response = client.post(mark_url(gone), {"present": "1"}, follow=True)

    assert "This sign-up was cancelled or has expired." in response.text
    assert status_of(gone) == S.GEANNULEERD


def test_check_in_opens_on_the_day_itself(cast, client, time_machine, anna):
    cast.login(client, cast.facilitator)
    time_machine.move_to(BEFORE, tick=False)

    page = client.get(check_in_url(anna.gesprek)).text
    response = client.post(mark_url(anna), {"present": "1"}, follow=True)

    assert "Check-in opens on the day of the conversation" in page
    assert "Check-in opens on the day of the conversation." in response.text
    assert status_of(anna) == S.BEVESTIGD
    # Midnight in Amsterdam is 22:00 UTC the evening before (summer time).
    time_machine.move_to(STARTS_AT.replace(hour=22, day=10), tick=False)
    services.check_in(aanmelding=anna, present=True, by_user=cast.facilitator)
    assert status_of(anna) == S.AANWEZIG


def test_a_called_off_gesprek_has_no_check_in(cast, gesprek, anna):
    Gesprek.objects.filter(pk=gesprek.pk).update(status=Gesprek.Status.AFGELAST)

    with pytest.raises(services.CheckInClosed):
        services.check_in(aanmelding=anna, present=True, by_user=cast.facilitator)


# --- by code -------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["K7M2QX", "k7m2qx", " k7m 2qx ", "K7M-2QX"])
def test_check_in_by_code_ignores_case_spaces_and_dashes(cast, client, anna, typed):
    cast.login(client, cast.facilitator)

    response = client.post(check_in_url(anna.gesprek), {"code": typed})

    assert response.status_code == 302
    assert response.url.endswith(f"#aanmelding-{anna.pk}")
    assert status_of(anna) == S.AANWEZIG


def test_an_empty_code_asks_for_one(cast, client, anna):
    cast.login(client, cast.facilitator)

    response = client.post(check_in_url(anna.gesprek), {})

    assert response.status_code == 200
    assert response.context["form"].errors["code"]


def test_a_wrong_code_says_so_and_changes_nothing(cast, client, anna):
    cast.login(client, cast.facilitator)

    response = client.post(check_in_url(anna.gesprek), {"code": "ZZZZZZ"})

    assert response.status_code == 200
    assert "No sign-up for this conversation has this code." in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'id="error-summary"' in response.text
    assert status_of(anna) == S.BEVESTIGD


def test_a_code_from_another_gesprek_does_not_work_here(cast, gesprek, anna):
    other = gesprek_led_by(cast.facilitator, cast.buurt_a)
    elsewhere = AanmeldingFactory(gesprek=other, short_code="H4R9TW")

    with pytest.raises(services.UnknownCode):
        services.check_in_by_code(gesprek=gesprek, code="H4R9TW", by_user=cast.facilitator)
    assert status_of(elsewhere) == S.BEVESTIGD


def test_a_facilitator_who_does_not_lead_the_gesprek_learns_nothing_from_a_code(cast, anna):
    with pytest.raises(services.UnknownCode):
        services.check_in_by_code(
            gesprek=anna.gesprek, code=anna.short_code, by_user=cast.outsider_facilitator
        )
    with pytest.raises(services.NotYourGesprek):
        services.check_in(aanmelding=anna, present=True, by_user=cast.outsider_facilitator)
    assert status_of(anna) == S.BEVESTIGD


# --- access --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who", ["outsider_facilitator", "coordinator", "national", "outsider_coordinator"]
)
def test_someone_elses_gesprek_is_a_404(cast, client, anna, who):
    cast.login(client, getattr(cast, who))

    assert client.get(check_in_url(anna.gesprek)).status_code == 404
    assert client.post(check_in_url(anna.gesprek), {"code": anna.short_code}).status_code == 404
    assert client.post(mark_url(anna), {"present": "1"}).status_code == 404
    assert status_of(anna) == S.BEVESTIGD


def test_a_registration_of_another_gesprek_is_a_404_under_this_one(cast, client, gesprek):
    other = AanmeldingFactory(gesprek=gesprek_led_by(cast.outsider_facilitator, cast.buurt_b))
    cast.login(client, cast.facilitator)

    url = reverse("uitvoering:mark", args=[gesprek.pk, other.pk])

    assert client.post(url, {"present": "1"}).status_code == 404
    assert status_of(other) == S.BEVESTIGD


# --- query count ---------------------------------------------------------------------------


@pytest.mark.parametrize("people", [1, 30])
def test_the_check_in_page_runs_the_same_queries_for_few_and_many(
    cast, client, gesprek, django_assert_num_queries, people
):
    AanmeldingFactory.create_batch(people, gesprek=gesprek)
    AanmeldingFactory(gesprek=gesprek, status=S.AANWEZIG)
    cast.login(client, cast.facilitator)

    # 1 session, 2 user, 3 staff roles (facilitator_required),
    # 4 the gesprek with its buurt (led_by), 5 the people on the list.
    with django_assert_num_queries(5):
        response = client.get(check_in_url(gesprek))

    assert len(response.context["people"]) == people + 1
    assert response.context["present"] == 1


# --- the QR code in the confirmation mail --------------------------------------------------


def test_the_confirmation_mail_has_a_qr_code_that_decodes_to_the_check_in_code(anna):
    bericht = Bericht.objects.create(
        key="bevestigd:x", kind="bevestigd", to=anna.email, aanmelding=anna, gesprek=anna.gesprek
    )

    message = emails.render(bericht).message()

    [image] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_payload(decode=True))))
    assert [barcode.text for barcode in decoded] == ["K7M2QX"]
    content_id = image["Content-ID"].strip("<>")
    [html] = [part for part in message.walk() if part.get_content_type() == "text/html"]
    assert f'src="cid:{content_id}"' in html.get_payload(decode=True).decode()
    [text] = [part for part in message.walk() if part.get_content_type() == "text/plain"]
    assert "K7M2QX" in text.get_payload(decode=True).decode()
    # The calendar file is still there, first among the attachments as before.
    assert emails.render(bericht).attachments[0].get_content_type() == "text/calendar"


def test_an_online_gesprek_needs_no_check_in_code_in_its_confirmation(cast):
    online = gesprek_led_by(
        cast.facilitator, cast.buurt_a, format="online", video_url="https://meet.example.org/x"
    )
    aanmelding = AanmeldingFactory(gesprek=online)
    bericht = Bericht.objects.create(
        key="bevestigd:y", kind="bevestigd", to=aanmelding.email, aanmelding=aanmelding
    )

    message = emails.render(bericht).message()

    assert not [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert aanmelding.short_code not in emails.render(bericht).body


def test_checked_in_at_is_recorded_when_present_and_cleared_for_a_no_show(cast, anna):
    services.check_in(aanmelding=anna, present=True, by_user=cast.facilitator)
    assert anna.checked_in_at == ON_THE_DAY

    services.mark_no_show(
        aanmelding=anna, by_user=cast.facilitator, now=ON_THE_DAY + timedelta(minutes=5)
    )
    anna.refresh_from_db()
    assert (anna.status, anna.checked_in_at) == (S.NIET_VERSCHENEN, None)
