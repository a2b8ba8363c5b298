import json
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gemeenten.importer import import_gebieden
from gemeenten.models import Buurt, Gemeente, Import, Postcodegebied, Provincie, Wijk
from tests.gesprekken.test_concurrency import at_once

pytestmark = pytest.mark.django_db

GEMEENTEN = """\
code,name,province_code,province_name
GM0344,Utrecht,PV26,Utrecht
GM0363,Amsterdam,PV27,Noord-Holland
GM1992,Voorne aan Zee,PV28,Zuid-Holland
"""
INWONERS = """\
code,name,inwoners
GM0344,Utrecht,374238
GM0363,Amsterdam,931298
GM1992,Voorne aan Zee,74304
"""
WIJKEN = """\
code,name,gemeente_code,inwoners
WK034401,Binnenstad,GM0344,20000
WK0363AD,Burgwallen-Nieuwe Zijde,GM0363,5000
WK199201,Brielle,GM1992,
"""
BUURTEN = """\
code,name,name_statline,wijk_code,gemeente_code,inwoners,pc4_meest_voorkomend
BU03440100,Domplein,Domplein,WK034401,GM0344,1500,3511
BU0363AD03,Nieuwendijk-Noord,Nieuwendijk-Noord,WK0363AD,GM0363,800,1012
BU19920100,Brielle-Centrum,Brielle-Centrum,WK199201,GM1992,,
"""
PC4 = """\
pc4,gemeente_code,gemeente_name,n_buurten,inwoners_buurten,n_gemeenten_for_pc4,rank
3511,GM0344,Utrecht,1,1500,1,1
1012,GM0363,Amsterdam,1,800,1,1
"""
UTRECHT_SQUARE = {
    "type": "Polygon",
    "coordinates": [[[5.1, 52.0], [5.2, 52.0], [5.2, 52.1], [5.1, 52.1], [5.1, 52.0]]],
}


def geojson(*codes):
    features = [
        {"type": "Feature", "properties": {"statcode": code}, "geometry": UTRECHT_SQUARE}
        for code in codes
    ]
    return json.dumps({"type": "FeatureCollection", "features": features})


def write_files(directory: Path, year=2024, **overrides) -> Path:
    """The small data set above as files; overrides replace a file (None leaves it out)."""
    files = {
        f"gemeenten-{year}.csv": GEMEENTEN,
        f"gemeenten-inwoners-{year}.csv": INWONERS,
        f"gemeenten-{year}.geojson": geojson("GM0344", "GM0363"),
        f"wijken-{year}.csv": WIJKEN,
        f"buurten-{year}.csv": BUURTEN,
        f"pc4-gemeente-{year}.csv": PC4,
    }
    for key, content in overrides.items():  # gemeenten_inwoners_2025_csv: ...-2025.csv
        stem, extension = key.rsplit("_", 1)
        files[f"{stem.replace('_', '-')}.{extension}"] = content
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if content is None:
            (directory / name).unlink(missing_ok=True)
        elif isinstance(content, bytes):
            (directory / name).write_bytes(content)
        else:
            (directory / name).write_text(content, encoding="utf-8")
    return directory


def run(directory, *args) -> str:
    out = StringIO()
    call_command("import_gebieden", str(directory), *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    return {
        "provincies": list(Provincie.objects.order_by("code").values_list()),
        "gemeenten": list(
            Gemeente.objects.order_by("code").values_list(
                "code", "name", "provincie_id", "inwoners", "ended_on"
            )
        ),
        "wijken": list(Wijk.objects.order_by("code").values_list()),
        "buurten": list(Buurt.objects.order_by("code").values_list()),
        "postcodes": list(
            Postcodegebied.objects.order_by("pc4").values_list("pc4", "gemeente_id", "rank")
        ),
        "imports": Import.objects.count(),
    }


def test_an_import_creates_the_whole_hierarchy_from_the_files(tmp_path):
    output = run(write_files(tmp_path))

    amsterdam = Gemeente.objects.get(code="GM0363")
    assert amsterdam.name == "Amsterdam"
    assert amsterdam.provincie == Provincie.objects.get(code="PV27", name="Noord-Holland")
    assert amsterdam.inwoners == 931298
    assert amsterdam.exists
    assert Gemeente.objects.get(code="GM0344").boundary == UTRECHT_SQUARE
    assert Gemeente.objects.get(code="GM1992").boundary is None
    buurt = Buurt.objects.get(code="BU0363AD03")
    assert (buurt.name, buurt.wijk_id, buurt.gemeente_id) == (
        "Nieuwendijk-Noord",
        "WK0363AD",
        "GM0363",
    )
    assert (buurt.inwoners, buurt.pc4) == (800, "1012")
    brielle = Buurt.objects.get(code="BU19920100")
    assert (brielle.inwoners, brielle.pc4) == (None, "")
    assert Wijk.objects.get(code="WK199201").inwoners is None
    assert list(Postcodegebied.objects.values_list("pc4", "gemeente_id", "rank")) == [
        ("1012", "GM0363", 1),
        ("3511", "GM0344", 1),
    ]

    record = Import.objects.get()
    assert record.source == str(tmp_path)
    assert {"name": "buurten-2024.csv", "rows": 3} in record.files
    assert record.summary["gemeenten"] == {"created": 3}
    assert record.summary["buurten"] == {"created": 3}
    for name in ["gemeenten-2024.csv", "wijken-2024.csv", "gemeenten-2024.geojson"]:
        assert name in output
    assert "buurten: 3 created" in output


def test_a_second_run_writes_nothing_and_says_no_changes(tmp_path):
    write_files(tmp_path)
    run(tmp_path)
    before = snapshot()

    with CaptureQueriesContext(connection) as queries:
        output = run(tmp_path)

    assert "No changes." in output
    assert snapshot() == before
    assert Import.objects.count() == 1
    writes = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


def test_a_renamed_area_is_updated_in_place_by_its_code(tmp_path):
    write_files(tmp_path)
    run(tmp_path)

    write_files(
        tmp_path,
        gemeenten_2024_csv=GEMEENTEN.replace("Utrecht,PV26", "Utrecht (U.),PV26"),
        buurten_2024_csv=BUURTEN.replace("BU03440100,Domplein", "BU03440100,Domplein-Oost"),
    )
    output = run(tmp_path)

    assert Gemeente.objects.get(code="GM0344").name == "Utrecht (U.)"
    assert Buurt.objects.get(code="BU03440100").name == "Domplein-Oost"
    assert Gemeente.objects.count() == 3
    assert Buurt.objects.get(code="BU03440100").gemeente.name == "Utrecht (U.)"
    assert Import.objects.first().summary == {
        "gemeenten": {"updated": 1},
        "buurten": {"updated": 1},
    }
    assert "gemeenten: 1 updated" in output


def test_changed_numbers_boundaries_and_postcodes_are_updated_and_the_next_run_is_quiet(
    tmp_path,
):
    write_files(tmp_path)
    run(tmp_path)
    moved = {"type": "MultiPolygon", "coordinates": [UTRECHT_SQUARE["coordinates"]]}

    write_files(
        tmp_path,
        gemeenten_inwoners_2025_csv=INWONERS.replace("374238", "376000"),
        gemeenten_2025_geojson=json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"properties": {"statcode": "GM0344"}, "geometry": moved}],
            }
        ),
        wijken_2025_csv=WIJKEN.replace("WK199201,Brielle,GM1992,", "WK199201,Brielle,GM1992,15"),
        buurten_2025_csv=BUURTEN.replace(",800,1012", ",805,1013"),
        # 1012 is gone; 3511 gets a second gemeente and Utrecht moves to rank 2.
        pc4_gemeente_2025_csv=PC4.splitlines()[0]
        + "\n3511,GM0344,Utrecht,1,1500,2,2\n3511,GM0363,Amsterdam,1,2000,2,1\n",
    )
    run(tmp_path)

    utrecht = Gemeente.objects.get(code="GM0344")
    assert (utrecht.inwoners, utrecht.boundary) == (376000, moved)
    assert Wijk.objects.get(code="WK199201").inwoners == 15
    buurt = Buurt.objects.get(code="BU0363AD03")
    assert (buurt.inwoners, buurt.pc4) == (805, "1013")
    assert list(Postcodegebied.objects.values_list("pc4", "gemeente_id", "rank")) == [
        ("3511", "GM0363", 1),
        ("3511", "GM0344", 2),
    ]
    assert Import.objects.first().summary == {
        "gemeenten": {"updated": 1},
        "wijken": {"updated": 1},
        "buurten": {"updated": 1},
        "postcodegebieden": {"created": 1, "updated": 1, "deleted": 1},
    }
    assert "No changes." in run(tmp_path)


def test_a_gemeente_missing_from_the_newest_list_is_marked_ended_and_kept(tmp_path):
    write_files(tmp_path)
    run(tmp_path)

    # 2025: Voorne aan Zee merges away; its wijken and buurten stay in the 2024 files.
    write_files(
        tmp_path,
        gemeenten_2025_csv=GEMEENTEN.replace("GM1992,Voorne aan Zee,PV28,Zuid-Holland\n", ""),
    )
    output = run(tmp_path, "-v2")

    voorne = Gemeente.objects.get(code="GM1992")
    assert voorne.ended_on == date(2025, 1, 1)
    assert not voorne.exists
    assert list(Gemeente.objects.existing().values_list("code", flat=True)) == [
        "GM0363",
        "GM0344",
    ]
    assert Buurt.objects.filter(gemeente=voorne).count() == 1
    assert Import.objects.first().summary == {"gemeenten": {"ended": 1}}
    assert "gemeenten: 1 ended" in output
    assert "GM1992 Voorne aan Zee: ended" in output

    assert "No changes." in run(tmp_path)
    assert Gemeente.objects.get(code="GM1992").ended_on == date(2025, 1, 1)


def test_a_gemeente_that_reappears_is_no_longer_ended(tmp_path):
    write_files(tmp_path)
    run(tmp_path)
    write_files(tmp_path, gemeenten_2025_csv=GEMEENTEN.replace("GM1992,", "GM1993,"))
    run(tmp_path)
    assert Gemeente.objects.get(code="GM1992").ended_on is not None

    write_files(tmp_path, gemeenten_2026_csv=GEMEENTEN)
    output = run(tmp_path, "-v2")

    assert Gemeente.objects.get(code="GM1992").ended_on is None
    assert Gemeente.objects.get(code="GM1993").ended_on == date(2026, 1, 1)
    assert "GM1992 Voorne aan Zee: back in the list" in output


def test_wijken_and_buurten_missing_from_the_source_are_kept_and_reported(tmp_path):
    write_files(tmp_path)
    run(tmp_path)

    write_files(
        tmp_path,
        wijken_2025_csv="\n".join(WIJKEN.splitlines()[:3]) + "\n",
        buurten_2025_csv="\n".join(BUURTEN.splitlines()[:3]) + "\n",
    )
    output = run(tmp_path)

    assert Wijk.objects.filter(code="WK199201").exists()
    assert Buurt.objects.filter(code="BU19920100").exists()
    assert "wijken: 1 no longer in the source (kept)" in output
    assert "buurten: 1 no longer in the source (kept)" in output
    assert "No changes." in output


def test_the_newest_year_of_each_kind_is_read(tmp_path):
    write_files(tmp_path, year=2023)
    write_files(
        tmp_path,
        gemeenten_2023_csv=GEMEENTEN.replace("Voorne aan Zee,", "Brielle,"),
        gemeenten_2025_csv=GEMEENTEN,
        wijken_2025_csv=WIJKEN.replace("Binnenstad", "Binnenstad 2025"),
    )
    # 2024 also exists for the other kinds; the 2023 leftovers must be ignored.
    output = run(tmp_path)

    assert Gemeente.objects.get(code="GM1992").name == "Voorne aan Zee"
    assert Wijk.objects.get(code="WK034401").name == "Binnenstad 2025"
    files = [file["name"] for file in Import.objects.get().files]
    assert files == [
        "gemeenten-2025.csv",
        "gemeenten-inwoners-2024.csv",
        "gemeenten-2024.geojson",
        "wijken-2025.csv",
        "buurten-2024.csv",
        "pc4-gemeente-2024.csv",
    ]
    assert "gemeenten-2023.csv" not in output


BROKEN = {
    "missing column": (
        "buurten_2025_csv",
        BUURTEN.replace(",inwoners,", ",").replace(",1500,", ",").replace(",800,", ","),
        ["buurten-2025.csv line 1", "missing column inwoners"],
    ),
    "bad code": (
        "wijken_2025_csv",
        WIJKEN.replace("WK0363AD", "WK0363A"),
        ["wijken-2025.csv line 3", "bad wijk code 'WK0363A'"],
    ),
    "bad integer": (
        "gemeenten_inwoners_2025_csv",
        INWONERS.replace("931298", "931.298"),
        ["gemeenten-inwoners-2025.csv line 3", "'931.298' is not a whole number"],
    ),
    "wrong encoding": (
        "buurten_2025_csv",
        BUURTEN.replace("Nieuwendijk-Noord,Nieuwendijk", "Café Noord,Nieuwendijk").encode(
            "latin-1"
        ),
        ["buurten-2025.csv line 3", "not UTF-8"],
    ),
    "buurt in an unknown wijk": (
        "buurten_2025_csv",
        BUURTEN.replace("BU03440100,Domplein,Domplein,WK034401", "BU03440100,D,D,WK034409"),
        ["buurten-2025.csv line 2", "unknown wijk WK034409"],
    ),
    "unknown gemeente": (
        "pc4_gemeente_2025_csv",
        PC4 + "9999,GM9999,Nergens,1,0,1,1\n",
        ["pc4-gemeente-2025.csv line 4", "unknown gemeente GM9999"],
    ),
    "broken geojson": (
        "gemeenten_2025_geojson",
        '{"type": "FeatureCollection",\n "features": [}',
        ["gemeenten-2025.geojson line 2", "not valid JSON"],
    ),
}


@pytest.mark.parametrize(("name", "content", "expected"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_rolls_everything_back_and_names_file_and_line(
    tmp_path, name, content, expected
):
    write_files(tmp_path)
    run(tmp_path)
    before = snapshot()

    # Renames that would be written if the broken file did not stop the whole set.
    write_files(
        tmp_path,
        gemeenten_2025_csv=GEMEENTEN.replace("Amsterdam,", "Mokum,"),
        **{name: content},
    )
    with pytest.raises(CommandError) as error:
        run(tmp_path)

    for text in expected:
        assert text in str(error.value)
    assert snapshot() == before
    assert Gemeente.objects.get(code="GM0363").name == "Amsterdam"


def test_without_a_directory_the_setting_is_used_and_an_unset_one_is_a_clear_error(
    tmp_path, settings
):
    settings.GEBIEDEN_DIR = ""
    with pytest.raises(CommandError, match="GEBIEDEN_DIR is not set"):
        call_command("import_gebieden", stdout=StringIO())

    settings.GEBIEDEN_DIR = str(tmp_path / "missing")
    with pytest.raises(CommandError, match="is not a directory"):
        call_command("import_gebieden", stdout=StringIO())

    settings.GEBIEDEN_DIR = str(write_files(tmp_path / "data"))
    call_command("import_gebieden", stdout=StringIO())
    assert Gemeente.objects.count() == 3


def test_a_directory_without_a_gemeenten_file_is_a_clear_error(tmp_path):
    write_files(tmp_path, gemeenten_2024_csv=None)
    with pytest.raises(CommandError, match="No gemeenten-YYYY.csv"):
        run(tmp_path)


def test_verbosity_0_prints_nothing(tmp_path):
    assert run(write_files(tmp_path), "-v0") == ""
    assert Gemeente.objects.count() == 3


def test_the_whole_country_imports_once_and_then_reports_no_changes():
    if not settings.GEBIEDEN_DIR or not Path(settings.GEBIEDEN_DIR).is_dir():
        pytest.skip("settings.GEBIEDEN_DIR (the CBS/PDOK files) is not available")

    run(settings.GEBIEDEN_DIR)

    assert Provincie.objects.count() == 12
    assert Gemeente.objects.count() == 342
    assert Wijk.objects.count() == 3393
    assert Buurt.objects.count() == 14574
    amsterdam = Gemeente.objects.select_related("provincie").get(code="GM0363")
    assert amsterdam.name == "Amsterdam"
    assert (amsterdam.provincie.code, amsterdam.provincie.name) == ("PV27", "Noord-Holland")
    assert amsterdam.inwoners == 931298
    assert Gemeente.objects.get(code="GM1992").name == "Voorne aan Zee"
    assert Gemeente.objects.filter(boundary__isnull=False).count() == 342
    assert Postcodegebied.objects.get(pc4="3511").gemeente_id == "GM0344"
    assert Import.objects.count() == 1

    assert "No changes." in run(settings.GEBIEDEN_DIR)
    assert Import.objects.count() == 1


@pytest.mark.postgres
def test_the_planner_knows_the_new_row_counts_right_after_an_import(tmp_path):
    def planned_rows(model) -> float:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
            )
            return cursor.fetchone()[0]

    run(write_files(tmp_path))

    assert planned_rows(Buurt) == Buurt.objects.count() == 3
    assert planned_rows(Gemeente) == Gemeente.objects.count() == 3
    assert planned_rows(Postcodegebied) == Postcodegebied.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_imports_at_the_same_moment_take_turns_and_the_later_ones_find_nothing_to_do(
    tmp_path,
):
    """Two operators (or a deploy script and an operator) import at once, each on its own
    connection: one writes, the others wait for it and then find no changes, instead of
    inserting the same rows and failing on them."""
    directory = write_files(tmp_path)

    results, _pids = at_once(4, lambda _i: import_gebieden(directory, verbosity=0))

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(bool(summary) for summary in results) == 1  # one wrote; the rest: {}
    assert Import.objects.count() == 1
    assert Buurt.objects.count() == 3 and Gemeente.objects.count() == 3
