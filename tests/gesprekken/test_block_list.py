"""The block list per gemeente: kept by its coordinators, enforced at sign-up with a neutral
message that never says the address is blocked."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from gesprekken import incidents, services
from gesprekken.models import Aanmelding, Bericht, Blokkade, Incident
from tests.facilitators.factories import RolFactory
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory
from tests.gesprekken.pages import cache_table, empty_cache, sign_up_data  # noqa: F401

pytestmark = pytest.mark.usefixtures("empty_cache")

BLOCKED = "fatima@example.org"
BLOCKS_URL = reverse("coordinatie:blocks")


def today():
    return timezone.localdate()


def block(cast, email=BLOCKED, *, gemeente=None, until=None, reason="Herhaalde verstoring"):
    return incidents.block_address(
        gemeente=gemeente or cast.gemeente_a,
        email=email,
        reason=reason,
        expires_on=until or today() + timedelta(days=30),
        by_user=cast.coordinator
        if gemeente in (None, cast.gemeente_a)
        else cast.outsider_coordinator,
    )


def sign_up(client, gesprek, **overrides):
    return client.post(reverse("gesprekken:sign_up", args=[gesprek.pk]), sign_up_data(**overrides))


def refusal(response) -> str:
    """The message(s) in the error summary of the gesprek page."""
    summary = re.search(r'id="error-summary">(.*?)</div>', response.text, re.DOTALL)
    assert summary, response.text
    items = re.findall(r"<li>(.*?)</li>", summary.group(1), re.DOTALL)
    return " | ".join(re.sub(r"<[^>]+>|\s+", " ", item).strip() for item in items)


@pytest.fixture(autouse=True)
def _english(client):
    # The pages in English, so the sentences asserted here do not depend on the catalogue.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def gesprek_a(cast):
    return GesprekFactory(buurt=cast.buurt_a)


@pytest.fixture
def gesprek_b(cast):
    return GesprekFactory(buurt=cast.buurt_b)


# --- Enforced at sign-up -----------------------------------------------------------------------


def test_a_blocked_address_cannot_sign_up_in_that_gemeente(client, cast, gesprek_a):
    block(cast, reason="Intimideerde de begeleider")

    response = sign_up(client, gesprek_a, email=" Fatima@Example.org ")

    assert response.status_code == 400
    assert refusal(response) == str(services.SignUpRefused())
    assert not Aanmelding.objects.exists()
    assert not Bericht.objects.exists()
    # Nothing on the page gives the block away: not the reason, not the word, in either
    # language.
    assert "Intimideerde" not in response.text
    for language in ("en", "nl"):
        with override(language):
            message = str(services.SignUpRefused())
        assert not re.search(r"blo[ck]k|weiger|refus|incident", message, re.IGNORECASE)


def test_the_refusal_reads_the_same_whatever_the_reason(client, cast, gesprek_a):
    incident = Incident.objects.create(
        gesprek=gesprek_a,
        aanmelding=AanmeldingFactory(gesprek=gesprek_a, email="kees@example.org"),
        category=Incident.Category.NO_SHOW,
        text="Vier keer niet gekomen.",
    )
    incidents.block_participant(
        incident=incident, by_user=cast.coordinator, reason="Niet gekomen", expires_on=today()
    )
    block(cast, reason="Schold andere bewoners uit")
    other = GesprekFactory(buurt=cast.buurt_a)

    first = sign_up(client, other, email=BLOCKED)
    second = sign_up(client, other, email="kees@example.org", name="Kees")

    assert first.status_code == second.status_code == 400
    assert refusal(first) == refusal(second)
    assert not other.aanmeldingen.exists()


def test_other_gemeenten_are_not_affected(client, cast, gesprek_b):
    block(cast)

    response = sign_up(client, gesprek_b, email=BLOCKED)

    assert response.status_code == 302
    assert Aanmelding.objects.get().email == BLOCKED


def test_other_addresses_are_not_affected(client, cast, gesprek_a):
    block(cast)

    assert sign_up(client, gesprek_a, email="fatima2@example.org").status_code == 302


def test_a_block_lasts_until_its_end_date_and_no_longer(client, cast, gesprek_a):
    blokkade = block(cast, until=today())

    assert sign_up(client, gesprek_a, email=BLOCKED).status_code == 400

    Blokkade.objects.filter(pk=blokkade.pk).update(expires_on=today() - timedelta(days=1))
    response = sign_up(client, gesprek_a, email=BLOCKED)
    assert response.status_code == 302
    assert Aanmelding.objects.get().email == BLOCKED


def test_after_lifting_the_block_the_address_can_sign_up_again(client, cast, gesprek_a):
    blokkade = block(cast)
    cast.login(client, cast.coordinator)

    response = client.post(reverse("coordinatie:lift_block", args=[blokkade.pk]))

    assert response.status_code == 302
    assert response.url == f"{BLOCKS_URL}?gemeente={cast.gemeente_a.pk}"
    assert not Blokkade.objects.exists()
    client.logout()
    assert sign_up(client, gesprek_a, email=BLOCKED).status_code == 302


# --- The block list page ----------------------------------------------------------------------


def block_data(**overrides):
    data = {
        "email": BLOCKED,
        "reason": "Herhaalde verstoring",
        "expires_on": (today() + timedelta(days=60)).isoformat(),
    }
    data.update(overrides)
    return data


def test_the_list_shows_active_blocks_by_hint_reason_and_end_date(client, cast):
    block(cast, reason="Schold uit", until=today() + timedelta(days=5))
    ended = block(cast, "oud@example.org", reason="Lang geleden")
    Blokkade.objects.filter(pk=ended.pk).update(expires_on=today() - timedelta(days=1))
    block(cast, "beekdal@example.org", gemeente=cast.gemeente_b, reason="In Beekdal")
    cast.login(client, cast.coordinator)

    response = client.get(BLOCKS_URL)

    assert response.status_code == 200
    page = response.text
    assert "f…@example.org" in page
    assert "Schold uit" in page
    assert "1 blocked address" in page
    assert BLOCKED not in page
    assert "Lang geleden" not in page
    assert "In Beekdal" not in page
    assert (
        f'value="{(today() + timedelta(days=settings.GESPREKKEN_BLOCK_DAYS)).isoformat()}"' in page
    )


def test_a_coordinator_blocks_a_typed_address(client, cast):
    cast.login(client, cast.coordinator)

    response = client.post(BLOCKS_URL, block_data(email="  Fatima@Example.ORG "))

    assert response.status_code == 302
    assert response.url == f"{BLOCKS_URL}?gemeente={cast.gemeente_a.pk}"
    blokkade = Blokkade.objects.get()
    assert blokkade.gemeente == cast.gemeente_a
    assert blokkade.email_digest == incidents.email_digest(BLOCKED)
    assert blokkade.email_hint == "f…@example.org"
    assert blokkade.expires_on == today() + timedelta(days=60)
    assert blokkade.incident is None
    assert blokkade.created_by == cast.coordinator
    stored = [str(getattr(blokkade, f.attname)) for f in Blokkade._meta.concrete_fields]
    assert not any("fatima@" in value.lower() for value in stored)
    page = client.get(response.url).text
    assert "f…@example.org is blocked in Aadorp until" in page


@pytest.mark.parametrize("again", [BLOCKED, "FATIMA@example.org", " fatima@example.org"])
def test_blocking_an_address_twice_is_a_friendly_message(client, cast, again):
    block(cast, reason="Eerste")
    cast.login(client, cast.coordinator)

    response = client.post(BLOCKS_URL, block_data(email=again, reason="Tweede"))

    assert response.status_code == 400
    assert "This address is blocked in Aadorp already, until" in response.text
    assert Blokkade.objects.get().reason == "Eerste"


def test_an_ended_block_not_yet_purged_is_renewed(client, cast):
    old = block(cast, reason="Vorig jaar")
    Blokkade.objects.filter(pk=old.pk).update(expires_on=today() - timedelta(days=3))
    cast.login(client, cast.coordinator)

    response = client.post(BLOCKS_URL, block_data(reason="Weer"))

    assert response.status_code == 302
    renewed = Blokkade.objects.get()
    assert renewed.pk == old.pk
    assert (renewed.reason, renewed.expires_on) == ("Weer", today() + timedelta(days=60))


def test_the_same_address_can_be_blocked_in_two_gemeenten(cast):
    block(cast)
    block(cast, gemeente=cast.gemeente_b)

    assert Blokkade.objects.count() == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": ""}, "Enter the e-mail address to block."),
        ({"email": "niet-een-adres"}, "Enter an e-mail address like name@example.nl."),
        ({"email": "fatima@"}, "Enter an e-mail address like name@example.nl."),
        ({"email": "a@b.nl\x00"}, "Enter an e-mail address like name@example.nl."),
        ({"email": "fat\u202eima@example.org"}, "Enter an e-mail address like name@example.nl."),
        ({"email": "<script>@example.org"}, "Enter an e-mail address like name@example.nl."),
        ({"email": "a@b.nl\r\nBcc: x@y.nl"}, "Enter an e-mail address like name@example.nl."),
        ({"email": "x" * 250 + "@b.nl"}, "An e-mail address can be at most 254 characters"),
        ({"reason": ""}, "Write in a few words why the address is blocked."),
        ({"reason": "x" * 301}, "Use at most 300 characters."),
        ({"reason": "<script>alert(1)</script>"}, "Leave out HTML: plain text only."),
        ({"reason": "Stoorde \u202e"}, "Use plain text, without special characters"),
        ({"reason": "Stoorde\x00"}, "Use plain text, without special characters"),
        ({"reason": "Is dement"}, "Leave out words about health or a diagnosis (dement)"),
        ({"expires_on": ""}, "Enter the date until which the block lasts."),
        ({"expires_on": "31-31-2027"}, "Enter a date like 2027-03-31."),
        ({"expires_on": "2027-13-01"}, "Enter a date like 2027-03-31."),
        ({"expires_on": "yesterday"}, "Choose a date from today up to"),
        ({"expires_on": "far"}, "Choose a date from today up to"),
    ],
    ids=[
        "no-email",
        "not-an-address",
        "no-domain",
        "nul",
        "rtl-override",
        "html",
        "header-injection",
        "too-long-email",
        "no-reason",
        "long-reason",
        "script-reason",
        "rtl-reason",
        "nul-reason",
        "health-reason",
        "no-date",
        "bad-date",
        "impossible-date",
        "past-date",
        "too-far",
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_saved(client, cast, changes, message):
    dates = {
        "yesterday": (today() - timedelta(days=1)).isoformat(),
        "far": (today() + timedelta(days=2 * settings.GESPREKKEN_BLOCK_DAYS + 1)).isoformat(),
    }
    cast.login(client, cast.coordinator)

    data = block_data(**{key: dates.get(value, value) for key, value in changes.items()})
    response = client.post(BLOCKS_URL, data)

    assert response.status_code == 400
    assert message in response.text
    assert not Blokkade.objects.exists()


def test_a_coordinator_of_several_gemeenten_picks_the_gemeente(client, cast):
    RolFactory(user=cast.coordinator, gemeente=cast.gemeente_b)
    cast.login(client, cast.coordinator)

    picker = client.get(BLOCKS_URL)
    without_choice = client.post(BLOCKS_URL, block_data())
    in_b = client.post(f"{BLOCKS_URL}?gemeente={cast.gemeente_b.pk}", block_data())
    unknown = client.get(BLOCKS_URL, {"gemeente": "GM0000"})

    assert picker.status_code == 200
    for gemeente in (cast.gemeente_a, cast.gemeente_b):
        assert f"?gemeente={gemeente.pk}" in picker.text
    assert without_choice.status_code == 400
    assert in_b.status_code == 302
    assert Blokkade.objects.get().gemeente == cast.gemeente_b
    assert unknown.status_code == 404


def test_lifting_a_block_of_another_gemeente_is_a_404(client, cast):
    theirs = block(cast, gemeente=cast.gemeente_b)
    cast.login(client, cast.coordinator)

    response = client.post(reverse("coordinatie:lift_block", args=[theirs.pk]))

    assert response.status_code == 404
    assert Blokkade.objects.get() == theirs


def test_lift_block_checks_the_coordinator_itself(cast):
    blokkade = block(cast)

    for user in (cast.national, cast.outsider_coordinator, cast.facilitator):
        with pytest.raises(incidents.NotAllowed):
            incidents.lift_block(blokkade=blokkade, by_user=user)
    assert incidents.lift_block(blokkade=blokkade, by_user=cast.coordinator) is True
    assert incidents.lift_block(blokkade=blokkade, by_user=cast.coordinator) is False


@pytest.mark.django_db(transaction=True)
def test_the_sign_up_lock_asks_what_incidents_blocks_asks(cast, gesprek_a, gesprek_b):
    """The lock's own statement (services._lock_for_sign_up_sql) and incidents.blocks
    agree: the gemeente, the address in any case and spacing, the last day and after."""
    block(cast, until=today())
    block(cast, "expired@example.org", until=today() + timedelta(days=1))
    Blokkade.objects.filter(email_hint__startswith="e").update(expires_on=today() - timedelta(1))
    cases = [
        (gesprek, email, when)
        for gesprek in (gesprek_a, gesprek_b)
        for email in (BLOCKED, " Fatima@Example.ORG ", "expired@example.org", "anna@example.org")
        for when in (timezone.now(), timezone.now() + timedelta(days=1))
    ]
    answers = []
    for gesprek, email, when in cases:
        with transaction.atomic():
            locked = services._lock_for_sign_up(gesprek.pk, email, when)
        expected = incidents.blocks(
            buurt_id=gesprek.buurt_id, email=email, today=timezone.localdate(when)
        ).exists()
        assert bool(locked.blocked) is expected, (gesprek.buurt_id, email, when)
        assert locked.pk == gesprek.pk and locked.starts_at == gesprek.starts_at
        answers.append(expected)
    # Both answers occur: blocked only for the blocked address, in its gemeente, today.
    assert answers.count(True) == 2


@pytest.mark.django_db
def test_the_sign_up_lock_of_a_gesprek_that_is_not_there():
    with pytest.raises(services.Gesprek.DoesNotExist), transaction.atomic():
        services._lock_for_sign_up(0, BLOCKED, timezone.now())
