"""Accessibility of every public and resident page: axe-core in headless Chromium.

Every page a resident can reach, in Dutch and in English, including the error states of
the forms, must have zero WCAG 2.1 A and AA violations that axe-core can detect. The forms
move focus to their error summary after a failed submit and tell browsers what to fill
in (`autocomplete`). What axe cannot judge is listed in docs/toegankelijkheid.md.

The staff workspace and the dashboards are checked in test_running_a_gesprek.py and
test_coverage.py. One browser context serves the axe tests; each clears its cookies and
sets the language cookie. The journey without JavaScript has a context of its own.
"""

from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from gesprekken.models import Aanmelding
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, InteresseFactory
from tests.gesprekken.pages import cache_table, empty_cache  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_cache"),
]

WCAG_21_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    # Only the violations come back: passes and inapplicable rules make runs slow.
    "resultTypes": ["violations"],
}
LANGUAGES = ["nl", "en"]
AXE = Axe()


@pytest.fixture(scope="module")
def context(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    # axe-core comes with every page, instead of being sent over for every check.
    context.add_init_script(AXE.axe_script)
    yield context
    context.close()


@pytest.fixture(params=LANGUAGES)
def tab(request, context, live_server):
    """A fresh page in the module's context, the site in the language of the parameter."""
    language = request.param
    context.clear_cookies()
    context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    browser_page = context.new_page()
    browser_page.language = language
    with translation.override(language):
        yield browser_page
    browser_page.close()


@pytest.fixture
def scene(utrecht):
    """An open gesprek (Wijk C), a full one (Hooch Boulandt), a buurt without (Oog in Al),
    and a registration in every state a resident's personal page can show."""
    wijk_c, hooch_boulandt, oog_in_al = utrecht.buurten
    now = timezone.now()
    open_gesprek = GesprekFactory(buurt=wijk_c, place="Buurthuis De Pijl", max_participants=4)
    confirmed = AanmeldingFactory(gesprek=open_gesprek)
    unconfirmed = AanmeldingFactory(
        gesprek=open_gesprek,
        status=Aanmelding.Status.ONBEVESTIGD,
        confirmed_at=None,
        hold_expires_at=now + timedelta(minutes=30),
    )
    offered = AanmeldingFactory(
        gesprek=open_gesprek,
        status=Aanmelding.Status.AANGEBODEN,
        confirmed_at=None,
        offer_expires_at=now + timedelta(hours=12),
    )
    full_gesprek = GesprekFactory(buurt=hooch_boulandt, place="Bibliotheek", max_participants=1)
    AanmeldingFactory(gesprek=full_gesprek)
    waiting = AanmeldingFactory(
        gesprek=full_gesprek, status=Aanmelding.Status.WACHTLIJST, confirmed_at=now
    )
    interesse = InteresseFactory(buurt=oog_in_al)
    return SimpleNamespace(
        utrecht=utrecht,
        open_gesprek=open_gesprek,
        full_gesprek=full_gesprek,
        confirmed=confirmed,
        unconfirmed=unconfirmed,
        offered=offered,
        waiting=waiting,
        interesse=interesse,
        buurt_with=wijk_c,
        buurt_without=oog_in_al,
    )


def personal(name: str, aanmelding: Aanmelding) -> str:
    return reverse(f"gesprekken:{name}", args=[aanmelding.pk, aanmelding.token])


def axe_violations(page, label: str) -> list[str]:
    """One line per WCAG 2.1 A/AA violation axe-core finds on the page as it is now."""
    results = page.evaluate("options => axe.run(document, options)", WCAG_21_AA)
    found = []
    for violation in results["violations"]:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        found.append(f"{label}: {violation['id']} ({violation['impact']}) at {targets}")
    return found


def visit(page, path: str, status: int = 200) -> None:
    response = page.goto(path)
    assert response.status == status, f"{path}: {response.status}, expected {status}"
    # No redirect (a one-button page that does not apply sends you to your manage page).
    assert urlsplit(page.url).path == urlsplit(path).path, f"{path} went to {page.url}"
    expect(page.locator("html")).to_have_attribute("lang", page.language)
    expect(page.locator("h1")).to_have_count(1)


def test_every_public_and_resident_page_passes_axe(tab, scene):
    """Each page as a resident finds it: zero WCAG 2.1 A and AA violations."""
    utrecht = scene.utrecht
    pages = [
        ("home", "/", 200),
        ("province", reverse("gemeenten:provincie", args=[utrecht.provincie.code]), 200),
        ("gemeente", utrecht.gemeente.get_absolute_url(), 200),
        ("buurt with gesprekken", scene.buurt_with.get_absolute_url(), 200),
        ("buurt without gesprekken", scene.buurt_without.get_absolute_url(), 200),
        ("postcode found", "/postcode/?postcode=3511+AB", 200),
        ("postcode unknown", "/postcode/?postcode=9999+ZZ", 404),
        ("postcode malformed", "/postcode/?postcode=351", 400),
        ("gesprek open", scene.open_gesprek.get_absolute_url(), 200),
        ("gesprek full", scene.full_gesprek.get_absolute_url(), 200),
        ("signed up", reverse("gesprekken:signed_up", args=[scene.open_gesprek.pk]), 200),
        ("manage confirmed", personal("manage", scene.confirmed), 200),
        ("manage unconfirmed", personal("manage", scene.unconfirmed), 200),
        ("manage waiting list", personal("manage", scene.waiting), 200),
        ("manage offered seat", personal("manage", scene.offered), 200),
        ("confirm", personal("confirm", scene.unconfirmed), 200),
        ("claim", personal("claim", scene.offered), 200),
        ("cancel", personal("cancel", scene.confirmed), 200),
        ("erase", personal("erase", scene.confirmed), 200),
        ("erased", reverse("gesprekken:erased"), 200),
        ("resend link", reverse("gesprekken:resend"), 200),
        (
            "interest confirm",
            reverse(
                "gesprekken:interest_confirm", args=[scene.interesse.pk, scene.interesse.token]
            ),
            200,
        ),
        ("privacy", reverse("gesprekken:privacy"), 200),
        ("404", "/bestaat-niet/", 404),
        ("404 wrong token", f"/aanmelding/{scene.confirmed.pk}/fout/", 404),
    ]
    violations = []
    for label, path, status in pages:
        visit(tab, path, status)
        if label == "gesprek full":
            # Full: the form puts you on the waiting list, and says so.
            waiting_list = gettext("Put me on the waiting list")
            expect(tab.locator("#sign-up-title")).to_have_text(waiting_list)
            expect(tab.locator("main form button[type=submit]")).to_have_text(waiting_list)
        violations += axe_violations(tab, f"{tab.language} {label} {path}")

    # The page after a one-button action carries a status message; check it too.
    visit(tab, personal("confirm", scene.unconfirmed))
    tab.get_by_role("button", name=gettext("Confirm my seat")).click()
    expect(tab.locator("main [role=status]")).to_contain_text(
        gettext("Thank you! Your seat is confirmed.")
    )
    violations += axe_violations(tab, f"{tab.language} manage after confirming")

    assert violations == [], "\n".join(violations)


def assert_error_summary_has_focus(page) -> None:
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    # Each error in the summary links to its field.
    for link in summary.locator("a").all():
        target = link.get_attribute("href")
        assert target.startswith("#id_"), target
        expect(page.locator(target)).to_have_count(1)


def test_forms_fill_in_automatically_and_their_errors_take_focus(tab, scene):
    """Sign-up, interest and resend forms: autocomplete tokens, and after an empty submit
    an error summary that has focus, with no axe violations in that error state."""
    violations = []
    submit = "main form[method=post] button[type=submit]"

    # Sign up for a gesprek.
    visit(tab, scene.open_gesprek.get_absolute_url())
    form = tab.locator(
        f'form[action="{reverse("gesprekken:sign_up", args=[scene.open_gesprek.pk])}"]'
    )
    for field, token in [
        ("name", "name"),
        ("email", "email"),
        ("postcode", "postal-code"),
        ("phone", "tel"),
    ]:
        expect(form.locator(f"[name={field}]")).to_have_attribute("autocomplete", token)
    expect(tab.locator("#error-summary")).to_have_count(0)
    form.locator("button[type=submit]").click()
    tab.wait_for_load_state("load")
    assert_error_summary_has_focus(tab)
    expect(form.locator("#id_name")).to_have_attribute("aria-invalid", "true")
    violations += axe_violations(tab, f"{tab.language} sign-up errors")

    # 'I want a conversation in my street' on a buurt without gesprekken.
    visit(tab, scene.buurt_without.get_absolute_url())
    form = tab.locator("#interesse form")
    expect(form.locator("[name=street]")).to_have_attribute("autocomplete", "address-line1")
    expect(form.locator("[name=email]")).to_have_attribute("autocomplete", "email")
    form.locator("button[type=submit]").click()
    tab.wait_for_load_state("load")
    assert_error_summary_has_focus(tab)
    violations += axe_violations(tab, f"{tab.language} interest errors")

    # Lost your link?
    visit(tab, reverse("gesprekken:resend"))
    expect(tab.locator("main [name=email]")).to_have_attribute("autocomplete", "email")
    tab.locator(submit).click()
    tab.wait_for_load_state("load")
    assert_error_summary_has_focus(tab)
    violations += axe_violations(tab, f"{tab.language} resend errors")
    tab.locator("main [name=email]").fill("iemand@example.org")
    tab.locator(submit).click()
    expect(tab.locator("main [role=status]")).to_be_visible()
    violations += axe_violations(tab, f"{tab.language} resend sent")

    # The postcode search.
    visit(tab, "/")
    expect(tab.locator("#id_postcode")).to_have_attribute("autocomplete", "postal-code")

    assert violations == [], "\n".join(violations)


def test_a_resident_signs_up_without_javascript(chromium, live_server, scene):
    """Everything a resident does works with JavaScript off: search, errors, sign up, confirm."""
    context = chromium.new_context(
        base_url=live_server.url, locale="nl-NL", java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/")
        page.locator("#id_postcode").fill("3511 AB")
        page.locator("form.postcode-form button[type=submit]").click()
        expect(page.locator("h1")).to_contain_text("3511 AB")
        page.locator(f'main a[href^="{scene.open_gesprek.get_absolute_url()}"]').click()

        # Without JavaScript the error summary is still the first thing in the form.
        form = page.locator("main form[method=post]")
        form.locator("button[type=submit]").click()
        expect(form.locator("> *:not(input[type=hidden])").first).to_have_id("error-summary")
        form.locator("#id_name").fill("Daan")
        form.locator("#id_email").fill("daan@example.org")
        form.locator("#id_postcode").fill("3511 AB")
        form.locator("#id_consent").check()
        form.locator("button[type=submit]").click()
        expect(page.locator("h1")).to_have_text("Bijna klaar: kijk in je e-mail")

        aanmelding = Aanmelding.objects.get(email="daan@example.org")
        page.goto(personal("confirm", aanmelding))
        page.locator("main form button[type=submit]").click()
        expect(page.locator("main [role=status]")).to_contain_text("Je plek is bevestigd")
        aanmelding.refresh_from_db()
        assert aanmelding.status == Aanmelding.Status.BEVESTIGD
    finally:
        context.close()
