"""No request from a visitor's browser to another host: every asset is our own.

Each public and resident page is rendered with content, and everything the browser
would fetch by itself (scripts, stylesheets, icons, images, frames, media, fonts and
images in CSS, form targets) must be on the platform's own host. Plain links in the text
(`<a href>` to a municipality's site, the video call) are fine: the resident follows
them by choice. The Content-Security-Policy backs this up in the browser
(test_headers.py); the browser journeys check the real traffic of a few pages.
"""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

from gesprekken.models import Aanmelding
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory

OWN_HOST = "testserver"
# Attributes whose URL the browser fetches without a click.
FETCHED = {
    "script": ["src"],
    "link": ["href"],
    "img": ["src", "srcset"],
    "iframe": ["src"],
    "frame": ["src"],
    "source": ["src", "srcset"],
    "video": ["src", "poster"],
    "audio": ["src"],
    "track": ["src"],
    "embed": ["src"],
    "object": ["data"],
    "form": ["action"],
    "input": ["src", "formaction"],
    "button": ["formaction"],
    "image": ["href", "xlink:href"],
    "use": ["href", "xlink:href"],
    "meta": [],
}
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.IGNORECASE)


class Fetches(HTMLParser):
    """Every URL a browser would fetch on its own while showing the page."""

    def __init__(self, html: str):
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self._in_style = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in FETCHED.get(tag, []):
            value = attributes.get(name)
            if not value:
                continue
            if name.endswith("srcset"):
                for candidate in value.split(","):
                    self.urls.append((f"<{tag} {name}>", candidate.strip().split(" ")[0]))
            else:
                self.urls.append((f"<{tag} {name}>", value))
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            self.urls.append(("<meta refresh>", (attributes.get("content") or "").split("=")[-1]))
        if attributes.get("style"):
            self.urls += [(f"<{tag} style>", url) for url in css_urls(attributes["style"])]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.urls += [("<style>", url) for url in css_urls(data)]


def css_urls(css: str) -> list[str]:
    return [match.group(2) or match.group(4) for match in CSS_URL.finditer(css)]


def is_own(url: str) -> bool:
    url = url.strip()
    if url.startswith("data:"):
        return True
    parts = urlsplit(url)
    # A protocol-relative "//cdn.example/x.js" has a netloc and no scheme.
    own = ("", OWN_HOST, urlsplit(settings.SITE_URL).netloc)
    return parts.netloc in own and parts.scheme in ("", "http", "https")


def foreign(html: str) -> list[tuple[str, str]]:
    return [(where, url) for where, url in Fetches(html).urls if not is_own(url)]


# --- the checker itself must catch what it is for -----------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        '<script src="https://cdn.example.com/jquery.js"></script>',
        '<link rel="stylesheet" href="//fonts.googleapis.com/css?family=Inter">',
        '<link rel="preconnect" href="https://fonts.gstatic.com">',
        '<img src="https://tracker.example/pixel.gif" alt="">',
        '<img srcset="/a.png 1x, https://cdn.example/b.png 2x" alt="">',
        '<iframe src="https://www.youtube.com/embed/x"></iframe>',
        "<style>@font-face { src: url(https://fonts.gstatic.com/s/inter.woff2) }</style>",
        "<style>@import 'https://cdn.example/x.css';</style>",
        "<div style=\"background: url('https://tiles.example/1/2/3.png')\"></div>",
        '<form action="https://forms.example/submit"></form>',
    ],
)
def test_the_checker_catches_third_party_requests(html):
    assert foreign(html) != []


def test_the_checker_allows_own_assets_and_plain_links():
    html = (
        '<link rel="stylesheet" href="/static/css/site.css">'
        '<script src="/static/js/print.js"></script>'
        '<img src="data:image/svg+xml,%3Csvg%3E" alt="">'
        '<a href="https://www.utrecht.nl/">Gemeente Utrecht</a>'
        '<form action="/gesprek/1/aanmelden/"></form>'
    )
    assert foreign(html) == []


# --- every public and resident page ----------------------------------------------------------


@pytest.fixture
def pages(utrecht):
    buurt = utrecht.buurten[0]
    gesprek = GesprekFactory(
        buurt=buurt,
        place="Buurthuis De Kaart, Oudegracht 1",
        route="Langs de gracht",
        accessibility_notes="Drempelvrij",
    )
    online = GesprekFactory(buurt=buurt, format="online", video_url="https://meet.example/abc")
    aanmelding = AanmeldingFactory(gesprek=online)
    waiting = AanmeldingFactory(gesprek=gesprek, status=Aanmelding.Status.WACHTLIJST)
    held = AanmeldingFactory(gesprek=gesprek, status=Aanmelding.Status.ONBEVESTIGD)

    def manage(name, registration):
        return reverse(f"gesprekken:{name}", args=[registration.pk, registration.token])

    return {
        "home": reverse("home"),
        "province": reverse("gemeenten:provincie", args=[utrecht.provincie.code]),
        "gemeente": reverse("gemeente", args=[utrecht.gemeente.code]),
        "buurt": reverse("buurt", args=[buurt.code]),
        "postcode": reverse("postcode") + "?postcode=3511+AB",
        "postcode unknown": reverse("postcode") + "?postcode=9999+ZZ",
        "gesprek": reverse("gesprekken:detail", args=[gesprek.pk]),
        "gesprek online": reverse("gesprekken:detail", args=[online.pk]),
        "signed up": reverse("gesprekken:signed_up", args=[gesprek.pk]),
        "privacy": reverse("gesprekken:privacy"),
        "resend": reverse("gesprekken:resend"),
        "manage": manage("manage", aanmelding),
        "manage waiting": manage("manage", waiting),
        "confirm": manage("confirm", held),
        "cancel": manage("cancel", aanmelding),
        "not found": "/gesprek/999999/",
    }


@pytest.mark.django_db
def test_no_public_or_resident_page_makes_the_browser_fetch_from_another_host(client, pages):
    problems = {}
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code in (200, 404), (name, response.status_code)
        assert response["Content-Type"].startswith("text/html"), name
        found = foreign(response.content.decode())
        if found:
            problems[name] = found
    assert problems == {}


@pytest.mark.django_db
def test_pages_load_their_styles_and_scripts_from_our_static_files(client, pages):
    html = client.get(pages["gesprek"]).content.decode()
    fetched = [url for _, url in Fetches(html).urls]
    assert any(url.endswith("/bootstrap.min.css") for url in fetched)
    assert all(url.startswith("/") for url in fetched if url.endswith((".css", ".js")))


def _static_files(suffix: str):
    seen = set()
    for finder in finders.get_finders():
        for path, storage in finder.list([]):
            if path.endswith(suffix) and path not in seen:
                seen.add(path)
                yield path, storage


def test_no_stylesheet_pulls_fonts_or_images_from_another_host():
    problems = []
    checked = 0
    for path, storage in _static_files(".css"):
        with storage.open(path) as handle:
            css = handle.read().decode("utf-8", "replace")
        checked += 1
        problems += [(path, url) for url in css_urls(css) if not is_own(url)]
    assert checked >= 3  # bootstrap, site.css and more: the finders were really searched
    assert problems == []


def test_our_own_scripts_do_not_load_anything_from_another_host():
    # Our scripts in static/ (not vendored libraries, whose comments carry URLs) hold no
    # absolute URL at all.
    problems = []
    scripts = sorted(path for folder in settings.STATICFILES_DIRS for path in folder.rglob("*.js"))
    assert scripts
    for path in scripts:
        script = path.read_text(encoding="utf-8")
        problems += [(path.name, url) for url in re.findall(r"(?:https?:)?//[\w.-]+\.\w+", script)]
    assert problems == []
