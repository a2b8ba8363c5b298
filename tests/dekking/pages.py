"""Reading the coverage pages back: tiles, table rows by code, map shapes, CSV."""

import csv
import io
import re
from html.parser import HTMLParser


class CoveragePage(HTMLParser):
    """tiles: {label: value}; rows: {data-code: [cell texts]}; paths: {data-code: attrs}."""

    def __init__(self, html: str):
        super().__init__()
        self.tiles: dict[str, str] = {}
        self.rows: dict[str, list[str]] = {}
        self.paths: dict[str, dict] = {}
        self.titles: dict[str, str] = {}
        self._row: str | None = None
        self._cell: list[str] | None = None
        self._tile_label: str | None = None
        self._capture: str | None = None
        self._text: list[str] = []
        self._path: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and attrs.get("data-code"):
            self._row = attrs["data-code"]
            self.rows[self._row] = []
        elif tag in ("td", "th") and self._row:
            self._cell = []
        elif tag == "path" and attrs.get("data-code"):
            self._path = attrs["data-code"]
            self.paths[self._path] = attrs
        elif tag == "title" and self._path:
            self._capture, self._text = "title", []
        elif tag == "dt":
            self._capture, self._text = "dt", []
        elif tag == "dd" and "tile-value" in (attrs.get("class") or ""):
            self._capture, self._text = "value", []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[self._row].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "path":
            self._path = None
        elif tag == "title" and self._capture == "title":
            self.titles[self._path] = "".join(self._text).strip()
            self._capture = None
        elif tag == "dt" and self._capture == "dt":
            self._tile_label = " ".join("".join(self._text).split())
            self._capture = None
        elif tag == "dd" and self._capture == "value":
            self.tiles[self._tile_label] = "".join(self._text).strip()
            self._capture = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._capture:
            self._text.append(data)


def page(response) -> CoveragePage:
    assert response.status_code == 200
    return CoveragePage(response.content.decode())


def classes(page: CoveragePage) -> dict[str, str]:
    return {code: attrs["class"] for code, attrs in page.paths.items()}


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8").removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def text(response) -> str:
    """The whole response as text, tags removed (for searching personal data)."""
    return re.sub(r"\s+", " ", response.content.decode())
