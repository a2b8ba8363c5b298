"""The report after a gesprek: prefilled attendance, no personal data, reminders once each."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from facilitators.models import Facilitator
from gesprekken import services, tasks
from gesprekken.models import Aanmelding, Bericht, Gesprek, Verslag
from tests.gesprekken.factories import AanmeldingFactory, ThemaFactory

from .running_helpers import AFTER, BEFORE, ENDS_AT, gesprek_led_by, run_task

S = Aanmelding.Status


@pytest.fixture(autouse=True)
def _after(time_machine):
    time_machine.move_to(AFTER, tick=False)


@pytest.fixture(autouse=True)
def _english(client):
    # The pages in English, so the sentences asserted here do not depend on the catalogue.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def gesprek(cast):
    return gesprek_led_by(cast.facilitator, cast.buurt_a, co_facilitator=cast.co_facilitator)


def report_url(gesprek):
    return reverse("uitvoering:report", args=[gesprek.pk])


def report_data(**overrides):
    data = {
        "attendance": "7",
        "themes_text": "Parkeren, de speeltuin",
        "outcome": "Een gezamenlijke opruimdag in het voorjaar.",
        "follow_up": "De gemeente vragen om een extra prullenbak.",
    }
    data.update(overrides)
    return data


# --- the form ------------------------------------------------------------------------------


def test_the_report_form_is_prefilled_with_the_check_in_count(cast, client, gesprek):
    AanmeldingFactory.create_batch(3, gesprek=gesprek, status=S.AANWEZIG)
    AanmeldingFactory(gesprek=gesprek, status=S.NIET_VERSCHENEN)
    AanmeldingFactory(gesprek=gesprek, status=S.BEVESTIGD)
    cast.login(client, cast.facilitator)

    response = client.get(report_url(gesprek))

    assert response.status_code == 200
    form = response.context["form"]
    assert form["attendance"].value() == 3
    assert form["themes"].value() == [gesprek.thema.pk]
    assert 'name="attendance" value="3"' in response.text


def test_saving_the_report_marks_the_gesprek_held(cast, client, gesprek):
    extra = ThemaFactory(name="Veiligheid")
    cast.login(client, cast.co_facilitator)

    response = client.post(report_url(gesprek), report_data(themes=[gesprek.thema.pk, extra.pk]))

    assert response.status_code == 302
    assert response.url == reverse("werkruimte:gesprek", args=[gesprek.pk])
    verslag = Verslag.objects.get(gesprek=gesprek)
    assert verslag.attendance == 7
    assert set(verslag.themes.all()) == {gesprek.thema, extra}
    assert verslag.outcome == "Een gezamenlijke opruimdag in het voorjaar."
    assert verslag.written_by == cast.co_facilitator
    gesprek.refresh_from_db()
    assert gesprek.status == Gesprek.Status.GEHOUDEN


def test_a_second_save_rewrites_the_same_report_prefilled_with_what_was_written(
    cast, client, gesprek
):
    cast.login(client, cast.facilitator)
    client.post(report_url(gesprek), report_data())

    form = client.get(report_url(gesprek)).context["form"]
    client.post(report_url(gesprek), report_data(attendance="9"))

    assert form["outcome"].value() == "Een gezamenlijke opruimdag in het voorjaar."
    assert form["attendance"].value() == 7
    assert Verslag.objects.get().attendance == 9


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("outcome", "Jan (jan.jansen@example.org) gaat het regelen."),
        ("follow_up", "Bel Fatima op 06-12345678."),
        ("themes_text", "Contact via +31 6 1234 5678"),
    ],
)
def test_an_email_address_or_phone_number_asks_for_a_check_before_saving(
    cast, client, gesprek, field, text
):
    cast.login(client, cast.facilitator)

    response = client.post(report_url(gesprek), report_data(**{field: text}))

    assert response.status_code == 200
    assert "Is there personal data in the report?" in response.text
    assert 'name="confirm_personal_data"' in response.text
    assert not Verslag.objects.exists()

    confirmed = client.post(
        report_url(gesprek), report_data(**{field: text}, confirm_personal_data="on")
    )

    assert confirmed.status_code == 302
    assert Verslag.objects.get().attendance == 7


def test_removing_the_personal_data_saves_without_the_check(cast, client, gesprek):
    cast.login(client, cast.facilitator)
    client.post(report_url(gesprek), report_data(outcome="Mail mij: a@b.nl"))

    response = client.post(report_url(gesprek), report_data(outcome="Een buurtapp."))

    assert response.status_code == 302
    assert Verslag.objects.get().outcome == "Een buurtapp."


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("mail naar buurt.huis@gemeente.nl graag", ["buurt.huis@gemeente.nl"]),
        ("bel 06-12345678 of (020) 123 45 67", ["06-12345678", "(020) 123 45 67"]),
        ("+31 (0)6 12345678", ["+31 (0)6 12345678"]),
        ("op 12-10-2026 om 19:30 met 12 mensen", []),
        ("postcode 3511 AB, huisnummer 12, sinds 1990-2020", []),
    ],
)
def test_personal_data_is_recognised_but_dates_and_postcodes_pass(text, found):
    assert services.find_personal_data(text) == found


def test_the_outcome_is_required_and_text_lengths_are_limited(cast, gesprek):
    with pytest.raises(ValidationError) as caught:
        services.save_report(
            gesprek=gesprek,
            by_user=cast.facilitator,
            attendance=-1,
            themes=[],
            themes_text="x" * 501,
            outcome=" ",
            follow_up="",
        )
    assert set(caught.value.message_dict) == {"attendance", "themes_text", "outcome"}


def test_no_report_before_the_gesprek_has_started(cast, client, gesprek, time_machine):
    time_machine.move_to(BEFORE, tick=False)
    cast.login(client, cast.facilitator)

    response = client.get(report_url(gesprek))
    posted = client.post(report_url(gesprek), report_data())

    assert "You can write the report once the conversation has started." in response.text
    assert posted.status_code == 200
    assert not Verslag.objects.exists()
    with pytest.raises(services.ReportClosed):
        services.save_report(
            gesprek=gesprek,
            by_user=cast.facilitator,
            attendance=1,
            themes=[],
            themes_text="",
            outcome="Iets",
            follow_up="",
        )


def test_a_called_off_gesprek_has_no_report(cast, gesprek):
    Gesprek.objects.filter(pk=gesprek.pk).update(status=Gesprek.Status.AFGELAST)

    with pytest.raises(services.ReportClosed):
        services.save_report(
            gesprek=gesprek,
            by_user=cast.facilitator,
            attendance=1,
            themes=[],
            themes_text="",
            outcome="Iets",
            follow_up="",
        )


@pytest.mark.parametrize("who", ["outsider_facilitator", "coordinator", "national"])
def test_someone_elses_report_is_a_404(cast, client, gesprek, who):
    cast.login(client, getattr(cast, who))

    assert client.get(report_url(gesprek)).status_code == 404
    assert client.post(report_url(gesprek), report_data()).status_code == 404
    with pytest.raises(services.NotYourGesprek):
        services.save_report(
            gesprek=gesprek,
            by_user=getattr(cast, who),
            attendance=1,
            themes=[],
            themes_text="",
            outcome="Iets",
            follow_up="",
        )
    assert not Verslag.objects.exists()


def test_the_report_page_runs_a_fixed_number_of_queries(
    cast, client, gesprek, django_assert_num_queries
):
    AanmeldingFactory.create_batch(5, gesprek=gesprek, status=S.AANWEZIG)
    ThemaFactory.create_batch(6)
    cast.login(client, cast.facilitator)

    # 1 session, 2 user, 3 staff roles, 4 the gesprek with buurt, theme and report,
    # 5 the check-in count, 6 the theme choices.
    with django_assert_num_queries(6):
        client.get(report_url(gesprek))


# --- reminders -----------------------------------------------------------------------------


def test_report_reminders_go_once_each_at_day_2_and_day_7(
    cast, gesprek, time_machine, django_capture_on_commit_callbacks
):
    def run():
        return run_task(tasks.send_report_reminders, django_capture_on_commit_callbacks)

    # Mails in the facilitator's language: English here, so the sentences below hold.
    Facilitator.objects.filter(user=cast.facilitator).update(languages=["en"])

    time_machine.move_to(ENDS_AT + timedelta(days=1, hours=23), tick=False)
    assert run() == 0

    time_machine.move_to(ENDS_AT + timedelta(days=2, hours=1), tick=False)
    assert run() == 1
    assert run() == 0

    time_machine.move_to(ENDS_AT + timedelta(days=7, hours=1), tick=False)
    assert run() == 1
    assert run() == 0

    time_machine.move_to(ENDS_AT + timedelta(days=20), tick=False)
    assert run() == 0
    assert list(Bericht.objects.order_by("pk").values_list("key", flat=True)) == [
        f"verslag_herinnering:{gesprek.pk}:2",
        f"verslag_herinnering:{gesprek.pk}:7",
    ]
    first, last = mail.outbox
    assert first.to == last.to == [cast.facilitator.email]
    report_link = f"http://127.0.0.1:8000{report_url(gesprek)}"
    assert report_link in first.body
    assert first.body.startswith(f"Hello {cast.facilitator.first_name},")
    assert "Oude Haven Aadorp" in first.subject
    assert "This is the last reminder" not in first.body
    assert "This is the last reminder" in last.body
    assert first.subject != last.subject


def test_no_reminder_once_the_report_is_written(
    cast, gesprek, time_machine, django_capture_on_commit_callbacks
):
    services.save_report(
        gesprek=gesprek,
        by_user=cast.facilitator,
        attendance=4,
        themes=[],
        themes_text="",
        outcome="Een buurtfeest.",
        follow_up="",
    )
    time_machine.move_to(ENDS_AT + timedelta(days=2, hours=1), tick=False)

    assert run_task(tasks.send_report_reminders, django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []


def test_a_reminder_written_before_the_report_is_not_sent_after_it(
    cast, gesprek, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(ENDS_AT + timedelta(days=2, hours=1), tick=False)
    with django_capture_on_commit_callbacks(execute=False):
        tasks.send_report_reminders.delay().get()
    services.save_report(
        gesprek=gesprek,
        by_user=cast.facilitator,
        attendance=4,
        themes=[],
        themes_text="",
        outcome="Een buurtfeest.",
        follow_up="",
    )

    bericht = Bericht.objects.get()
    assert tasks.send_bericht.delay(bericht.pk).get() == "obsolete"
    assert mail.outbox == []


def test_called_off_and_draft_gesprekken_get_no_reminder(
    cast, time_machine, django_capture_on_commit_callbacks
):
    gesprek_led_by(cast.facilitator, cast.buurt_a, status=Gesprek.Status.AFGELAST)
    gesprek_led_by(cast.facilitator, cast.buurt_a, status=Gesprek.Status.CONCEPT)
    time_machine.move_to(ENDS_AT + timedelta(days=2, hours=1), tick=False)

    assert run_task(tasks.send_report_reminders, django_capture_on_commit_callbacks) == 0


def test_after_a_long_outage_only_the_later_reminder_is_sent(
    cast, gesprek, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(ENDS_AT + timedelta(days=8), tick=False)

    assert run_task(tasks.send_report_reminders, django_capture_on_commit_callbacks) == 1
    assert Bericht.objects.get().key == f"verslag_herinnering:{gesprek.pk}:7"


def test_the_reminder_goes_to_the_co_facilitator_when_the_lead_is_deactivated(
    cast, gesprek, time_machine, django_capture_on_commit_callbacks
):
    cast.facilitator.is_active = False
    cast.facilitator.save()
    time_machine.move_to(ENDS_AT + timedelta(days=2, hours=1), tick=False)

    assert run_task(tasks.send_report_reminders, django_capture_on_commit_callbacks) == 1
    assert [message.to for message in mail.outbox] == [[cast.co_facilitator.email]]
