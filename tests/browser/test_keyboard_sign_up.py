"""The sign-up journey with the keyboard only (WCAG 2.1.1 Keyboard, 2.4.7 Focus Visible).

From the home page to a confirmed seat with Tab, Shift+Tab, typing, Space and Enter: no
clicks and no `fill`. Every element that receives focus on the way shows it (an outline
or a box-shadow). Only the link from the e-mail is opened by address, as a mail program
would.
"""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from gesprekken.models import Aanmelding
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory
from tests.gesprekken.pages import cache_table, empty_cache  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_cache"),
]

# Enough steps to cross the header, the form and the footer of any resident page.
MAX_TABS = 40

FOCUSED = """() => {
    const element = document.activeElement;
    if (!element || element === document.body) return null;
    const style = getComputedStyle(element);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    const shadow = style.boxShadow !== "none" && style.boxShadow !== "";
    return {
        tag: element.tagName.toLowerCase(),
        id: element.id,
        text: (element.innerText || element.value || "").trim().slice(0, 60),
        href: element.getAttribute("href") || "",
        visible: outline || shadow,
        outline: `${style.outlineStyle} ${style.outlineWidth}`,
        shadow: style.boxShadow,
    };
}"""


def focused(page) -> dict:
    """The focused element, after checking that its focus is visible."""
    element = page.evaluate(FOCUSED)
    assert element is not None, "focus is lost (on the body)"
    assert element["visible"], f"focus is not visible on {element}"
    return element


def tab_to(page, matches, key: str = "Tab") -> dict:
    """Press Tab (or Shift+Tab) until the focused element matches; check focus on the way."""
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        element = focused(page)
        if matches(element):
            return element
    raise AssertionError(f"{key} never reached the element; last focused: {element}")


def by_id(element_id: str):
    return lambda element: element["id"] == element_id


def by_text(text: str):
    return lambda element: element["text"] == text


def test_a_resident_signs_up_and_confirms_with_the_keyboard_only(page, utrecht):
    gesprek = GesprekFactory(buurt=utrecht.buurten[0], place="Buurthuis De Pijl")
    AanmeldingFactory(gesprek=gesprek)
    page.goto("/")

    # The first Tab lands on the skip link; Enter jumps over the header into the content.
    skip = tab_to(page, lambda element: True)
    assert skip["href"] == "#main", skip
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # The postcode search: type, and Enter submits.
    tab_to(page, by_id("id_postcode"))
    page.keyboard.type("3511 AB")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("3511 AB")

    # Open the gesprek from the results.
    tab_to(page, lambda element: element["href"].startswith(gesprek.get_absolute_url()))
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Wijk C")
    expect(page.locator("#id_postcode")).to_have_value("3511 AB")

    # The sign-up form, field by field.
    tab_to(page, by_id("id_name"))
    page.keyboard.type("Zoë Ğül")
    tab_to(page, by_id("id_email"))
    page.keyboard.type("zoe@example.org")
    tab_to(page, by_id("id_consent"))
    page.keyboard.press("Space")
    expect(page.locator("#id_consent")).to_be_checked()
    submit = tab_to(page, by_text("Aanmelden"))
    assert submit["tag"] == "button", submit
    # Back and forth: Shift+Tab returns to the consent, Tab to the button again.
    tab_to(page, lambda element: element["tag"] != "a", key="Shift+Tab")
    expect(page.locator("#id_consent")).to_be_focused()
    expect(page.locator("#id_consent")).to_be_checked()
    tab_to(page, by_text("Aanmelden"))
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text("Bijna klaar: kijk in je e-mail")
    aanmelding = Aanmelding.objects.get(email="zoe@example.org")
    assert aanmelding.status == Aanmelding.Status.ONBEVESTIGD
    assert aanmelding.name == "Zoë Ğül"
    assert aanmelding.postcode.replace(" ", "") == "3511AB"

    # The link from the e-mail, then the one button, pressed with Enter.
    (message,) = [m for m in mail.outbox if m.to == ["zoe@example.org"]]
    link = re.search(r"https?://[^/\s]+(/aanmelding/\d+/[\w-]+/bevestig/)", message.body)
    assert link, message.body
    page.goto(link.group(1))
    expect(page.locator("h1")).to_have_text("Bevestig je plek")
    button = tab_to(page, by_text("Bevestig mijn plek"))
    assert button["tag"] == "button", button
    page.keyboard.press("Enter")

    expect(page.locator("main")).to_contain_text("Dank je! Je plek is bevestigd.")
    aanmelding.refresh_from_db()
    assert aanmelding.status == Aanmelding.Status.BEVESTIGD
