"""Role × URL × gemeente: every staff URL, found in the URL resolver, for every role.

Staff URLs are all patterns under the namespaces in STAFF_NAMESPACES. For each one the
test builds the URL for objects in gemeente A (a gesprek led by cast.facilitator with one
resident, an invitation, a facilitator profile) and checks:

- anonymous visitors are sent to the login page (or 405 for a method the view refuses);
- staff from gemeente B (outsider_facilitator, outsider_coordinator) and logged-in users
  without a role get 404 on every URL about an object in A, by GET and by POST; on pages
  without an object they never see A's gesprek or its resident;
- coordinators (of A, and national) never see the resident's name or e-mail address;
- the owner (the facilitator leading it, or A's coordinator) does get through, so the 404s
  above are not an accident of a wrong URL;
- links with a secret token (an invitation, a calendar feed, a resident's manage link)
  open only with their own token.

A new staff URL whose keyword arguments this file cannot fill makes
test_every_staff_url_can_be_filled fail: add its arguments to URL_KWARGS or KWARGS.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from facilitators.models import Uitnodiging
from gesprekken.incidents import email_digest, email_hint
from gesprekken.models import Blokkade, Incident
from tests.facilitators.factories import UserFactory
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, InteresseFactory

STAFF_NAMESPACES = ("werkruimte", "uitvoering", "coordinatie", "dekking")
# Pages in those namespaces that are public on purpose (no login, no personal data).
PUBLIC_PAGES = {"dekking:public", "dekking:open_data_json", "dekking:open_data_csv"}

# Who must get through to a namespace's pages about an object in gemeente A.
OWNER = {
    "werkruimte": "facilitator",
    "uitvoering": "facilitator",
    "coordinatie": "coordinator",
    "dekking": "coordinator",
}
# Pages only a national coordinator opens.
OWNER_BY_URL = {"dekking:national": "national"}
OUTSIDERS = ["outsider_facilitator", "outsider_coordinator", "no_role"]

# Markers of gemeente A's gesprek that no outsider may ever see.
SECRET_STREET = "Geheimstraat"
RESIDENT_NAME = "Resident Verborgen"
RESIDENT_EMAIL = "resident.verborgen@example.org"


# --- How to fill the URLs ------------------------------------------------------------------

# Per URL name: its keyword arguments, for objects in gemeente A.
URL_KWARGS = {
    "coordinatie:deactivate": {"pk": lambda w: w.cast.co_facilitator.facilitator.pk},
    "coordinatie:erase": {"pk": lambda w: w.cast.co_facilitator.facilitator.pk},
    "coordinatie:revoke": {"pk": lambda w: w.uitnodiging.pk},
    "coordinatie:accept": {
        "pk": lambda w: w.uitnodiging.pk,
        "token": lambda w: w.uitnodiging.token,
    },
    "coordinatie:incident": {"pk": lambda w: w.incident.pk},
    "coordinatie:lift_block": {"pk": lambda w: w.blokkade.pk},
}
# Per namespace, by argument name: anything not listed per URL above.
_GESPREK = {
    "pk": lambda w: w.gesprek.pk,
    "gesprek_pk": lambda w: w.gesprek.pk,
    "aanmelding_pk": lambda w: w.aanmelding.pk,
    "code": lambda w: w.cast.gemeente_a.code,
}
KWARGS = {
    "werkruimte": _GESPREK,
    "uitvoering": {
        **_GESPREK,
        # The personal calendar feed (a secret token, no login).
        "token": lambda w: w.cast.facilitator.facilitator.calendar_token,
        "user_pk": lambda w: w.cast.facilitator.pk,
    },
    "coordinatie": {"code": lambda w: w.cast.gemeente_a.code},
    "dekking": {"code": lambda w: w.cast.gemeente_a.code},
}
# A URL with one of these arguments is opened by its secret, without logging in.
TOKEN_KWARGS = {"token"}


@dataclass(frozen=True)
class StaffUrl:
    namespace: str
    name: str | None
    kwargs: tuple[str, ...]
    route: str

    @property
    def full_name(self) -> str:
        return f"{self.namespace}:{self.name}"

    @property
    def public(self) -> bool:
        return bool(TOKEN_KWARGS & set(self.kwargs))

    def fillers(self) -> dict | None:
        per_url = URL_KWARGS.get(self.full_name, {})
        per_namespace = KWARGS.get(self.namespace, {})
        fillers = {}
        for kwarg in self.kwargs:
            filler = per_url.get(kwarg) or per_namespace.get(kwarg)
            if filler is None:
                return None
            fillers[kwarg] = filler
        return fillers

    def url(self, world, **replace) -> str:
        values = {kwarg: filler(world) for kwarg, filler in self.fillers().items()}
        values.update(replace)
        return reverse(self.full_name, kwargs=values)

    def __str__(self):
        return self.full_name


def _walk(patterns, namespace, prefix_kwargs=(), route=""):
    for pattern in patterns:
        kwargs = prefix_kwargs + tuple(pattern.pattern.regex.groupindex)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, namespace, kwargs, route + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield StaffUrl(namespace, pattern.name, kwargs, route + str(pattern.pattern))


def staff_urls() -> list[StaffUrl]:
    resolver = get_resolver()
    found = []
    for namespace in STAFF_NAMESPACES:
        if namespace in resolver.namespace_dict:
            _prefix, sub_resolver = resolver.namespace_dict[namespace]
            found.extend(_walk(sub_resolver.url_patterns, namespace))
    return found


STAFF_URLS = staff_urls()
FILLABLE = [url for url in STAFF_URLS if url.name and url.fillers() is not None]
LOGGED_IN = [url for url in FILLABLE if not url.public and url.full_name not in PUBLIC_PAGES]
WITH_OBJECT = [url for url in LOGGED_IN if url.kwargs]
WITHOUT_OBJECT = [url for url in LOGGED_IN if not url.kwargs]
PUBLIC = [url for url in FILLABLE if url.public]


@pytest.fixture
def world(cast):
    """One gesprek in gemeente A with a resident; an invitation to A; an incident about the
    resident and a block of their address in A."""
    gesprek = GesprekFactory(
        buurt=cast.buurt_a,
        facilitator=cast.facilitator,
        co_facilitator=cast.co_facilitator,
        street=SECRET_STREET,
        place=f"Buurthuis {SECRET_STREET}",
    )
    aanmelding = AanmeldingFactory(gesprek=gesprek, name=RESIDENT_NAME, email=RESIDENT_EMAIL)
    uitnodiging = Uitnodiging.objects.create(
        email="invited@example.org", invited_by=cast.coordinator
    )
    uitnodiging.gemeenten.set([cast.gemeente_a])
    # An incident about the resident, and their address on A's block list.
    incident = Incident.objects.create(
        gesprek=gesprek,
        aanmelding=aanmelding,
        category=Incident.Category.VERSTORING,
        text="Bleef door anderen heen praten.",
        reported_by=cast.facilitator,
    )
    blokkade = Blokkade.objects.create(
        gemeente=cast.gemeente_a,
        email_digest=email_digest(RESIDENT_EMAIL),
        email_hint=email_hint(RESIDENT_EMAIL),
        reason="Verstoring",
        expires_on=date.today() + timedelta(days=30),
        incident=incident,
    )
    return SimpleNamespace(
        cast=cast,
        gesprek=gesprek,
        aanmelding=aanmelding,
        uitnodiging=uitnodiging,
        incident=incident,
        blokkade=blokkade,
        no_role=UserFactory(username="no_role", totp=True),
    )


def _client_for(world, role) -> Client:
    client = Client()
    if role is not None:
        user = world.no_role if role == "no_role" else getattr(world.cast, role)
        client.force_login(user)
    return client


def _responses(client, url):
    return {"GET": client.get(url), "POST": client.post(url)}


# --- The matrix itself -----------------------------------------------------------------------


def test_the_matrix_finds_the_staff_urls():
    names = {url.full_name for url in STAFF_URLS}
    assert {"coordinatie:index", "coordinatie:invite", "coordinatie:deactivate"} <= names


@pytest.mark.parametrize("name", sorted(PUBLIC_PAGES))
def test_the_public_pages_among_them_show_no_personal_data(world, name):
    if name not in {url.full_name for url in STAFF_URLS}:
        pytest.skip(f"{name} is not routed")
    page = Client().get(reverse(name)).content.decode()
    for secret in (SECRET_STREET, RESIDENT_NAME, RESIDENT_EMAIL):
        assert secret not in page


def test_every_staff_url_can_be_filled():
    unnamed = [url.route for url in STAFF_URLS if not url.name]
    unfilled = [
        f"{url.full_name} ({', '.join(url.kwargs)})"
        for url in STAFF_URLS
        if url.name and url.fillers() is None
    ]
    assert not unnamed, f"give these staff URLs a name: {unnamed}"
    assert not unfilled, (
        "tests/test_access_matrix.py cannot build these staff URLs for an object in "
        f"gemeente A; add their arguments to URL_KWARGS or KWARGS: {unfilled}"
    )


@pytest.mark.parametrize("staff_url", LOGGED_IN, ids=str)
def test_anonymous_visitors_are_sent_to_log_in(world, staff_url):
    url = staff_url.url(world)
    responses = _responses(_client_for(world, None), url)
    login = reverse("account_login")
    for method, response in responses.items():
        assert response.status_code in {302, 405}, (method, response.status_code)
        if response.status_code == 302:
            assert response.url.startswith(f"{login}?next="), (method, response.url)
    assert any(r.status_code == 302 for r in responses.values())


@pytest.mark.parametrize("role", OUTSIDERS)
@pytest.mark.parametrize("staff_url", WITH_OBJECT, ids=str)
def test_outsiders_get_404_for_everything_in_another_gemeente(world, staff_url, role):
    responses = _responses(_client_for(world, role), staff_url.url(world))
    statuses = {method: response.status_code for method, response in responses.items()}
    assert set(statuses.values()) <= {404, 405}, statuses
    assert 404 in statuses.values(), statuses


@pytest.mark.parametrize("role", OUTSIDERS)
@pytest.mark.parametrize("staff_url", WITHOUT_OBJECT, ids=str)
def test_outsiders_never_see_another_gemeentes_gesprek_or_residents(world, staff_url, role):
    response = _client_for(world, role).get(staff_url.url(world))
    assert response.status_code in {200, 302, 404, 405}
    page = response.content.decode()
    for secret in (SECRET_STREET, RESIDENT_NAME, RESIDENT_EMAIL):
        assert secret not in page


@pytest.mark.parametrize("role", ["coordinator", "national"])
@pytest.mark.parametrize("staff_url", LOGGED_IN, ids=str)
def test_coordinators_never_see_a_residents_personal_data(world, staff_url, role):
    # Coordinators see aggregates; names and addresses only reach the gesprek's facilitators.
    response = _client_for(world, role).get(staff_url.url(world))
    assert response.status_code < 500
    page = response.content.decode()
    assert RESIDENT_NAME not in page
    assert RESIDENT_EMAIL not in page


def test_the_facilitator_does_see_the_resident_somewhere(world):
    # The check above means something only if the markers appear where they belong.
    pages = [url for url in LOGGED_IN if OWNER[url.namespace] == "facilitator"]
    if not pages:
        pytest.skip("no workspace URLs yet")
    client = _client_for(world, "facilitator")
    assert any(RESIDENT_NAME in client.get(url.url(world)).content.decode() for url in pages)


@pytest.mark.parametrize("staff_url", WITH_OBJECT + WITHOUT_OBJECT, ids=str)
def test_the_owner_gets_through(world, staff_url):
    # Without this, every 404 above could come from a wrongly built URL.
    owner = OWNER_BY_URL.get(staff_url.full_name, OWNER[staff_url.namespace])
    client = _client_for(world, owner)
    url = staff_url.url(world)
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url)
    assert response.status_code not in {403, 404}, response.status_code
    assert response.status_code < 500


@pytest.mark.parametrize("staff_url", PUBLIC, ids=str)
def test_secret_links_open_only_with_their_own_token(world, staff_url):
    client = _client_for(world, None)
    right = staff_url.url(world)
    token = staff_url.fillers()["token"](world)
    wrong = staff_url.url(world, token="x" * len(token))
    for response in _responses(client, wrong).values():
        assert response.status_code in {404, 405}
    assert client.get(right).status_code not in {403, 404}


# --- Residents' manage links ----------------------------------------------------------------


def _resident_token_urls():
    resolver = get_resolver()
    _prefix, sub_resolver = resolver.namespace_dict["gesprekken"]
    return [url for url in _walk(sub_resolver.url_patterns, "gesprekken") if "token" in url.kwargs]


RESIDENT_TOKEN_URLS = _resident_token_urls()


def test_the_matrix_finds_the_residents_token_urls():
    assert "gesprekken:manage" in {url.full_name for url in RESIDENT_TOKEN_URLS}


@pytest.mark.parametrize("resident_url", RESIDENT_TOKEN_URLS, ids=str)
def test_a_residents_token_opens_only_their_own_registration(world, resident_url, client):
    if resident_url.name.startswith("interest"):
        mine, other = InteresseFactory(buurt=world.cast.buurt_a), InteresseFactory()
    else:
        mine = world.aanmelding
        other = AanmeldingFactory(gesprek=world.gesprek)
    assert set(resident_url.kwargs) == {"pk", "token"}
    for pk, token in ((mine.pk, other.token), (other.pk, mine.token), (mine.pk, "x" * 43)):
        url = reverse(resident_url.full_name, kwargs={"pk": pk, "token": token})
        for response in _responses(client, url).values():
            assert response.status_code in {404, 405}, (url, response.status_code)
    own = reverse(resident_url.full_name, kwargs={"pk": mine.pk, "token": mine.token})
    response = client.get(own)
    if response.status_code == 405:
        response = client.post(own)
    assert response.status_code not in {403, 404}
