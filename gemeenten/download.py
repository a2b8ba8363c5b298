"""Fetch the geography from the official CBS and PDOK services and write it as the files that
gemeenten.importer reads (gemeenten-2024.csv, wijken-2024.csv, ...).

Sources (CBS open data and PDOK, CC BY 4.0):

- CBS StatLine OData v3, table 85984NED "Kerncijfers wijken en buurten 2024": one row per
  gemeente, wijk and buurt. The feed endpoint pages with odata.nextLink (the ODataApi
  endpoint stops at 10,000 rows):
    https://opendata.cbs.nl/ODataFeed/odata/85984NED/DataProperties?$format=json
    https://opendata.cbs.nl/ODataFeed/odata/85984NED/TypedDataSet?$format=json
        &$select=WijkenEnBuurten,Gemeentenaam_1,SoortRegio_2,Codering_3,AantalInwoners_5,
                 MeestVoorkomendePostcode_NNN
    https://opendata.cbs.nl/ODataFeed/odata/85984NED/WijkenEnBuurten?$format=json
        &$select=Key,Title            (the names of the wijken and buurten)
  The column suffixes (_1, _118, ...) are looked up in DataProperties rather than assumed.
  The same table is in OData v4 at https://datasets.cbs.nl/odata/v1/CBS/85984NED.
- CBS StatLine OData v3, table 85755NED "Gebieden in Nederland 2024": gemeente → provincie
  (Code_1/Naam_2 for the gemeente, a Code_NN/Naam_NN+1 pair holding the PVxx code):
    https://opendata.cbs.nl/ODataFeed/odata/85755NED/TypedDataSet?$format=json
- PDOK OGC API Features, CBS gebiedsindelingen, collection gemeente_gegeneraliseerd
  (properties statcode, statnaam; GeoJSON in WGS84 lon/lat; pages with a "next" link):
    https://api.pdok.nl/cbs/gebiedsindelingen/ogc/v1/collections/gemeente_gegeneraliseerd/items
        ?f=json&limit=1000&jaarcode=2024
  (also as WFS: https://service.pdok.nl/cbs/gebiedsindelingen/2024/wfs/v1_0)

CBS pads codes and names with spaces ("GM0344    "); they are stripped. pc4-gemeente-2024.csv
is derived as described in the data README: every buurt adds itself to the pair (its most
common PC4, its gemeente); the gemeenten of one PC4 are ranked by inhabitants.
"""

import csv
import io
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

from django.core.management.base import CommandError

YEAR = 2024
KWB_TABLE = "85984NED"  # Kerncijfers wijken en buurten 2024
GEBIEDEN_TABLE = "85755NED"  # Gebieden in Nederland 2024
CBS_ODATA = "https://opendata.cbs.nl/ODataFeed/odata"
PDOK_GEMEENTEN = (
    "https://api.pdok.nl/cbs/gebiedsindelingen/ogc/v1/collections/gemeente_gegeneraliseerd/items"
)
TIMEOUT = 60  # seconds per request

# The 85984NED columns we need, by name without the table-specific "_NN" suffix.
KWB_FIELDS = [
    "WijkenEnBuurten",
    "Gemeentenaam",
    "SoortRegio",
    "Codering",
    "AantalInwoners",
    "MeestVoorkomendePostcode",
]
PC4 = re.compile(r"[1-9]\d{3}")


def fetch_json(url: str) -> dict:
    """GET one JSON document. The only function that touches the network (tests replace it)."""
    if not url.startswith("https://"):
        raise CommandError(f"Refusing to fetch {url}: only https is allowed.")
    headers = {"Accept": "application/json", "User-Agent": "buurtgesprek import_gebieden"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (https checked above)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise CommandError(
            f"Download failed: {url}: {error}. Without internet, import a directory with the "
            "files instead (manage.py import_gebieden DIR)."
        ) from None


def with_query(base: str, **params) -> str:
    return f"{base}?{urllib.parse.urlencode(params, safe='$,')}"


def fetch_odata(first_url: str) -> list[dict]:
    """All rows of an OData v3 (odata.nextLink) or v4 (@odata.nextLink) collection."""
    rows, next_url = [], first_url
    while next_url:
        page = fetch_json(next_url)
        rows.extend(page.get("value", []))
        next_url = page.get("odata.nextLink") or page.get("@odata.nextLink")
    return rows


def fetch_features(first_url: str) -> list[dict]:
    """All features of an OGC API Features collection, following the "next" links."""
    features, next_url = [], first_url
    while next_url:
        page = fetch_json(next_url)
        features.extend(page.get("features", []))
        next_url = next(
            (link["href"] for link in page.get("links", []) if link.get("rel") == "next"), None
        )
    return features


def clean(value) -> str:
    return str(value if value is not None else "").strip()


def resolve_fields(properties: list[dict]) -> dict[str, str]:
    """Map each name in KWB_FIELDS to the table's actual column key, e.g. AantalInwoners_5."""
    keys = [clean(prop.get("Key")) for prop in properties]
    fields = {}
    for name in KWB_FIELDS:
        match = next((key for key in keys if re.fullmatch(rf"{name}(_\d+)?", key)), None)
        if match is None:
            raise CommandError(f"CBS table {KWB_TABLE} has no column {name}.")
        fields[name] = match
    return fields


def parse_kwb(rows: list[dict], titles: dict[str, str], fields: dict[str, str]) -> dict:
    """Split the Kerncijfers rows into gemeenten (with inhabitants), wijken and buurten."""
    result = {"Gemeente": [], "Wijk": [], "Buurt": []}
    for row in rows:
        kind = clean(row.get(fields["SoortRegio"]))
        if kind not in result:
            continue  # the whole country ("Land")
        code = clean(row.get(fields["Codering"]))
        title = titles.get(clean(row.get(fields["WijkenEnBuurten"]))) or code
        pc4 = clean(row.get(fields["MeestVoorkomendePostcode"]))
        result[kind].append(
            {
                "code": code,
                "name": clean(row.get(fields["Gemeentenaam"])) if kind == "Gemeente" else title,
                "inwoners": row.get(fields["AantalInwoners"]),
                "pc4": pc4 if PC4.fullmatch(pc4) else "",
            }
        )
    return result


def parse_gebieden(rows: list[dict]) -> list[dict]:
    """Gemeente → provincie from "Gebieden in Nederland"."""
    gemeenten = []
    for row in rows:
        code = clean(row.get("Code_1") or row.get("RegioS"))
        if not code.startswith("GM"):
            continue
        gemeenten.append({"code": code, "name": clean(row.get("Naam_2")), **province_of(row)})
    return gemeenten


def province_of(row: dict) -> dict:
    # The column numbers shift between years; the province is the Code_NN holding a PV code,
    # its name is in the next column.
    for key, value in row.items():
        match = re.fullmatch(r"Code_(\d+)", key)
        if match and re.fullmatch(r"PV\d{2}", clean(value)):
            name = clean(row.get(f"Naam_{int(match[1]) + 1}"))
            return {"province_code": clean(value), "province_name": name}
    raise CommandError(f"CBS table {GEBIEDEN_TABLE}: no province for {clean(row.get('Code_1'))}.")


def pc4_rows(buurten: list[dict], gemeente_names: dict[str, str]) -> list[list]:
    pairs = defaultdict(lambda: [0, 0])  # (pc4, gemeente) → [buurten, inwoners]
    for buurt in buurten:
        if buurt["pc4"]:
            pair = pairs[buurt["pc4"], "GM" + buurt["code"][2:6]]
            pair[0] += 1
            pair[1] += buurt["inwoners"] or 0
    by_pc4 = defaultdict(list)
    for (pc4, gemeente), (count, inwoners) in pairs.items():
        by_pc4[pc4].append((gemeente, count, inwoners))
    rows = []
    for pc4 in sorted(by_pc4):
        ranked = sorted(by_pc4[pc4], key=lambda pair: (-pair[2], -pair[1], pair[0]))
        for rank, (gemeente, count, inwoners) in enumerate(ranked, start=1):
            name = gemeente_names.get(gemeente, "")
            rows.append([pc4, gemeente, name, count, inwoners, len(ranked), rank])
    return rows


def boundaries(features: list[dict]) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "statcode": clean(feature["properties"].get("statcode")),
                    "statnaam": clean(feature["properties"].get("statnaam")),
                },
                "geometry": feature.get("geometry"),
            }
            for feature in features
            if clean((feature.get("properties") or {}).get("statcode")).startswith("GM")
        ],
    }


def to_csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return out.getvalue()


GEMEENTE_COLUMNS = ["code", "name", "province_code", "province_name"]
INWONERS_COLUMNS = ["code", "name", "inwoners"]
WIJK_COLUMNS = ["code", "name", "gemeente_code", "inwoners"]
BUURT_COLUMNS = [
    "code",
    "name",
    "name_statline",
    "wijk_code",
    "gemeente_code",
    "inwoners",
    "pc4_meest_voorkomend",
]
PC4_COLUMNS = [
    "pc4",
    "gemeente_code",
    "gemeente_name",
    "n_buurten",
    "inwoners_buurten",
    "n_gemeenten_for_pc4",
    "rank",
]


def build_files(kwb_rows, titles, fields, gebieden_rows, features, year=YEAR) -> dict[str, str]:
    """The file name → content of every file, in the layout of gemeenten.importer."""
    kwb = parse_kwb(kwb_rows, titles, fields)
    gemeenten = parse_gebieden(gebieden_rows)
    names = {gemeente["code"]: gemeente["name"] for gemeente in gemeenten}
    # In CBS codes the gemeente is digits 2-6 and the wijk digits 2-8 of a buurt code.
    wijken = [[w["code"], w["name"], "GM" + w["code"][2:6], w["inwoners"]] for w in kwb["Wijk"]]
    buurten = [
        [
            b["code"],
            b["name"],
            b["name"],
            "WK" + b["code"][2:8],
            "GM" + b["code"][2:6],
            b["inwoners"],
            b["pc4"],
        ]
        for b in kwb["Buurt"]
    ]
    inwoners = [
        [g["code"], names.get(g["code"], g["name"]), g["inwoners"]] for g in kwb["Gemeente"]
    ]
    return {
        f"gemeenten-{year}.csv": to_csv(
            GEMEENTE_COLUMNS, [[g[column] for column in GEMEENTE_COLUMNS] for g in gemeenten]
        ),
        f"gemeenten-inwoners-{year}.csv": to_csv(INWONERS_COLUMNS, inwoners),
        f"wijken-{year}.csv": to_csv(WIJK_COLUMNS, wijken),
        f"buurten-{year}.csv": to_csv(BUURT_COLUMNS, buurten),
        f"pc4-gemeente-{year}.csv": to_csv(PC4_COLUMNS, pc4_rows(kwb["Buurt"], names)),
        f"gemeenten-{year}.geojson": json.dumps(boundaries(features), ensure_ascii=False),
    }


def download_gebieden(directory, *, stdout=None, verbosity=1) -> str:
    """Fetch everything, then write the files into directory; return a source description."""

    def say(message):
        if stdout is not None and verbosity >= 1:
            stdout.write(message)

    kwb = f"{CBS_ODATA}/{KWB_TABLE}"
    say(f"Downloading CBS {KWB_TABLE} (Kerncijfers wijken en buurten {YEAR})…")
    fields = resolve_fields(fetch_odata(with_query(f"{kwb}/DataProperties", **{"$format": "json"})))
    select = ",".join(fields.values())
    kwb_rows = fetch_odata(
        with_query(f"{kwb}/TypedDataSet", **{"$format": "json", "$select": select})
    )
    titles = {
        clean(row.get("Key")): clean(row.get("Title"))
        for row in fetch_odata(
            with_query(f"{kwb}/WijkenEnBuurten", **{"$format": "json", "$select": "Key,Title"})
        )
    }
    say(f"Downloading CBS {GEBIEDEN_TABLE} (Gebieden in Nederland {YEAR})…")
    gebieden = fetch_odata(
        with_query(f"{CBS_ODATA}/{GEBIEDEN_TABLE}/TypedDataSet", **{"$format": "json"})
    )
    say(f"Downloading PDOK gemeente_gegeneraliseerd {YEAR}…")
    features = fetch_features(with_query(PDOK_GEMEENTEN, f="json", limit=1000, jaarcode=YEAR))

    # Written only after every download succeeded, so a failure leaves no half set behind.
    files = build_files(kwb_rows, titles, fields, gebieden, features)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_text(content, encoding="utf-8")
        say(f"  wrote {directory / name}")
    return (
        f"CBS {KWB_TABLE} and {GEBIEDEN_TABLE}, PDOK gemeente_gegeneraliseerd {YEAR}, "
        f"downloaded into {directory}"
    )
