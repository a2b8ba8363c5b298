"""A resident's stance never reaches a staff page, an admin page, a staff export or an e-mail.

The stance (Standpunt: the answers to the theme's statements, and the side they add up to)
is a political opinion. It may be used to compose the group and in counts of 3 or more,
never shown per person. This file proves it for one known participant:

- `known`: the resident of tests/test_access_matrix.py's `world` (a gesprek in gemeente A,
  led by cast.facilitator, with a mixed table) answered two statements whose texts occur
  nowhere else ("… 7Q …"), both "disagree", with consent. Three neighbours at the same
  table agree, so the mix has a side with a count to show.
- Every staff URL the access matrix finds (werkruimte, uitvoering, coordinatie, dekking),
  as each staff member who may open it (the facilitators, A's coordinator, the national
  coordinator), following redirects and POSTing where a page only takes POST; every
  admin changelist (also searched for the participant) and change page, for every
  registered model, as a superuser; the day list and every dekking export (CSV, JSON);
  and every kind of e-mail, rendered and delivered through the outbox, in both languages.
- None of them contains the statements' text (except the admin page where coordinators
  edit the statements of a theme), the stored answers in any form, or the participant's
  side in the same row, list item or paragraph as their name.

It cannot pass by accident: the checker is shown to catch a planted leak, the owner of
each page must actually get the page (not a 404 or a login redirect), the facilitator's
pages must show the participant's name (so the "next to their name" check had a row to
look at), the public gesprek page must show the statement text (so the marker is real
text the templates render), and the admin search must list the participant.

At the end: the stance is stored only with its own consent, by the form and the service.
"""

import html
import io
import json
import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override
from pypdf import PdfReader

from gesprekken import emails, outbox, services
from gesprekken.forms import SignUpForm
from gesprekken.models import (
    AgeBand,
    Bericht,
    Sector,
    Standpunt,
    Stelling,
    Thema,
)
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, InteresseFactory
from tests.gesprekken.pages import cache_table, empty_cache, sign_up_data  # noqa: F401
from tests.test_access_matrix import (  # noqa: F401 (world is a fixture)
    FILLABLE,
    OWNER,
    OWNER_BY_URL,
    RESIDENT_NAME,
    _client_for,
    world,
)

pytestmark = pytest.mark.usefixtures("empty_cache")

STATEMENT = "In de Lindelaan moeten de lantaarns paars worden 7Q"
STATEMENT_EN = "The lamp posts in Lindelaan should turn purple 7Q"
SECOND = "Op zondag rijdt er geen bus door de wijk 7Q"
SIDE = Standpunt.Side.ONEENS
# Staff who may open (some) staff pages about gemeente A.
STAFF = ["facilitator", "co_facilitator", "coordinator", "national"]
# Admin pages where coordinators edit a theme's statements: their text belongs there.
STATEMENT_EDITORS = {"gesprekken.thema", "gesprekken.stelling"}


@pytest.fixture
def known(world):  # noqa: F811
    """The access matrix's world, with a stance for its resident (see the module docstring)."""
    thema = Thema.objects.create(name="Licht en vervoer")
    first = Stelling.objects.create(thema=thema, text=STATEMENT, text_en=STATEMENT_EN, order=1)
    second = Stelling.objects.create(thema=thema, text=SECOND, order=2)
    gesprek = world.gesprek
    gesprek.thema = thema
    gesprek.balance = True
    gesprek.save()
    participant = world.aanmelding
    participant.sector = Sector.objects.order_by("pk").first()
    participant.age_band = AgeBand.FROM_40
    participant.save()
    answers = {str(first.pk): SIDE.value, str(second.pk): SIDE.value}
    Standpunt.objects.create(
        aanmelding=participant, answers=answers, side=SIDE, consent_at=timezone.now()
    )
    for number in range(3):
        neighbour = AanmeldingFactory(gesprek=gesprek, name=f"Buur die het eens is {number}")
        Standpunt.objects.create(
            aanmelding=neighbour,
            answers={str(first.pk): "eens"},
            side=Standpunt.Side.EENS,
            consent_at=timezone.now(),
        )
    world.answers = answers
    world.statements = [first, second]
    return world


# --- What counts as a leak ----------------------------------------------------------------------


def side_words() -> set[str]:
    """The participant's side as stored and as labelled, in every language."""
    words = {SIDE.value}
    for language in ("nl", "en"):
        with override(language):
            words.add(str(SIDE.label))
    return {word.lower() for word in words}


def answer_forms(answers: dict) -> list[str]:
    """The stored answers as JSON or Python would print them, whole or per statement."""
    forms = [json.dumps(answers), str(answers), json.dumps(answers, indent=2)]
    for pk, side in answers.items():
        forms += [f'"{pk}": "{side}"', f"'{pk}': '{side}'", f'"{pk}":"{side}"']
    return forms


ENCLOSING = ("tr", "li", "dd", "p", "td", "div")


def around(page: str, index: int) -> str:
    """The row, list item or paragraph around `index`; for plain text, the line."""
    for tag in ENCLOSING:
        start = page.rfind(f"<{tag}", 0, index)
        if start >= 0 and start > page.rfind(f"</{tag}>", 0, index):
            end = page.find(f"</{tag}>", index)
            return page[start : end if end >= 0 else len(page)]
    start = page.rfind("\n", 0, index) + 1
    end = page.find("\n", index)
    return page[start : end if end >= 0 else len(page)]


def leaks(page: str, answers: dict, *, statement_allowed: bool = False) -> list[str]:
    """Everything in `page` that gives away the participant's stance."""
    page = html.unescape(page)
    found = []
    if not statement_allowed:
        found += [text for text in (STATEMENT, STATEMENT_EN, SECOND) if text in page]
    found += [form for form in answer_forms(answers) if form in page]
    words = re.compile(r"\b(" + "|".join(map(re.escape, side_words())) + r")\b", re.IGNORECASE)
    for match in re.finditer(re.escape(RESIDENT_NAME), page):
        row = around(page, match.start())
        found += [f"{word!r} next to the name in {row[:200]!r}" for word in words.findall(row)]
    return found


def content_of(response) -> str:
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    if response.get("Content-Type", "").startswith("application/pdf"):
        reader = PdfReader(io.BytesIO(body))
        return "\n".join(page.extract_text() for page in reader.pages)
    return body.decode("utf-8", errors="replace")


def test_the_checker_catches_a_planted_leak(known):
    # Without this, every "no leak" below could be a checker that finds nothing.
    answers = known.answers
    assert leaks(f"<tr><td>{RESIDENT_NAME}</td><td>Oneens</td></tr>", answers)
    assert leaks(f"<li>{RESIDENT_NAME} · disagree</li>", answers)
    assert leaks(f"naam,standpunt\n{RESIDENT_NAME},oneens\n", answers)
    assert leaks(f"<p>Stelling: {STATEMENT}</p>", answers)
    assert leaks(f"<pre>{json.dumps(answers)}</pre>", answers)
    assert leaks(html.escape(f"<td>{RESIDENT_NAME} {STATEMENT_EN}</td>"), answers)
    # …and leaves alone what is allowed: the name alone, counts elsewhere on the page.
    assert not leaks(
        f"<tr><td>{RESIDENT_NAME}</td><td>Bevestigd</td></tr><tr><td>Oneens</td><td>3</td></tr>",
        answers,
    )
    assert not leaks(f"<p>{STATEMENT}</p>", answers, statement_allowed=True)


def test_the_markers_are_real(client, known):
    # The statement is text the templates render (on the public gesprek page)…
    page = client.get(known.gesprek.get_absolute_url()).content.decode()
    assert STATEMENT in html.unescape(page)
    # …and there is a stance to leak.
    stored = Standpunt.objects.get(aanmelding=known.aanmelding)
    assert stored.answers == known.answers
    assert stored.side == SIDE


# --- Every staff page ---------------------------------------------------------------------------


def owner_of(staff_url) -> str:
    return OWNER_BY_URL.get(staff_url.full_name, OWNER[staff_url.namespace])


# (staff URL, who opens it): everyone on the staff, or nobody for a page behind a token.
CASES = [
    (staff_url, viewer)
    for staff_url in FILLABLE
    for viewer in ([None] if staff_url.public else STAFF)
]


def open_page(client, url):
    """GET the page (POST when it only takes POST), following redirects to what is shown."""
    response = client.get(url, follow=True)
    if response.status_code == 405:
        response = client.post(url, follow=True)
    return response


@pytest.mark.parametrize(
    ("staff_url", "viewer"), CASES, ids=[f"{u}-{v or 'token'}" for u, v in CASES]
)
def test_no_staff_page_shows_the_stance(known, staff_url, viewer):
    client = Client() if viewer is None else _client_for(known, viewer)

    response = open_page(client, staff_url.url(known))

    assert response.status_code < 500
    if viewer == owner_of(staff_url) or viewer is None:
        # The page was really rendered for someone allowed to see it.
        assert response.status_code not in {403, 404}, response.status_code
        final = response.redirect_chain[-1][0] if response.redirect_chain else ""
        assert reverse("account_login") not in final
    assert leaks(content_of(response), known.answers) == []


def test_the_facilitator_does_see_the_participant_where_the_rows_are_checked(known):
    client = _client_for(known, "facilitator")
    for name in ("werkruimte:gesprek", "werkruimte:day_list", "uitvoering:check_in"):
        response = client.get(reverse(name, args=[known.gesprek.pk]))
        assert response.status_code == 200, name
        assert RESIDENT_NAME in html.unescape(response.content.decode()), name


# --- Staff exports ------------------------------------------------------------------------------


EXPORTS = [
    ("facilitator", "werkruimte:day_list", "gesprek", None),
    *[("national", "dekking:national", None, e) for e in ["gemeenten", "provincies", "trend"]],
    *[("national", "dekking:national", None, e) for e in ["themes", "demand"]],
    *[
        ("coordinator", "dekking:gemeente", "code", e)
        for e in ["wijken", "buurten", "trend", "load", "themes", "demand"]
    ],
    (None, "dekking:open_data_json", None, None),
    (None, "dekking:open_data_csv", None, None),
]


@pytest.mark.parametrize(
    ("viewer", "name", "argument", "export"),
    EXPORTS,
    ids=[f"{name}-{export or 'page'}" for _v, name, _a, export in EXPORTS],
)
def test_no_staff_export_holds_the_stance(known, viewer, name, argument, export):
    args = {"gesprek": [known.gesprek.pk], "code": [known.cast.gemeente_a.code], None: []}
    client = Client() if viewer is None else _client_for(known, viewer)

    response = client.get(reverse(name, args=args[argument]), {"export": export} if export else {})

    assert response.status_code == 200
    assert leaks(content_of(response), known.answers) == []


# --- The admin ----------------------------------------------------------------------------------


REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower)


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=[m._meta.label_lower for m, _a in REGISTERED]
)
def test_no_admin_page_shows_the_stance(client, admin_user, known, model, model_admin):
    client.force_login(admin_user)
    opts = model._meta
    allowed = opts.label_lower in STATEMENT_EDITORS
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")

    pages = [client.get(changelist)]
    if model_admin.search_fields:
        pages.append(client.get(changelist, {"q": RESIDENT_NAME}))
    for obj in model._default_manager.all()[:25]:
        pages.append(
            client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        )

    for response in pages:
        assert response.status_code == 200, (response.request["PATH_INFO"], response.status_code)
        assert leaks(content_of(response), known.answers, statement_allowed=allowed) == []


def test_the_admin_has_no_page_for_stances_at_all():
    assert Standpunt not in admin.site._registry
    # Nor an inline on another model's page that would print them.
    for model_admin in admin.site._registry.values():
        assert all(inline.model is not Standpunt for inline in model_admin.inlines)


def test_the_admin_lists_the_participant_so_their_row_was_checked(client, admin_user, known):
    client.force_login(admin_user)

    page = client.get(reverse("admin:gesprekken_aanmelding_changelist"), {"q": RESIDENT_NAME})
    change = client.get(reverse("admin:gesprekken_aanmelding_change", args=[known.aanmelding.pk]))

    assert RESIDENT_NAME in page.content.decode()
    assert RESIDENT_NAME in change.content.decode()


# --- Every e-mail -------------------------------------------------------------------------------


def queue_every_kind(known, language: str) -> list[Bericht]:
    """One Bericht of every kind the platform sends, about the known participant's gesprek."""
    participant, gesprek = known.aanmelding, known.gesprek
    interesse = InteresseFactory(buurt=gesprek.buurt, language=language)
    now = timezone.now()
    berichten = []
    for kind in emails.KINDS:
        fields = {"aanmelding": participant, "to": participant.email}
        if kind in ("interesse_bevestigen", "uitnodiging"):
            fields = {"interesse": interesse, "to": interesse.email}
        context = {
            "reserve": {"reason": "stance"},
            "plek_aangeboden": {"offer_expires_at": (now + timedelta(hours=12)).isoformat()},
            "gewijzigd": {"previous": {"starts_at": gesprek.starts_at.isoformat()}},
        }.get(kind, {})
        berichten.append(
            Bericht.objects.create(
                key=f"{kind}:{language}",
                kind=kind,
                language=language,
                gesprek=gesprek,
                context=context,
                **fields,
            )
        )
    facilitator = known.cast.facilitator
    for kind in emails.STAFF_KINDS:
        context = {"user_id": facilitator.pk, "days": 1}
        if kind == "digest":
            context.update(
                since=(now - timedelta(days=1)).isoformat(),
                until=now.isoformat(),
                gesprekken=[{"id": gesprek.pk, "new": 4, "cancelled": 0}],
            )
        berichten.append(
            Bericht.objects.create(
                key=f"{kind}:{language}",
                kind=kind,
                to=facilitator.email,
                language=language,
                gesprek=gesprek,
                context=context,
            )
        )
    return berichten


def every_part(message) -> str:
    parts = [message.subject, message.body]
    parts += [content for content, _type in getattr(message, "alternatives", [])]
    for attachment in message.attachments:
        content = getattr(attachment, "get_payload", None)
        parts.append(str(content() if content else attachment))
    return "\n".join(str(part) for part in parts)


@pytest.mark.parametrize("language", ["nl", "en"])
def test_no_email_holds_the_stance(known, language):
    berichten = queue_every_kind(known, language)
    assert {b.kind for b in berichten} == set(emails.KINDS) | set(emails.STAFF_KINDS)

    for bericht in berichten:
        message = emails.render(bericht)
        assert leaks(every_part(message), known.answers) == [], bericht.kind
    # And as they leave through the outbox: whatever was actually sent.
    mail.outbox.clear()
    results = {bericht.kind: outbox.deliver(bericht.pk) for bericht in berichten}
    assert "sent" in results.values()
    assert mail.outbox, results
    for message in mail.outbox:
        assert leaks(every_part(message), known.answers) == [], message.subject
    # The participant's own mails did reach them: their name was there to check around.
    assert any(RESIDENT_NAME in every_part(m) for m in mail.outbox)


def test_no_mail_queued_by_the_services_holds_the_stance(known, django_capture_on_commit_callbacks):
    statement = known.statements[0]
    with django_capture_on_commit_callbacks(execute=True):
        services.sign_up(
            gesprek=known.gesprek,
            name="Nieuwe buur",
            email="nieuw@example.org",
            postcode="3511AB",
            language="nl",
            stance={statement.pk: "oneens"},
            stance_consent=True,
            agreements_accepted=True,
        )
        services.change_gesprek(gesprek=known.gesprek, place="Buurthuis De Nieuwe Plek")

    assert mail.outbox
    for message in mail.outbox:
        assert leaks(every_part(message), known.answers) == [], message.subject
        assert STATEMENT not in every_part(message)


# --- Stored only with its own consent ------------------------------------------------------------


@pytest.fixture
def open_gesprek(buurt):
    thema = Thema.objects.create(name="Groen")
    statement = Stelling.objects.create(thema=thema, text="Meer bomen.")
    return GesprekFactory(buurt=buurt, thema=thema), statement


def sign_up_with(gesprek, statement, **kwargs):
    return services.sign_up(
        gesprek=gesprek,
        name="Fatima",
        email="fatima@example.org",
        postcode="3511AB",
        language="nl",
        stance={statement.pk: "eens"},
        **kwargs,
    )


def test_the_service_drops_the_answers_without_their_consent(open_gesprek):
    gesprek, statement = open_gesprek

    aanmelding = sign_up_with(gesprek, statement, stance_consent=False)

    assert aanmelding.pk
    assert not Standpunt.objects.exists()


def test_the_service_keeps_the_answers_with_their_consent(open_gesprek):
    gesprek, statement = open_gesprek

    aanmelding = sign_up_with(gesprek, statement, stance_consent=True)

    standpunt = Standpunt.objects.get()
    assert standpunt.aanmelding == aanmelding
    assert standpunt.answers == {str(statement.pk): "eens"}
    assert standpunt.consent_at == aanmelding.consent_at


def test_the_service_keeps_no_answer_to_a_statement_of_another_theme(open_gesprek):
    gesprek, _statement = open_gesprek
    elsewhere = Stelling.objects.create(thema=Thema.objects.create(name="Elders"), text="x")

    sign_up_with(gesprek, elsewhere, stance_consent=True)

    assert not Standpunt.objects.exists()


def test_the_privacy_tick_alone_is_not_consent_for_the_answers(open_gesprek):
    gesprek, statement = open_gesprek
    data = sign_up_data(**{f"stelling_{statement.pk}": "eens"})

    form = SignUpForm(data, stellingen=[statement])

    assert data["consent"] == "on"
    assert not form.is_valid()
    assert list(form.errors) == ["stance_consent"]
    assert form.cleaned_data["stance"] == {}


def test_the_form_passes_the_answers_on_only_with_their_tick(open_gesprek):
    gesprek, statement = open_gesprek
    data = sign_up_data(stance_consent="on", **{f"stelling_{statement.pk}": "oneens"})

    form = SignUpForm(data, stellingen=[statement])

    assert form.is_valid(), form.errors
    assert form.cleaned_data["stance"] == {statement.pk: "oneens"}


def test_signing_up_without_the_tick_stores_no_opinion(client, open_gesprek):
    gesprek, statement = open_gesprek
    url = reverse("gesprekken:sign_up", args=[gesprek.pk])

    refused = client.post(url, sign_up_data(**{f"stelling_{statement.pk}": "eens"}))
    accepted = client.post(url, sign_up_data(stance_consent="on"))

    assert refused.status_code == 400
    assert accepted.status_code == 302
    assert not Standpunt.objects.exists()
