"""--download, with the network replaced by small responses in the official formats."""

import csv
import json
import urllib.error
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gemeenten import download
from gemeenten.models import Buurt, Gemeente, Import, Postcodegebied, Wijk

pytestmark = pytest.mark.django_db

ODATA = "https://opendata.cbs.nl/ODataFeed/odata"

# CBS 85984NED DataProperties (abridged): the keys carry a table-specific number.
DATA_PROPERTIES = {
    "odata.metadata": f"{ODATA}/85984NED/$metadata#Cbs.OData.WebAPI.DataProperties",
    "value": [
        {"ID": 0, "Position": None, "Type": "GeoDimension", "Key": "WijkenEnBuurten"},
        {"ID": 1, "Position": "0", "Type": "Topic", "Key": "Gemeentenaam_1"},
        {"ID": 2, "Position": "1", "Type": "Topic", "Key": "SoortRegio_2"},
        {"ID": 3, "Position": "2", "Type": "Topic", "Key": "Codering_3"},
        {"ID": 4, "Position": "3", "Type": "Topic", "Key": "IndelingswijzigingWijkenEnBuurten_4"},
        {"ID": 6, "Position": "4", "Type": "Topic", "Key": "AantalInwoners_5"},
        {"ID": 160, "Position": "117", "Type": "Topic", "Key": "MeestVoorkomendePostcode_118"},
        {"ID": 161, "Position": "118", "Type": "Topic", "Key": "Dekkingspercentage_119"},
    ],
}


def kwb_row(key, gemeente, kind, inwoners, pc4):
    # CBS pads keys, codes and names with spaces to a fixed width.
    return {
        "ID": 0,
        "WijkenEnBuurten": key.ljust(10),
        "Gemeentenaam_1": gemeente.ljust(40),
        "SoortRegio_2": kind.ljust(10),
        "Codering_3": key.ljust(10),
        "AantalInwoners_5": inwoners,
        "MeestVoorkomendePostcode_118": pc4,
    }


KWB_PAGE_1 = {
    "odata.metadata": f"{ODATA}/85984NED/$metadata#Cbs.OData.WebAPI.TypedDataSet",
    "value": [
        kwb_row("NL00", "Nederland", "Land", 17942942, "."),
        kwb_row("GM0344", "Utrecht", "Gemeente", 374238, "3511"),
        kwb_row("WK034401", "Utrecht", "Wijk", 20000, "3511"),
        kwb_row("BU03440100", "Utrecht", "Buurt", 1500, "3511"),
        kwb_row("BU03440101", "Utrecht", "Buurt", None, "."),
    ],
    "odata.nextLink": f"{ODATA}/85984NED/TypedDataSet?$format=json&$skiptoken=Guid'42'",
}
KWB_PAGE_2 = {
    "odata.metadata": KWB_PAGE_1["odata.metadata"],
    "value": [
        kwb_row("GM0363", "Amsterdam", "Gemeente", 931298, "1012"),
        kwb_row("WK0363AD", "Amsterdam", "Wijk", 5000, "1012"),
        kwb_row("BU0363AD03", "Amsterdam", "Buurt", 800, "1012"),
        # Most people of this buurt live in PC4 3511 too: a second gemeente for 3511.
        kwb_row("BU0363AD04", "Amsterdam", "Buurt", 100, "3511"),
    ],
}
TITLES = {
    "odata.metadata": f"{ODATA}/85984NED/$metadata#Cbs.OData.WebAPI.WijkenEnBuurten",
    "value": [
        {"Key": key.ljust(10), "Title": title}
        for key, title in [
            ("NL00", "Nederland"),
            ("GM0344", "Utrecht"),
            ("WK034401", "Wijk 01 Binnenstad"),
            ("BU03440100", "Domplein"),
            ("BU03440101", "Lange Elisabethstraat"),
            ("GM0363", "Amsterdam"),
            ("WK0363AD", "Burgwallen-Nieuwe Zijde"),
            ("BU0363AD03", "Nieuwendijk-Noord"),
            ("BU0363AD04", "Nieuwendijk-Zuid"),
        ]
    ],
}


def gebied(code, name, province_code, province_name):
    # Gebieden in Nederland: the gemeente, then many regional divisions, among them the province.
    return {
        "ID": 0,
        "RegioS": code,
        "Code_1": code.ljust(10),
        "Naam_2": name.ljust(40),
        "Code_3": "AR01  ",
        "Naam_4": "Arbeidsmarktregio                       ",
        "Code_26": "LD03  ",
        "Naam_27": "West-Nederland      ",
        "Code_28": province_code.ljust(6),
        "Naam_29": province_name.ljust(20),
        "Inwonertal_56": 0,
    }


GEBIEDEN = {
    "odata.metadata": f"{ODATA}/85755NED/$metadata#Cbs.OData.WebAPI.TypedDataSet",
    "value": [
        gebied("GM0344", "Utrecht", "PV26", "Utrecht"),
        gebied("GM0363", "Amsterdam", "PV27", "Noord-Holland"),
    ],
}
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[5.1, 52.0], [5.2, 52.0], [5.2, 52.1], [5.1, 52.1], [5.1, 52.0]]],
}
PDOK_ITEMS = (
    "https://api.pdok.nl/cbs/gebiedsindelingen/ogc/v1/collections/gemeente_gegeneraliseerd/items"
)


def feature(code, name):
    properties = {"jaarcode": 2024, "statcode": code, "statnaam": name, "jrstatcode": "2024" + code}
    return {"type": "Feature", "id": code, "properties": properties, "geometry": SQUARE}


PDOK_PAGE_1 = {
    "type": "FeatureCollection",
    "features": [feature("GM0344", "Utrecht")],
    "links": [
        {"rel": "self", "href": f"{PDOK_ITEMS}?f=json"},
        {"rel": "next", "href": f"{PDOK_ITEMS}?f=json&cursor=abc"},
    ],
}
PDOK_PAGE_2 = {"type": "FeatureCollection", "features": [feature("GM0363", "Amsterdam")]}


@pytest.fixture
def cbs_and_pdok(monkeypatch):
    """Answer each official URL with its small response; list the URLs asked for."""
    asked = []

    def fetch_json(url):
        asked.append(url)
        if url.startswith(PDOK_ITEMS):
            return PDOK_PAGE_2 if "cursor=abc" in url else PDOK_PAGE_1
        responses = {
            "/85984NED/DataProperties?": DATA_PROPERTIES,
            "/85984NED/TypedDataSet?$format=json&$skiptoken": KWB_PAGE_2,
            "/85984NED/TypedDataSet?": KWB_PAGE_1,
            "/85984NED/WijkenEnBuurten?": TITLES,
            "/85755NED/TypedDataSet?": GEBIEDEN,
        }
        for part, response in responses.items():
            if url.startswith(ODATA) and part in url:
                return json.loads(json.dumps(response))
        raise AssertionError(f"unexpected URL {url}")

    monkeypatch.setattr(download, "fetch_json", fetch_json)
    return asked


def read_csv(path):
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_download_writes_the_official_data_in_the_import_layout_and_imports_it(
    tmp_path, cbs_and_pdok
):
    out = StringIO()
    call_command("import_gebieden", str(tmp_path), "--download", stdout=out)

    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "buurten-2024.csv",
        "gemeenten-2024.csv",
        "gemeenten-2024.geojson",
        "gemeenten-inwoners-2024.csv",
        "pc4-gemeente-2024.csv",
        "wijken-2024.csv",
    ]
    assert read_csv(tmp_path / "gemeenten-2024.csv")[0] == {
        "code": "GM0344",
        "name": "Utrecht",
        "province_code": "PV26",
        "province_name": "Utrecht",
    }
    assert read_csv(tmp_path / "buurten-2024.csv")[1] == {
        "code": "BU03440101",
        "name": "Lange Elisabethstraat",
        "name_statline": "Lange Elisabethstraat",
        "wijk_code": "WK034401",
        "gemeente_code": "GM0344",
        "inwoners": "",
        "pc4_meest_voorkomend": "",
    }

    amsterdam = Gemeente.objects.get(code="GM0363")
    assert (amsterdam.name, amsterdam.provincie.code, amsterdam.provincie.name) == (
        "Amsterdam",
        "PV27",
        "Noord-Holland",
    )
    assert amsterdam.inwoners == 931298
    assert amsterdam.boundary == SQUARE
    assert Wijk.objects.get(code="WK0363AD").name == "Burgwallen-Nieuwe Zijde"
    domplein = Buurt.objects.get(code="BU03440100")
    assert (domplein.name, domplein.wijk_id, domplein.inwoners, domplein.pc4) == (
        "Domplein",
        "WK034401",
        1500,
        "3511",
    )
    assert list(Postcodegebied.objects.filter(pc4="3511").values_list("gemeente_id", "rank")) == [
        ("GM0344", 1),
        ("GM0363", 2),
    ]
    assert "85984NED" in Import.objects.get().source
    assert "Recorded import" in out.getvalue()

    # Both pages of every paged answer were fetched, and the postcode column by its real key.
    assert any("skiptoken" in url for url in cbs_and_pdok)
    assert any("cursor=abc" in url for url in cbs_and_pdok)
    typed = next(url for url in cbs_and_pdok if "85984NED/TypedDataSet" in url)
    assert "MeestVoorkomendePostcode_118" in typed
    assert "Codering_3" in typed


def test_download_goes_to_var_gebieden_by_default(tmp_path, settings, cbs_and_pdok):
    settings.BASE_DIR = tmp_path
    call_command("import_gebieden", "--download", stdout=StringIO())
    assert (tmp_path / "var" / "gebieden" / "wijken-2024.csv").exists()
    assert Gemeente.objects.count() == 2


def test_padded_cbs_values_are_stripped_and_the_province_is_found_by_its_code():
    assert download.parse_gebieden(GEBIEDEN["value"]) == [
        {"code": "GM0344", "name": "Utrecht", "province_code": "PV26", "province_name": "Utrecht"},
        {
            "code": "GM0363",
            "name": "Amsterdam",
            "province_code": "PV27",
            "province_name": "Noord-Holland",
        },
    ]
    fields = download.resolve_fields(DATA_PROPERTIES["value"])
    assert fields["MeestVoorkomendePostcode"] == "MeestVoorkomendePostcode_118"
    parsed = download.parse_kwb(KWB_PAGE_1["value"], {"GM0344": "Utrecht"}, fields)
    assert parsed["Gemeente"] == [
        {"code": "GM0344", "name": "Utrecht", "inwoners": 374238, "pc4": "3511"}
    ]
    assert [buurt["pc4"] for buurt in parsed["Buurt"]] == ["3511", ""]


def test_a_failed_download_is_a_clear_error_and_writes_no_files(tmp_path, monkeypatch):
    def offline(request, timeout):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(download.urllib.request, "urlopen", offline)
    with pytest.raises(CommandError, match="Download failed: https://opendata.cbs.nl/"):
        call_command("import_gebieden", str(tmp_path / "gebieden"), "--download")
    assert not (tmp_path / "gebieden").exists()
    assert Gemeente.objects.count() == 0
