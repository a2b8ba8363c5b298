"""CSRF on every POST: each URL pattern in the resolver, filled with real objects.

Every pattern is POSTed to without a CSRF token, by an anonymous visitor and by a
logged-in coordinator, with `Client(enforce_csrf_checks=True)`: the answer must be 403
and Django's CSRF guard must be the one that refused it (its `django.security.csrf` log
record), never the view. Django's middleware checks every view that is not marked
`csrf_exempt`, so this also proves no view is exempt — except those in CSRF_EXEMPT, which
must then refuse POST altogether.

A new pattern whose keyword arguments this file cannot fill makes
test_every_url_pattern_can_be_filled fail: add its arguments to BY_URL or BY_KWARG.
"""

import logging
from dataclasses import dataclass

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from facilitators.models import Uitnodiging
from gesprekken import effect
from gesprekken.models import Gesprek
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, InteresseFactory
from tests.gesprekken.pages import cache_table, empty_cache  # noqa: F401

# Views that may skip the CSRF check, because they never change anything on POST.
CSRF_EXEMPT: set[str] = set()


@dataclass(frozen=True)
class Pattern:
    name: str  # "namespace:name", or the route when the pattern has no name
    reversible: bool
    kwargs: tuple[str, ...]
    route: str

    def __str__(self):
        return self.name


def _walk(patterns, namespace="", kwargs=(), route=""):
    for pattern in patterns:
        found = kwargs + tuple(pattern.pattern.regex.groupindex)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, inner, found, route + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            if pattern.name:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                yield Pattern(name, True, found, route + str(pattern.pattern))
            else:
                # Admin's unnamed redirects ("<object_id>/" → change, and the catch-all):
                # covered by the named admin patterns around them.
                continue


PATTERNS = sorted(set(_walk(get_resolver().url_patterns)), key=lambda p: p.name)


# --- Filling the keyword arguments with real objects ---------------------------------------

BY_URL = {
    "gesprekken:interest_confirm": {
        "pk": lambda w: w.interesse.pk,
        "token": lambda w: w.interesse.token,
    },
    # The effect survey: a gesprek and the pairing key of one of its registrations.
    "gesprekken:effect_before": {
        "pk": lambda w: w.gesprek.pk,
        "key": lambda w: effect.pairing_key(w.aanmelding),
    },
    "gesprekken:effect_after": {
        "pk": lambda w: w.gesprek.pk,
        "key": lambda w: effect.pairing_key(w.aanmelding),
    },
    "coordinatie:deactivate": {"pk": lambda w: w.cast.co_facilitator.facilitator.pk},
    "coordinatie:erase": {"pk": lambda w: w.cast.co_facilitator.facilitator.pk},
    "coordinatie:revoke": {"pk": lambda w: w.uitnodiging.pk},
    "coordinatie:accept": {
        "pk": lambda w: w.uitnodiging.pk,
        "token": lambda w: w.uitnodiging.token,
    },
    # Incidents and the block list: the CSRF guard answers before the view looks them up.
    "coordinatie:incident": {"pk": lambda w: w.gesprek.pk},
    "coordinatie:lift_block": {"pk": lambda w: w.gesprek.pk},
    "uitvoering:feed": {
        "user_pk": lambda w: w.cast.facilitator.pk,
        "token": lambda w: w.cast.facilitator.facilitator.calendar_token,
    },
    "uitvoering:mark": {"pk": lambda w: w.gesprek.pk, "aanmelding_pk": lambda w: w.aanmelding.pk},
    "account_confirm_email": {"key": lambda w: w.confirmation_key},
    "account_reset_password_from_key": {
        "uidb36": lambda w: user_pk_to_url_str(w.cast.coordinator),
        "key": lambda w: default_token_generator.make_token(w.cast.coordinator),
    },
    "dev_mail": {"name": lambda w: "mail.log"},
    "admin:view_on_site": {
        "content_type_id": lambda w: ContentType.objects.get_for_model(Gesprek).pk,
        "object_id": lambda w: w.gesprek.pk,
    },
    "admin:auth_user_password_change": {"id": lambda w: w.cast.coordinator.pk},
    "admin:app_list": {"app_label": lambda w: "gesprekken"},
}
# By namespace prefix and argument name, for everything not listed above.
BY_KWARG = {
    "gesprekken": {
        "pk": lambda w: w.aanmelding.pk,
        "token": lambda w: w.aanmelding.token,
        "code": lambda w: w.cast.buurt_a.code,
    },
    "werkruimte": {"pk": lambda w: w.gesprek.pk},
    "uitvoering": {"pk": lambda w: w.gesprek.pk},
    "dekking": {"code": lambda w: w.cast.gemeente_a.code},
    "gemeenten": {"code": lambda w: w.cast.gemeente_a.provincie.code},
    "": {"code": lambda w: w.cast.buurt_a.code},
    # Every admin change, history and delete page, on an object of the right kind or not:
    # the CSRF guard answers before the admin looks the object up.
    "admin": {"object_id": lambda w: w.cast.coordinator.pk},
}
# The gesprek pages address a gesprek, not a registration.
GESPREK_PAGES = {"gesprekken:detail", "gesprekken:sign_up", "gesprekken:signed_up"}


def fillers(pattern: Pattern) -> dict | None:
    per_url = BY_URL.get(pattern.name, {})
    namespace = pattern.name.rpartition(":")[0]
    per_kwarg = BY_KWARG.get(namespace, {})
    found = {}
    for kwarg in pattern.kwargs:
        filler = per_url.get(kwarg) or per_kwarg.get(kwarg)
        if pattern.name in GESPREK_PAGES and kwarg == "pk":
            filler = lambda w: w.gesprek.pk  # noqa: E731
        if pattern.name == "gemeente" and kwarg == "code":
            filler = lambda w: w.cast.gemeente_a.code  # noqa: E731
        if filler is None:
            return None
        found[kwarg] = filler
    return found


FILLABLE = [p for p in PATTERNS if fillers(p) is not None]


@pytest.fixture
def world(cast):
    gesprek = GesprekFactory(buurt=cast.buurt_a, facilitator=cast.facilitator)
    aanmelding = AanmeldingFactory(gesprek=gesprek)
    interesse = InteresseFactory(buurt=cast.buurt_a)
    uitnodiging = Uitnodiging.objects.create(
        email="invited@example.org", invited_by=cast.coordinator
    )
    uitnodiging.gemeenten.set([cast.gemeente_a])
    address = EmailAddress.objects.get(user=cast.coordinator)

    class World:
        pass

    w = World()
    w.cast, w.gesprek, w.aanmelding = cast, gesprek, aanmelding
    w.interesse, w.uitnodiging = interesse, uitnodiging
    w.confirmation_key = EmailConfirmationHMAC(address).key
    return w


def url_for(pattern: Pattern, world) -> str:
    kwargs = {kwarg: filler(world) for kwarg, filler in fillers(pattern).items()}
    return reverse(pattern.name, kwargs=kwargs)


# --- The tests -----------------------------------------------------------------------------


def test_the_walk_finds_the_post_views():
    names = {p.name for p in PATTERNS}
    assert {
        "gesprekken:sign_up",
        "gesprekken:interest",
        "gesprekken:resend",
        "gesprekken:language",
        "gesprekken:erase",
        "coordinatie:invite",
        "werkruimte:publish",
        "account_login",
        "admin:login",
    } <= names


def test_every_url_pattern_can_be_filled():
    unfilled = [f"{p.name} {p.kwargs} ({p.route})" for p in PATTERNS if fillers(p) is None]
    assert unfilled == [], "add these arguments to BY_URL or BY_KWARG in this file"


def test_no_view_is_csrf_exempt():
    resolver = get_resolver()
    exempt = []

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif getattr(pattern.callback, "csrf_exempt", False):
                exempt.append(pattern.name or str(pattern.pattern))

    walk(resolver.url_patterns)
    assert set(exempt) <= CSRF_EXEMPT


@pytest.mark.parametrize("as_staff", [False, True], ids=["anonymous", "coordinator"])
def test_every_post_without_a_token_is_refused_by_the_csrf_guard(world, caplog, as_staff):
    refused_otherwise = []
    for pattern in FILLABLE:
        if pattern.name in CSRF_EXEMPT:
            continue
        client = Client(enforce_csrf_checks=True)
        if as_staff:
            client.force_login(world.cast.coordinator)
        url = url_for(pattern, world)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="django.security.csrf"):
            response = client.post(url, {"email": "x@example.org", "language": "en"})
        csrf_records = [r for r in caplog.records if r.name == "django.security.csrf"]
        if response.status_code != 403 or not csrf_records:
            refused_otherwise.append(f"{pattern.name} {url}: {response.status_code}")
    assert refused_otherwise == []


def test_the_same_post_with_a_token_gets_through(world, empty_cache):  # noqa: F811
    """The 403s above come from the missing token, not from something else."""
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("gesprekken:resend"))
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("gesprekken:resend"), {"email": "x@example.org", "csrfmiddlewaretoken": token}
    )
    assert response.status_code in {302, 429}

    url = reverse(
        "gesprekken:language", kwargs={"pk": world.aanmelding.pk, "token": world.aanmelding.token}
    )
    response = client.post(url, {"language": "en", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    world.aanmelding.refresh_from_db()
    assert world.aanmelding.language == "en"
