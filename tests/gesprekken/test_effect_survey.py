"""The anonymous effect survey: keys, the before and after pages, the purge, the mails.

A registration's survey links carry a key derived from it; the database keeps only the
SHA-256 of that key, on a row with the gesprek and the answers. The key is destroyed
when the after-survey is answered (or by the retention purge).
"""

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from django.conf import settings
from django.urls import reverse

from gesprekken import effect, emails
from gesprekken.models import Aanmelding, Bericht, Effectmeting, Gesprek
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, ThemaFactory
from tests.gesprekken.pages import Elements

pytestmark = pytest.mark.django_db

S = Aanmelding.Status
# Saturday 5 December 2026, 19:30–21:30 in Amsterdam.
STARTS_AT = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)
ENDS_AT = STARTS_AT + timedelta(hours=2)
BEFORE_THE_START = STARTS_AT - timedelta(days=3)
ANSWERS_BEFORE = {"thermometer": "35", "trust": "2"}
ANSWERS_AFTER = {"thermometer": "60", "trust": "4", "argument": "5"}
THERMOMETER_MESSAGE = "Enter a whole number from 0 to 100."
SCALE_MESSAGE = "Choose one of the five answers."
USED = "This link has already been used, or there was no first questionnaire."


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(BEFORE_THE_START, tick=False)
    return time_machine


@pytest.fixture
def gesprek(clock):
    return GesprekFactory(
        starts_at=STARTS_AT, ends_at=ENDS_AT, thema=ThemaFactory(name="Wonen en zorg")
    )


@pytest.fixture
def aanmelding(gesprek):
    return AanmeldingFactory(gesprek=gesprek, status=S.BEVESTIGD)


def before_url(aanmelding, key=None):
    return reverse(
        "gesprekken:effect_before",
        args=[aanmelding.gesprek_id, key or effect.pairing_key(aanmelding)],
    )


def after_url(aanmelding, key=None):
    return reverse(
        "gesprekken:effect_after",
        args=[aanmelding.gesprek_id, key or effect.pairing_key(aanmelding)],
    )


def answered_before(client, aanmelding):
    response = client.post(before_url(aanmelding), ANSWERS_BEFORE)
    assert response.status_code == 200
    assert "Your answers are saved." in response.content.decode()


# --- The model and the key ------------------------------------------------------------------


def test_the_effectmeting_row_has_nothing_that_points_at_a_person():
    fields = {field.name: field for field in Effectmeting._meta.get_fields()}

    assert set(fields) == {
        "id",
        "gesprek",
        "pairing_digest",
        "before_thermometer",
        "before_trust",
        "after_thermometer",
        "after_trust",
        "after_argument",
    }
    relations = [field for field in fields.values() if field.is_relation]
    assert [(field.name, field.related_model) for field in relations] == [("gesprek", Gesprek)]
    # No time either: a timestamp could be matched with a confirmation time.
    assert not any(field.get_internal_type() == "DateTimeField" for field in fields.values())


def test_the_key_is_derived_from_the_registration_and_stored_nowhere(client, aanmelding):
    key = effect.pairing_key(aanmelding)
    other = AanmeldingFactory(gesprek=aanmelding.gesprek)

    assert len(key) == effect.KEY_LENGTH
    assert key == effect.pairing_key(Aanmelding.objects.get(pk=aanmelding.pk))
    assert key != effect.pairing_key(other)
    answered_before(client, aanmelding)

    row = Effectmeting.objects.get()
    assert row.pairing_digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(list(Aanmelding.objects.values()))
    assert key not in str(list(Effectmeting.objects.values()))
    assert key not in str(list(Bericht.objects.values()))


def test_the_key_does_not_depend_on_the_time_zone_it_was_read_in(aanmelding):
    from zoneinfo import ZoneInfo

    moved = Aanmelding(pk=aanmelding.pk, created_at=aanmelding.created_at)
    moved.created_at = aanmelding.created_at.astimezone(ZoneInfo("Europe/Amsterdam"))

    assert effect.pairing_key(moved) == effect.pairing_key(aanmelding)


# --- Before ---------------------------------------------------------------------------------


def test_the_before_survey_asks_two_questions_without_javascript_or_personal_data(
    client, aanmelding
):
    response = client.get(before_url(aanmelding))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Two questions before the conversation" in page
    assert "Wonen en zorg" in page
    assert 'type="number"' in page and 'min="0"' in page and 'max="100"' in page
    assert "very cold" in page and "very warm" in page
    assert page.count('type="radio"') == 5
    assert "Completely" in page
    # Nothing about the person is asked, and no argument question before.
    for field in ("name", "email", "postcode", "phone", "argument"):
        assert f'name="{field}"' not in page
    assert "<script>" not in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_before_answers_are_stored_with_the_digest_only(client, aanmelding):
    answered_before(client, aanmelding)

    row = Effectmeting.objects.get()
    assert row.gesprek == aanmelding.gesprek
    assert (row.before_thermometer, row.before_trust) == (35, 2)
    assert row.after_thermometer is row.after_trust is row.after_argument is None
    assert row.pairing_digest == effect.digest_of(effect.pairing_key(aanmelding))


def test_answering_before_twice_changes_nothing(client, aanmelding):
    answered_before(client, aanmelding)

    again = client.post(before_url(aanmelding), {"thermometer": "90", "trust": "5"})
    page = client.get(before_url(aanmelding))

    for response in (again, page):
        assert response.status_code == 200
        assert "You have already answered" in response.content.decode()
        assert "Nothing has been changed." in response.content.decode()
    row = Effectmeting.objects.get()
    assert (row.before_thermometer, row.before_trust) == (35, 2)


def test_a_second_submit_at_the_same_moment_stores_one_row(aanmelding):
    key = effect.pairing_key(aanmelding)

    first = effect.record_before(aanmelding.gesprek, key, thermometer=10, trust=1)
    second = effect.record_before(aanmelding.gesprek, key, thermometer=99, trust=5)

    assert (first, second) == (True, False)
    assert list(Effectmeting.objects.values_list("before_thermometer", flat=True)) == [10]


def test_the_before_survey_closes_when_the_gesprek_starts(client, clock, aanmelding):
    clock.move_to(STARTS_AT - timedelta(seconds=1), tick=False)
    assert client.get(before_url(aanmelding)).status_code == 200

    clock.move_to(STARTS_AT, tick=False)
    shown = client.get(before_url(aanmelding))
    posted = client.post(before_url(aanmelding), ANSWERS_BEFORE)

    for response in (shown, posted):
        assert response.status_code == 410
        assert "This questionnaire is closed" in response.content.decode()
    assert not Effectmeting.objects.exists()


def test_the_before_survey_of_a_cancelled_gesprek_is_closed(client, aanmelding):
    Gesprek.objects.filter(pk=aanmelding.gesprek_id).update(status=Gesprek.Status.AFGELAST)

    response = client.post(before_url(aanmelding), ANSWERS_BEFORE)

    assert response.status_code == 410
    assert not Effectmeting.objects.exists()


# --- After ----------------------------------------------------------------------------------


def test_after_the_after_survey_the_key_is_gone_and_the_link_does_nothing(
    client, clock, aanmelding
):
    answered_before(client, aanmelding)
    clock.move_to(ENDS_AT + timedelta(days=1), tick=False)

    form = client.get(after_url(aanmelding))
    assert form.status_code == 200
    assert "Three questions after the conversation" in form.content.decode()
    assert form.content.decode().count('type="radio"') == 10
    response = client.post(after_url(aanmelding), ANSWERS_AFTER)

    assert response.status_code == 200
    assert "The link no longer works" in response.content.decode()
    row = Effectmeting.objects.get()
    assert row.pairing_digest is None
    assert (row.before_thermometer, row.before_trust) == (35, 2)
    assert (row.after_thermometer, row.after_trust, row.after_argument) == (60, 4, 5)
    # Again: a plain thank-you, nothing stored or changed.
    again_get = client.get(after_url(aanmelding))
    again_post = client.post(after_url(aanmelding), {**ANSWERS_AFTER, "thermometer": "0"})
    for again in (again_get, again_post):
        assert again.status_code == 200
        assert USED in again.content.decode()
        assert 'type="radio"' not in again.content.decode()
    assert Effectmeting.objects.get().after_thermometer == 60
    # Nor can the before-survey be answered anew once the key is gone: it has closed.
    assert client.post(before_url(aanmelding), ANSWERS_BEFORE).status_code == 410
    assert Effectmeting.objects.count() == 1


def test_the_after_survey_without_a_before_answer_stores_nothing(client, clock, aanmelding):
    clock.move_to(ENDS_AT + timedelta(hours=3), tick=False)

    shown = client.get(after_url(aanmelding))
    posted = client.post(after_url(aanmelding), ANSWERS_AFTER)

    for response in (shown, posted):
        assert response.status_code == 200
        assert USED in response.content.decode()
    assert not Effectmeting.objects.exists()


def test_one_registrations_answers_are_not_completed_by_another(client, clock, aanmelding):
    neighbour = AanmeldingFactory(gesprek=aanmelding.gesprek, status=S.AANWEZIG)
    answered_before(client, aanmelding)
    clock.move_to(ENDS_AT + timedelta(hours=3), tick=False)

    response = client.post(after_url(neighbour), ANSWERS_AFTER)

    assert USED in response.content.decode()
    row = Effectmeting.objects.get()
    assert row.after_thermometer is None
    assert row.pairing_digest == effect.digest_of(effect.pairing_key(aanmelding))


def test_the_after_survey_opens_at_the_end_and_closes_two_weeks_later(client, clock, aanmelding):
    answered_before(client, aanmelding)

    clock.move_to(ENDS_AT - timedelta(seconds=1), tick=False)
    early = client.post(after_url(aanmelding), ANSWERS_AFTER)
    assert early.status_code == 200
    assert "This questionnaire opens when the conversation has ended." in early.content.decode()
    assert Effectmeting.objects.get().after_thermometer is None

    clock.move_to(ENDS_AT, tick=False)
    assert 'name="argument"' in client.get(after_url(aanmelding)).content.decode()

    clock.move_to(ENDS_AT + timedelta(days=effect.AFTER_SURVEY_DAYS), tick=False)
    late = client.post(after_url(aanmelding), ANSWERS_AFTER)
    assert late.status_code == 410
    assert "This questionnaire is closed" in late.content.decode()
    row = Effectmeting.objects.get()
    assert row.after_thermometer is None
    assert row.pairing_digest is not None

    clock.move_to(ENDS_AT + timedelta(days=effect.AFTER_SURVEY_DAYS, seconds=-1), tick=False)
    assert client.post(after_url(aanmelding), ANSWERS_AFTER).status_code == 200
    assert Effectmeting.objects.get().after_thermometer == 60


# --- Keys that do not fit -------------------------------------------------------------------


def test_a_forged_key_or_another_gespreks_key_gives_404(client, clock, aanmelding):
    elsewhere = AanmeldingFactory(gesprek=GesprekFactory(starts_at=STARTS_AT, ends_at=ENDS_AT))
    cancelled = AanmeldingFactory(gesprek=aanmelding.gesprek, status=S.GEANNULEERD)
    waiting = AanmeldingFactory(gesprek=aanmelding.gesprek, status=S.WACHTLIJST)
    real = effect.pairing_key(aanmelding)
    gesprek_id = aanmelding.gesprek_id
    forged = ("A" if real[0] != "A" else "B") + real[1:]
    keys = [
        forged,
        effect.pairing_key(elsewhere),  # valid, but for another gesprek
        effect.pairing_key(cancelled),
        effect.pairing_key(waiting),
        real[:-1],
        real + "A",
        "x" * 500,
        "é" * 43,
        "%00" * 15,
        "<script>alert(1)</script>",
    ]
    for key in keys:
        for part in ("voor", "na"):
            url = f"/peiling/{gesprek_id}/{quote(key, safe='')}/{part}/"
            assert client.get(url).status_code == 404, key
            assert client.post(url, ANSWERS_AFTER).status_code == 404, key
    for pk in (gesprek_id + 1000, 10**30):
        url = f"/peiling/{pk}/{real}/voor/"
        assert client.get(url).status_code == 404
    assert not Effectmeting.objects.exists()


# --- Input that does not fit ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, THERMOMETER_MESSAGE),
        ({"thermometer": "", "trust": "3"}, THERMOMETER_MESSAGE),
        ({"thermometer": "-1", "trust": "3"}, THERMOMETER_MESSAGE),
        ({"thermometer": "101", "trust": "3"}, THERMOMETER_MESSAGE),
        ({"thermometer": "fifty", "trust": "3"}, THERMOMETER_MESSAGE),
        ({"thermometer": "50.5", "trust": "3"}, THERMOMETER_MESSAGE),
        ({"thermometer": "9" * 5000, "trust": "3"}, THERMOMETER_MESSAGE),
        ({"thermometer": "0" * 40 + "50", "trust": "3"}, THERMOMETER_MESSAGE),
        ({"thermometer": "<script>alert(1)</script>", "trust": "3"}, THERMOMETER_MESSAGE),
        ({"thermometer": "50\x00", "trust": "3"}, THERMOMETER_MESSAGE),
        ({"thermometer": "50"}, SCALE_MESSAGE),
        ({"thermometer": "50", "trust": "0"}, SCALE_MESSAGE),
        ({"thermometer": "50", "trust": "6"}, SCALE_MESSAGE),
        ({"thermometer": "50", "trust": "very"}, SCALE_MESSAGE),
        ({"thermometer": "50", "trust": "3" * 1000}, SCALE_MESSAGE),
        ({"thermometer": "50", "trust": "' OR 1=1 --"}, SCALE_MESSAGE),
    ],
)
def test_invalid_before_answers_give_400_and_store_nothing(client, aanmelding, data, message):
    response = client.post(before_url(aanmelding), data)

    assert response.status_code == 400
    page = response.content.decode()
    assert "Please check the following" in page
    assert message in page
    assert "<script>alert(1)</script>" not in page
    assert not Effectmeting.objects.exists()


def test_each_error_stands_with_its_question(client, aanmelding):
    response = client.post(before_url(aanmelding), {"thermometer": "fifty"})
    elements = Elements(response.content.decode())

    (thermometer,) = elements.find("input", name="thermometer")
    assert thermometer["aria-describedby"] == "id_thermometer_helptext id_thermometer_error"
    assert elements.find("div", id="id_thermometer_error")
    (trust,) = elements.find("fieldset", id="id_trust")
    assert trust["aria-describedby"] == "id_trust_error"
    assert elements.find("div", id="id_trust_error")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"thermometer": "60", "trust": "4"}, SCALE_MESSAGE),
        ({"thermometer": "60", "trust": "4", "argument": ""}, SCALE_MESSAGE),
        ({"thermometer": "60", "trust": "4", "argument": "9"}, SCALE_MESSAGE),
        ({"thermometer": "1e2", "trust": "4", "argument": "3"}, THERMOMETER_MESSAGE),
        ({"thermometer": "60", "trust": "", "argument": "3"}, SCALE_MESSAGE),
    ],
)
def test_invalid_after_answers_give_400_and_keep_the_key(client, clock, aanmelding, data, message):
    answered_before(client, aanmelding)
    clock.move_to(ENDS_AT + timedelta(hours=3), tick=False)

    response = client.post(after_url(aanmelding), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    row = Effectmeting.objects.get()
    assert row.after_thermometer is row.after_trust is row.after_argument is None
    assert row.pairing_digest is not None


def test_other_methods_are_not_allowed(client, aanmelding):
    assert client.put(before_url(aanmelding)).status_code == 405
    assert client.delete(after_url(aanmelding)).status_code == 405


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_page_follows_the_chosen_language(client, aanmelding, language):
    response = client.get(before_url(aanmelding), headers={"accept-language": language})

    assert f'<html lang="{language}">' in response.content.decode()


# --- The purge ------------------------------------------------------------------------------


def test_the_purge_destroys_the_keys_of_gesprekken_past_the_retention(clock):
    now = BEFORE_THE_START
    days = settings.GESPREKKEN_RETENTION_DAYS

    def row_of(ended_ago):
        gesprek = GesprekFactory(
            starts_at=now - ended_ago - timedelta(hours=2), ends_at=now - ended_ago
        )
        return Effectmeting.objects.create(
            gesprek=gesprek,
            pairing_digest=hashlib.sha256(str(ended_ago).encode()).hexdigest(),
            before_thermometer=50,
            before_trust=3,
        )

    old = row_of(timedelta(days=days, minutes=1))
    exactly = row_of(timedelta(days=days))
    recent = row_of(timedelta(days=days, minutes=-1))
    paired = Effectmeting.objects.create(gesprek=old.gesprek, before_trust=3, after_trust=4)

    assert effect.purge(now) == 2
    assert effect.purge(now) == 0

    digests = dict(Effectmeting.objects.values_list("pk", "pairing_digest"))
    assert digests[old.pk] is None
    assert digests[exactly.pk] is None
    assert digests[recent.pk] == recent.pairing_digest
    assert digests[paired.pk] is None
    # The answers stay: they are anonymous.
    assert Effectmeting.objects.get(pk=old.pk).before_thermometer == 50


# --- The mails ------------------------------------------------------------------------------


def bericht(kind, aanmelding):
    return Bericht.objects.create(
        key=f"{kind}:{aanmelding.pk}",
        kind=kind,
        to=aanmelding.email,
        language=aanmelding.language,
        aanmelding=aanmelding,
        gesprek=aanmelding.gesprek,
    )


def bodies(message):
    return message.body, message.alternatives[0][0]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_confirmation_mail_has_the_before_link(aanmelding, language):
    Aanmelding.objects.filter(pk=aanmelding.pk).update(language=language)
    aanmelding.refresh_from_db()

    message = emails.render(bericht("bevestigd", aanmelding))

    link = settings.SITE_URL + before_url(aanmelding)
    for body in bodies(message):
        assert link in body
        assert after_url(aanmelding) not in body


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_thank_you_mail_has_the_after_link(clock, aanmelding, language):
    Aanmelding.objects.filter(pk=aanmelding.pk).update(language=language, status=S.AANWEZIG)
    aanmelding.refresh_from_db()
    clock.move_to(ENDS_AT + timedelta(hours=12), tick=False)

    message = emails.render(bericht("bedankt", aanmelding))

    link = settings.SITE_URL + after_url(aanmelding)
    for body in bodies(message):
        assert link in body
        assert before_url(aanmelding) not in body


def test_no_survey_link_once_the_survey_has_closed(clock, aanmelding):
    clock.move_to(STARTS_AT + timedelta(minutes=5), tick=False)
    confirmed = emails.render(bericht("bevestigd", aanmelding))
    clock.move_to(ENDS_AT + timedelta(days=effect.AFTER_SURVEY_DAYS), tick=False)
    thanks = emails.render(bericht("bedankt", aanmelding))

    for message in (confirmed, thanks):
        for body in bodies(message):
            assert "/peiling/" not in body


def test_forget_destroys_one_registrations_key_only(client, aanmelding):
    neighbour = AanmeldingFactory(gesprek=aanmelding.gesprek)
    answered_before(client, aanmelding)
    answered_before(client, neighbour)

    assert effect.forget(aanmelding) == 1
    assert effect.forget(aanmelding) == 0

    digests = set(Effectmeting.objects.values_list("pairing_digest", flat=True))
    assert digests == {None, effect.digest_of(effect.pairing_key(neighbour))}
