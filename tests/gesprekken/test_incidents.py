"""Incidents: recorded by a gesprek's facilitator, seen and resolved by the coordinators of
its gemeente only, who see "a participant" and a masked address, never a name."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gesprekken import incidents, services
from gesprekken.models import Aanmelding, Blokkade, Incident
from tests.facilitators.factories import FacilitatorFactory, RolFactory, UserFactory
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory

C = Incident.Category
RESIDENT_NAME = "Fatima Bakker"
RESIDENT_EMAIL = "fatima.bakker@example.org"
RESIDENT_HINT = "f…@example.org"
FACTS = "Onderbrak anderen steeds en bleef na twee verzoeken schreeuwen."


@pytest.fixture(autouse=True)
def _english(client):
    # The pages in English, so the sentences asserted here do not depend on the catalogue.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def gesprek(cast):
    return GesprekFactory(
        buurt=cast.buurt_a, facilitator=cast.facilitator, co_facilitator=cast.co_facilitator
    )


@pytest.fixture
def resident(gesprek):
    return AanmeldingFactory(gesprek=gesprek, name=RESIDENT_NAME, email=RESIDENT_EMAIL)


@pytest.fixture
def incident(cast, gesprek, resident):
    return Incident.objects.create(
        gesprek=gesprek,
        aanmelding=resident,
        category=C.VERSTORING,
        text=FACTS,
        reported_by=cast.facilitator,
    )


def record_url(gesprek):
    return reverse("werkruimte:incident", args=[gesprek.pk])


def incident_url(incident):
    return reverse("coordinatie:incident", args=[incident.pk])


LIST_URL = reverse("coordinatie:incidents")
BLOCKS_URL = reverse("coordinatie:blocks")


def incident_data(**overrides):
    data = {"category": C.VERSTORING, "aanmelding": "", "text": FACTS}
    data.update(overrides)
    return data


def today():
    return timezone.localdate()


# --- The facilitator records an incident ------------------------------------------------------


@pytest.mark.parametrize("who", ["facilitator", "co_facilitator"])
def test_a_facilitator_of_the_gesprek_records_an_incident_about_a_participant(
    client, cast, gesprek, resident, who
):
    cast.login(client, getattr(cast, who))

    response = client.post(record_url(gesprek), incident_data(aanmelding=resident.pk))

    assert response.status_code == 302
    assert response.url == reverse("werkruimte:gesprek", args=[gesprek.pk])
    incident = Incident.objects.get()
    assert incident.gesprek == gesprek
    assert incident.aanmelding == resident
    assert incident.category == C.VERSTORING
    assert incident.text == FACTS
    assert incident.reported_by == getattr(cast, who)
    assert incident.resolved_at is None
    page = client.get(response.url).text
    assert "The incident is recorded; the coordinators of Aadorp see it." in page


def test_an_incident_need_not_concern_anyone(client, cast, gesprek):
    cast.login(client, cast.facilitator)

    data = incident_data(category=C.VEILIGHEID, text="De trap naar de zaal had geen leuning.")
    response = client.post(record_url(gesprek), data)

    assert response.status_code == 302
    assert Incident.objects.get().aanmelding is None


def test_the_form_offers_this_gespreks_participants_by_the_name_they_gave(
    client, cast, gesprek, resident
):
    AanmeldingFactory(gesprek=gesprek, name="Kees", status=Aanmelding.Status.NIET_VERSCHENEN)
    AanmeldingFactory(name="Iemand Anders")  # another gesprek
    cast.login(client, cast.facilitator)

    response = client.get(record_url(gesprek))

    assert response.status_code == 200
    choices = [label for _value, label in response.context["form"].fields["aanmelding"].choices]
    assert choices == ["Nobody in particular", f"{RESIDENT_NAME} (Confirmed)", "Kees (No-show)"]
    assert "Iemand Anders" not in response.text
    assert "no diagnosis, no health information" in response.text


def test_the_gesprek_page_links_to_the_incident_form(client, cast, gesprek):
    cast.login(client, cast.facilitator)

    page = client.get(reverse("werkruimte:gesprek", args=[gesprek.pk])).text

    assert f'href="{record_url(gesprek)}"' in page
    assert "Report an incident" in page


def test_a_repeated_no_show_is_about_the_participant_the_facilitator_picks(
    client, cast, gesprek, resident
):
    cast.login(client, cast.facilitator)
    data = incident_data(category=C.NO_SHOW, text="Derde keer aangemeld en niet gekomen.")

    without = client.post(record_url(gesprek), data)
    assert without.status_code == 400
    assert "Choose the participant who did not come." in without.text
    assert not Incident.objects.exists()

    with_participant = client.post(record_url(gesprek), {**data, "aanmelding": resident.pk})
    assert with_participant.status_code == 302
    assert Incident.objects.get().aanmelding == resident


def test_a_participant_of_another_gesprek_cannot_be_chosen(client, cast, gesprek):
    elsewhere = AanmeldingFactory(gesprek=GesprekFactory(buurt=cast.buurt_a))
    cast.login(client, cast.facilitator)

    response = client.post(record_url(gesprek), incident_data(aanmelding=elsewhere.pk))

    assert response.status_code == 400
    assert "Choose a participant of this conversation from the list." in response.text
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Describe in a few sentences what happened."),
        ("   \n ", "Describe in a few sentences what happened."),
        ("x" * 501, "Use at most 500 characters."),
        ("Riep <script>alert(1)</script>", "Leave out HTML: plain text only."),
        ("Riep <b>hard</b>", "Leave out HTML: plain text only."),
        ("Riep\x00 hard", "Use plain text, without special characters"),
        ("Riep \u202ehard", "Use plain text, without special characters"),
        ("Riep hard\x07", "Use plain text, without special characters"),
        ("Hij is duidelijk psychisch in de war.", "(psychisch)"),
        ("Zij leek verward en was misschien dement.", "(verward, dement)"),
        ("Waarschijnlijk autistisch of ADHD.", "(autistisch, ADHD)"),
        ("Is volgens mij verslaafd.", "(verslaafd)"),
        ("Zei dat hij ziek was en depressief.", "(ziek, depressief)"),
        ("Obviously has a mental illness.", "(mental, illness)"),
        ("Seems psychiatric, needs a diagnosis.", "(psychiatric, diagnosis)"),
        ("Fatima liep boos weg.", "Leave out names (Fatima)"),
        ("Mevrouw Bakker liep boos weg.", "Leave out names (Bakker)"),
    ],
    ids=[
        "empty",
        "blank",
        "too-long",
        "script",
        "html",
        "nul",
        "rtl-override",
        "control",
        "psychisch",
        "verward-dement",
        "autis-adhd",
        "verslaafd",
        "ziek-depressief",
        "mental-illness",
        "psychiatric-diagnosis",
        "first-name",
        "surname",
    ],
)
def test_text_that_is_empty_hostile_or_about_health_is_refused_and_kept(
    client, cast, gesprek, resident, text, message
):
    cast.login(client, cast.facilitator)

    response = client.post(record_url(gesprek), incident_data(text=text))

    assert response.status_code == 400
    assert message in response.text
    assert not Incident.objects.exists()
    if "health" in message or message.startswith("("):
        assert "Leave out words about health or a diagnosis" in response.text
        # Nothing is lost: the text is in the form, to rephrase.
        assert response.context["form"]["text"].value() == text


@pytest.mark.parametrize(
    "text",
    [
        "Speelde muziek af tijdens het gesprek.",  # "ziek" inside "muziek"
        "Wilde het verslag niet afwachten.",  # "versla…" is not "verslaafd"
        "Riep: ik ben het hier niet mee eens!",  # "ben" is not a name when written lowercase
        "Stond op, liep weg en sloeg de deur dicht (2 keer).",
    ],
)
def test_ordinary_factual_text_passes(client, cast, gesprek, text):
    AanmeldingFactory(gesprek=gesprek, name="Ben")
    cast.login(client, cast.facilitator)

    response = client.post(record_url(gesprek), incident_data(text=text))

    assert response.status_code == 302
    assert Incident.objects.get().text == text


@pytest.mark.parametrize("category", ["", "brand", "<script>"])
def test_an_unknown_category_is_refused(client, cast, gesprek, category):
    cast.login(client, cast.facilitator)

    response = client.post(record_url(gesprek), incident_data(category=category))

    assert response.status_code == 400
    assert "Choose what happened." in response.text
    assert not Incident.objects.exists()


def test_an_address_or_phone_number_in_the_text_is_saved_only_after_a_check(client, cast, gesprek):
    cast.login(client, cast.facilitator)
    text = "Belde steeds naar 06-12345678 om de afspraak te verstoren."

    held = client.post(record_url(gesprek), incident_data(text=text))

    assert held.status_code == 400
    assert "This looks like a phone number: 06-12345678" in held.text
    assert not Incident.objects.exists()

    confirmed = client.post(
        record_url(gesprek), incident_data(text=text, confirm_personal_data="on")
    )
    assert confirmed.status_code == 302
    assert Incident.objects.get().text == text


@pytest.mark.parametrize(
    "who",
    ["outsider_facilitator", "coordinator", "outsider_coordinator", "national", "other", "none"],
)
def test_only_the_facilitators_of_the_gesprek_can_record_an_incident(
    client, cast, gesprek, resident, who
):
    users = {
        # Serves gemeente A too, but does not lead this gesprek.
        "other": FacilitatorFactory(
            user=UserFactory(username="other", totp=True), gemeenten=[cast.gemeente_a]
        ).user,
        "none": UserFactory(username="resident_account", totp=True),
    }
    cast.login(client, users.get(who) or getattr(cast, who))

    assert client.get(record_url(gesprek)).status_code == 404
    response = client.post(record_url(gesprek), incident_data(aanmelding=resident.pk))
    assert response.status_code == 404
    assert not Incident.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client, gesprek):
    response = client.post(record_url(gesprek), incident_data())

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert not Incident.objects.exists()


def test_record_incident_checks_who_leads_the_gesprek_itself(cast, gesprek):
    with pytest.raises(incidents.NotAllowed):
        incidents.record_incident(
            gesprek=gesprek, by_user=cast.outsider_facilitator, category=C.ANDERS, text=FACTS
        )
    with pytest.raises(ValidationError) as error:
        incidents.record_incident(
            gesprek=gesprek, by_user=cast.facilitator, category="brand", text="<i>x</i>"
        )
    assert set(error.value.message_dict) == {"category", "text"}
    assert not Incident.objects.exists()


# --- The coordinators of the gemeente see it ---------------------------------------------------


def test_the_coordinator_sees_what_happened_but_not_who(client, cast, incident):
    cast.login(client, cast.coordinator)

    for url in (LIST_URL, incident_url(incident)):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.text
        assert FACTS in page
        assert "Disruption of the conversation" in page
        assert f"a participant: {RESIDENT_HINT}" in page
        assert "Fatima" not in page
        assert "Bakker" not in page
        assert RESIDENT_EMAIL not in page
        assert incident.aanmelding.short_code not in page


def test_open_incidents_come_first_then_resolved_ones(client, cast, gesprek, incident):
    resolved = Incident.objects.create(
        gesprek=gesprek,
        category=C.VEILIGHEID,
        text="De nooduitgang was geblokkeerd door stoelen.",
        created_at=timezone.now() + timedelta(minutes=5),
        resolved_at=timezone.now() + timedelta(minutes=10),
        resolution="Met de beheerder besproken.",
    )
    cast.login(client, cast.coordinator)

    response = client.get(LIST_URL)

    assert [i.pk for i in response.context["open"]] == [incident.pk]
    assert [i.pk for i in response.context["resolved"]] == [resolved.pk]
    page = response.text
    assert page.index("1 open incident") < page.index(FACTS) < page.index(resolved.text)


def test_the_coordinators_menu_shows_the_open_count(client, cast, gesprek, incident):
    Incident.objects.create(gesprek=gesprek, category=C.ANDERS, text="Nog iets.")
    Incident.objects.create(
        gesprek=gesprek, category=C.ANDERS, text="Al gedaan.", resolved_at=timezone.now()
    )
    Incident.objects.create(
        gesprek=GesprekFactory(buurt=cast.buurt_b), category=C.ANDERS, text="Elders."
    )
    cast.login(client, cast.coordinator)

    response = client.get(reverse("coordinatie:index"))

    assert response.status_code == 200
    assert f'href="{LIST_URL}"' in response.text
    assert '<span class="badge text-bg-danger">2<' in response.text


def test_a_national_coordinator_has_no_incidents_link(client, cast, incident):
    cast.login(client, cast.national)

    page = client.get(reverse("coordinatie:index")).text

    assert f'href="{LIST_URL}"' not in page


@pytest.mark.parametrize(
    "who",
    [
        "outsider_coordinator",
        "national",
        "facilitator",
        "co_facilitator",
        "outsider_facilitator",
        "none",
    ],
)
def test_nobody_else_opens_anything_about_the_incident_or_gemeente_a(client, cast, incident, who):
    blokkade = incidents.block_participant(
        incident=incident, by_user=cast.coordinator, reason="Verstoring", expires_on=today()
    )
    user = UserFactory(username="resident_account", totp=True) if who == "none" else None
    cast.login(client, user or getattr(cast, who))
    about_a = [
        incident_url(incident),
        reverse("coordinatie:lift_block", args=[blokkade.pk]),
        f"{LIST_URL}?gemeente={cast.gemeente_a.pk}",
        f"{BLOCKS_URL}?gemeente={cast.gemeente_a.pk}",
    ]
    posts = {"action": "resolve", "resolution": "Opgelost.", "reason": "x", "email": "a@b.nl"}

    def refused(url):
        # 404 (or 405 for a method the page never takes), never anything else.
        statuses = {client.get(url).status_code, client.post(url, posts).status_code}
        return statuses <= {404, 405} and 404 in statuses

    for url in about_a:
        assert refused(url), url
    for url in (LIST_URL, BLOCKS_URL):
        if who == "outsider_coordinator":
            # Their own gemeente's pages: nothing of A's on them.
            page = client.get(url)
            assert page.status_code == 200
            assert FACTS not in page.text
            assert RESIDENT_HINT not in page.text
        else:
            assert refused(url), url
    incident.refresh_from_db()
    assert incident.resolved_at is None
    assert Blokkade.objects.get() == blokkade


def test_the_use_cases_check_the_coordinator_themselves(cast, incident):
    for user in (cast.national, cast.outsider_coordinator, cast.facilitator):
        with pytest.raises(incidents.NotAllowed):
            incidents.resolve_incident(incident=incident, by_user=user, resolution="Gedaan.")
        with pytest.raises(incidents.NotAllowed):
            incidents.block_participant(
                incident=incident, by_user=user, reason="x", expires_on=today()
            )
        with pytest.raises(incidents.NotAllowed):
            incidents.block_address(
                gemeente=cast.gemeente_a,
                email="a@example.org",
                reason="x",
                expires_on=today(),
                by_user=user,
            )
    assert Incident.objects.get().resolved_at is None
    assert not Blokkade.objects.exists()


def test_a_coordinator_of_several_gemeenten_picks_one(client, cast, incident):
    RolFactory(user=cast.coordinator, gemeente=cast.gemeente_b)
    in_b = Incident.objects.create(
        gesprek=GesprekFactory(buurt=cast.buurt_b), category=C.ANDERS, text="In Beekdal."
    )
    cast.login(client, cast.coordinator)

    everything = client.get(LIST_URL)
    only_b = client.get(LIST_URL, {"gemeente": cast.gemeente_b.pk})
    unknown = client.get(LIST_URL, {"gemeente": "GM0000"})

    assert {i.pk for i in everything.context["open"]} == {incident.pk, in_b.pk}
    assert f"?gemeente={cast.gemeente_b.pk}" in everything.text
    assert [i.pk for i in only_b.context["open"]] == [in_b.pk]
    assert FACTS not in only_b.text
    assert unknown.status_code == 404
    assert client.get(incident_url(in_b)).status_code == 200


# --- Resolving ------------------------------------------------------------------------------


def test_the_coordinator_resolves_an_incident_with_a_note(client, cast, incident):
    cast.login(client, cast.coordinator)

    response = client.post(
        incident_url(incident), {"action": "resolve", "resolution": "Gesprek met de bewoner."}
    )

    assert response.status_code == 302
    assert response.url == LIST_URL
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert incident.resolved_by == cast.coordinator
    assert incident.resolution == "Gesprek met de bewoner."
    page = client.get(LIST_URL)
    assert page.context["open"] == []
    assert [i.pk for i in page.context["resolved"]] == [incident.pk]
    assert '<span class="badge text-bg-danger">' not in page.text


def test_resolving_twice_is_a_message_not_an_error(client, cast, incident):
    incidents.resolve_incident(incident=incident, by_user=cast.coordinator, resolution="Eerst.")
    cast.login(client, cast.coordinator)

    response = client.post(
        incident_url(incident), {"action": "resolve", "resolution": "Nog eens."}, follow=True
    )

    assert response.status_code == 200
    assert "This incident was resolved already." in response.text
    incident.refresh_from_db()
    assert incident.resolution == "Eerst."


@pytest.mark.parametrize(
    ("resolution", "message"),
    [
        ("", "Write in a few words how it was resolved."),
        ("x" * 501, "Use at most 500 characters."),
        ("<script>alert(1)</script>", "Leave out HTML: plain text only."),
        ("Opgelost\x00", "Use plain text, without special characters"),
        ("Opgelost \u202e", "Use plain text, without special characters"),
        ("Doorverwezen naar de ggz.", "Leave out words about health or a diagnosis (ggz)"),
    ],
    ids=["empty", "too-long", "script", "nul", "rtl-override", "health"],
)
def test_a_bad_resolution_is_refused(client, cast, incident, resolution, message):
    cast.login(client, cast.coordinator)

    response = client.post(incident_url(incident), {"action": "resolve", "resolution": resolution})

    assert response.status_code == 400
    assert message in response.text
    incident.refresh_from_db()
    assert incident.resolved_at is None


def test_an_unknown_action_changes_nothing(client, cast, incident):
    cast.login(client, cast.coordinator)

    response = client.post(incident_url(incident), {"action": "delete"})

    assert response.status_code == 400
    assert "Choose resolve or block." in response.text
    assert Incident.objects.get().resolved_at is None


# --- Blocking the participant's address -------------------------------------------------------


def test_the_block_form_proposes_the_default_length(client, cast, incident):
    cast.login(client, cast.coordinator)

    response = client.get(incident_url(incident))

    until = today() + timedelta(days=settings.GESPREKKEN_BLOCK_DAYS)
    assert "Block this participant's address in Aadorp" in response.text
    assert f'value="{until.isoformat()}"' in response.text
    assert 'value="Disruption of the conversation"' in response.text


def test_the_coordinator_blocks_the_participants_address(client, cast, incident):
    cast.login(client, cast.coordinator)
    until = today() + timedelta(days=30)

    response = client.post(
        incident_url(incident),
        {"action": "block", "reason": "Herhaalde verstoring", "expires_on": until.isoformat()},
    )

    assert response.status_code == 302
    blokkade = Blokkade.objects.get()
    assert blokkade.gemeente == cast.gemeente_a
    assert blokkade.email_digest == incidents.email_digest(RESIDENT_EMAIL)
    assert blokkade.email_hint == RESIDENT_HINT
    assert blokkade.reason == "Herhaalde verstoring"
    assert blokkade.expires_on == until
    assert blokkade.incident == incident
    assert blokkade.created_by == cast.coordinator
    # The address itself is stored nowhere in the entry.
    stored = [str(getattr(blokkade, f.attname)) for f in Blokkade._meta.concrete_fields]
    assert not any("fatima.bakker" in value for value in stored)
    page = client.get(response.url).text
    assert "This address is blocked until" in page
    assert RESIDENT_EMAIL not in page


def test_blocking_the_same_address_twice_is_a_friendly_message(client, cast, incident):
    incidents.block_participant(
        incident=incident, by_user=cast.coordinator, reason="Eerste keer", expires_on=today()
    )
    second = Incident.objects.create(
        gesprek=incident.gesprek, aanmelding=incident.aanmelding, category=C.ANDERS, text="Weer."
    )
    cast.login(client, cast.coordinator)

    response = client.post(
        incident_url(second),
        {"action": "block", "reason": "Tweede keer", "expires_on": today().isoformat()},
    )

    assert response.status_code == 400
    assert "This address is blocked in Aadorp already" in response.text
    assert Blokkade.objects.get().reason == "Eerste keer"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"expires_on": ""}, "Enter the date until which the block lasts."),
        ({"expires_on": "morgen"}, "Enter a date like 2027-03-31."),
        ({"expires_on": "2027-02-30"}, "Enter a date like 2027-03-31."),
        ({"expires_on": "99999-01-01"}, "Enter a date like 2027-03-31."),
        ({"expires_on": "yesterday"}, "Choose a date from today up to"),
        ({"expires_on": "far"}, "Choose a date from today up to"),
        ({"reason": ""}, "Write in a few words why the address is blocked."),
        ({"reason": "x" * 301}, "Use at most 300 characters."),
        ({"reason": "<img src=x onerror=alert(1)>"}, "Leave out HTML: plain text only."),
        ({"reason": "Stoorde\x00"}, "Use plain text, without special characters"),
        ({"reason": "Stoorde\nvaak"}, "Use plain text, without special characters"),
        ({"reason": "Stoorde \u202e"}, "Use plain text, without special characters"),
        ({"reason": "Psychiatrisch patiënt"}, "Leave out words about health or a diagnosis"),
    ],
    ids=[
        "no-date",
        "words",
        "impossible-date",
        "huge-year",
        "past",
        "too-far",
        "no-reason",
        "long-reason",
        "html",
        "nul",
        "line-break",
        "rtl-override",
        "health",
    ],
)
def test_a_bad_block_is_refused_and_nothing_saved(client, cast, incident, changes, message):
    dates = {
        "yesterday": (today() - timedelta(days=1)).isoformat(),
        "far": (today() + timedelta(days=2 * settings.GESPREKKEN_BLOCK_DAYS + 1)).isoformat(),
    }
    data = {"action": "block", "reason": "Verstoring", "expires_on": today().isoformat()}
    data.update({key: dates.get(value, value) for key, value in changes.items()})
    cast.login(client, cast.coordinator)

    response = client.post(incident_url(incident), data)

    assert response.status_code == 400
    assert message in response.text
    assert not Blokkade.objects.exists()


def test_an_anonymised_participant_cannot_be_blocked(client, cast, incident):
    Aanmelding.objects.filter(pk=incident.aanmelding_id).update(
        name="", email=f"verwijderd-{incident.aanmelding_id}{services.ANONYMISED_EMAIL_DOMAIN}"
    )
    cast.login(client, cast.coordinator)

    page = client.get(incident_url(incident))
    response = client.post(
        incident_url(incident),
        {"action": "block", "reason": "Verstoring", "expires_on": today().isoformat()},
    )

    assert "a participant (address no longer kept)" in page.text
    assert 'name="expires_on"' not in page.text
    assert response.status_code == 400
    assert "The address of this participant is no longer kept" in response.text
    assert not Blokkade.objects.exists()


# --- The retention purge ----------------------------------------------------------------------


def test_purge_deletes_old_resolved_incidents_and_ended_blocks(cast, gesprek, incident):
    now = timezone.now()
    retention = timedelta(days=settings.GESPREKKEN_RETENTION_DAYS)

    def resolved(when):
        return Incident.objects.create(
            gesprek=gesprek, category=C.ANDERS, text="x", resolved_at=when, resolution="ok"
        )

    old = resolved(now - retention - timedelta(hours=1))
    recent = resolved(now - retention + timedelta(hours=1))
    old_but_open = Incident.objects.create(
        gesprek=gesprek, category=C.ANDERS, text="x", created_at=now - 2 * retention
    )

    def block(address, until):
        return incidents.block_address(
            gemeente=cast.gemeente_a,
            email=address,
            reason="x",
            expires_on=until,
            by_user=cast.coordinator,
            incident=old,
            now=now - timedelta(days=10),
        )

    ended = block("ended@example.org", today() - timedelta(days=1))
    ends_today = block("today@example.org", today())

    result = incidents.purge(now)

    assert (result.incidents_deleted, result.blocks_deleted) == (1, 1)
    assert set(Incident.objects.values_list("pk", flat=True)) == {
        incident.pk,
        recent.pk,
        old_but_open.pk,
    }
    assert list(Blokkade.objects.all()) == [ends_today]
    assert not Blokkade.objects.filter(pk=ended.pk).exists()
    # The block of a purged incident stays, without the link.
    assert Blokkade.objects.get().incident is None
    again = incidents.purge(now)
    assert (again.incidents_deleted, again.blocks_deleted) == (0, 0)


# --- The word list ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Was gediagnosticeerd met iets", ["gediagnosticeerd"]),
        ("Ging naar het ZIEKENHUIS", ["ZIEKENHUIS"]),
        ("drugsverslaafde buurman", ["drugsverslaafde"]),
        ("had a mental health disorder", ["mental", "health", "disorder"]),
        ("Speelde muziek en maakte een verslag", []),
        ("Disorderly: threw chairs", []),
    ],
)
def test_health_words_are_found_without_catching_ordinary_words(text, found):
    assert incidents.health_words(text) == found


def test_the_incident_list_takes_the_same_queries_for_few_and_many(client, cast, gesprek):
    def queries_for_the_list():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST_URL).status_code == 200
        return len(captured)

    def add(count):
        for _number in range(count):
            Incident.objects.create(
                gesprek=gesprek,
                aanmelding=AanmeldingFactory(gesprek=gesprek),
                category=C.NO_SHOW,
                text=FACTS,
                reported_by=cast.facilitator,
            )

    cast.login(client, cast.coordinator)
    add(1)
    few = queries_for_the_list()
    add(12)
    assert queries_for_the_list() == few
