"""A student's path: a new site from templates, spreadsheets as people write them, clear errors."""

import shutil

import pytest

from collabgov.errors import UsageError
from collabgov.scaffold import TABLES, lookup_region, new_site
from collabgov.sites import load_site
from collabgov.tables import read_table, schema_descriptor
from collabgov.validation import validate_site
from conftest import ROOT, write


def test_region_lookup_fills_code_and_province():
    assert lookup_region("pujud", "Rokan Hilir") == {
        "kecamatan": "Pujud",
        "kabupaten": "Rokan Hilir",
        "kabupaten_kind": "kabupaten",
        "provinsi": "Riau",
        "region_code": "14.07.08",
        "village_kinds": ["kelurahan", "desa"],
    }
    bandung = lookup_region("Coblong", "Kota Bandung")
    assert bandung["kabupaten"] == "Bandung" and bandung["kabupaten_kind"] == "kota"
    assert bandung["village_kinds"] == ["kelurahan"]


def test_unknown_kecamatan_gets_the_closest_matches():
    with pytest.raises(
        UsageError, match=r"kecamatan 'Pujd' tidak ada di Kabupaten Rokan Hilir; yang paling mirip: Pujud"
    ):
        lookup_region("Pujd", "Kabupaten Rokan Hilir")
    with pytest.raises(
        UsageError, match=r"kabupaten/kota 'Rokan Hilr' tidak ada .*yang paling mirip: .*Kabupaten Rokan Hilir"
    ):
        lookup_region("Pujud", "Rokan Hilr")


@pytest.mark.parametrize("slug", ["../x", "Bad Name", "a/b", ".hidden"])
def test_new_site_refuses_unsafe_names(tmp_path, slug):
    (tmp_path / "data").mkdir()
    with pytest.raises(UsageError, match="tidak diizinkan"):
        new_site(tmp_path, slug, "Pujud", "Rokan Hilir")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_new_site_from_templates_then_filled_validates(tmp_path, fmt):
    (tmp_path / "data").mkdir()
    (tmp_path / "Makefile").write_text("")
    folder = new_site(tmp_path, "bangko", "Bangko", "Rokan Hilir", [2023, 2024], fmt)
    site = load_site(tmp_path, "bangko")
    assert site.params["region_code"] == "14.07.02" and site.params["provinsi"] == "Riau"
    assert '"14.07.02"' in (folder / "site.yaml").read_text()
    for table in TABLES:
        header = read_table(folder / f"{table}.{fmt}").header
        assert header == [f["name"] for f in schema_descriptor(table)["fields"]]
    problems = validate_site(site)  # a to-do list, never a traceback
    assert problems.errors and not any("Traceback" in str(p) for p in problems.items)


def test_templates_folder_matches_the_schemas():
    for table in TABLES:
        names = [f["name"] for f in schema_descriptor(table)["fields"]]
        for suffix in ("csv", "xlsx"):
            assert read_table(ROOT / "templates" / f"{table}.{suffix}").header == names, (table, suffix)
    dictionary = (ROOT / "templates" / "DATA_DICTIONARY.md").read_text()
    assert all(f"`{table}.csv`" in dictionary for table in TABLES)


def test_a_broken_spreadsheet_lists_every_error_and_changes_nothing(sandbox, monkeypatch, capsys):
    import openpyxl

    from collabgov import cli

    folder = sandbox / "data" / "pujud"
    reports = write(sandbox / "reports" / "pujud" / "report.id.html", "earlier report")
    (folder / "cases.csv").unlink()
    wb = openpyxl.Workbook()
    for row in [
        ["year", "cases", "suspects", "source", "comment"],
        [2021, "empat belas", -3, None, "x"],
        [2021, 15, 23, "P", ""],
        [None, None, None, None, None],
    ]:
        wb.active.append(row)
    wb.save(folder / "cases.xlsx")
    write(
        folder / "segments.csv",
        (folder / "segments.csv")
        .read_text()
        .replace("S02,", "S01,")
        .replace(",dialogue,,unattributed", ",dialog,,unattributed"),
    )
    monkeypatch.setenv("COLLABGOV_ROOT", str(sandbox))
    monkeypatch.chdir(sandbox)
    assert cli.main(["build", "pujud"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert (
        "data/pujud/cases.xlsx:1: comment: kolom tidak dikenal; kolom yang diharapkan hanya: year, cases, suspects, source"
        in err
    )
    assert any("segments.csv:3: segment_id: nilai ganda 'S01'" in line for line in lines)
    assert reports.read_text() == "earlier report"
    fixed = [["year", "cases", "suspects", "source"], [2021, "empat belas", -3, None], [2021, 15, 23, "P"]]
    wb = openpyxl.Workbook()
    for row in fixed:
        wb.active.append(row)
    wb.save(folder / "cases.xlsx")
    assert cli.main(["validate", "pujud"]) == 2
    err = capsys.readouterr().err
    for expected in (
        "cases.xlsx:2: cases: seharusnya bilangan bulat, tertulis 'empat belas'",
        "cases.xlsx:2: suspects: seharusnya paling kecil 0, tertulis '-3'",
        "cases.xlsx:2: source: sel ini wajib diisi: seharusnya teks",
        "cases.xlsx:3: year: nilai ganda '2021': sudah ada di baris 2",
    ):
        assert expected in err, expected


def test_csv_and_xlsx_of_one_table_is_an_error(sandbox):
    shutil.copy(ROOT / "templates" / "cases.xlsx", sandbox / "data/pujud/cases.xlsx")
    assert "cases.csv dan cases.xlsx sama-sama ada" in str(validate_site(load_site(sandbox, "pujud")).items)


def test_a_new_site_in_a_kota_with_three_years_fits_its_region_and_its_years(tmp_path):
    """An urban kecamatan gets urban actors (no kepala desa, no tokoh adat), wording for Kota, texts that cite
    the trend over all years (no first-against-last comparison), and a to-do list, not a traceback."""
    (tmp_path / "data").mkdir()
    (tmp_path / "Makefile").write_text("")
    folder = new_site(tmp_path, "coblong", "Coblong", "Kota Bandung", [2022, 2023, 2024], "xlsx")
    site = load_site(tmp_path, "coblong")
    assert site.params["kabupaten_kind"] == "kota" and site.params["village_kinds"] == ["kelurahan"]
    actors = [r[0] for r in read_table(folder / "codebook.xlsx").rows if r[2] == "actor"]
    assert "lurah" in actors and "kepala_desa" not in actors and "tokoh_adat" not in actors
    text = (folder / "text/id/background_cases.md").read_text()
    assert "{{ cases_trend_rr }}" in text and "{{ cases_rate_ratio }}" not in text
    assert "Situs `coblong`: Kecamatan Coblong, Kota Bandung, Jawa Barat" in (folder / "README.md").read_text()
    said = [str(p) for p in validate_site(site).items]
    assert any("informants.xlsx: belum diisi" in p for p in said) and any(
        "segments.xlsx: belum diisi" in p for p in said
    )
    assert any("site.yaml:" in p and "study.title: bagian ini belum diisi" in p for p in said)
    assert not any("Traceback" in p or "KeyError" in p for p in said)
    # a two-year name in a three-year site: the names it most likely meant, and where all are listed
    results = folder / "text/id/results.md"
    results.write_text("Perubahan {{ cases_change }} dan {{ table:case }}.\n" + results.read_text())
    said = [str(p) for p in validate_site(site).items]
    assert any(
        "results.md:1: cases_change: tempat-isi tidak dikenal; yang mirip: cases_change_2022_2023, "
        "cases_change_2023_2024"
        in p
        and "docs/panduan.md" in p
        for p in said
    ), said
    assert any("results.md:1: table:case: tempat-isi tidak dikenal; yang mirip: table:case" in p for p in said), said


def test_a_rural_kecamatan_gets_village_actors(tmp_path):
    (tmp_path / "data").mkdir()
    folder = new_site(tmp_path, "bangko", "Bangko", "Rokan Hilir", [2023, 2024])
    actors = [r[0] for r in read_table(folder / "codebook.csv").rows if r[2] == "actor"]
    assert "kepala_desa" in actors and "lurah" in actors  # Bangko has both a kelurahan and desa
    assert "{{ cases_rate_ratio }}" in (folder / "text/id/background_cases.md").read_text()  # two years: the pair


def test_years_must_be_consecutive_for_a_new_site(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(UsageError, match="YEARS harus dua tahun atau lebih yang berurutan"):
        new_site(tmp_path, "x", "Pujud", "Rokan Hilir", [2021, 2023])


def test_the_committed_templates_are_what_make_templates_writes(tmp_path):
    """templates/ and docs/site_yaml.md are generated from the schemas: a schema change without
    `make templates` would leave students with stale columns or descriptions."""
    from collabgov.scaffold import write_templates

    (tmp_path / "docs").mkdir()
    write_templates(tmp_path / "templates")
    for made in sorted((tmp_path / "templates").iterdir()):
        assert made.read_bytes() == (ROOT / "templates" / made.name).read_bytes(), made.name
    assert (tmp_path / "docs/site_yaml.md").read_bytes() == (ROOT / "docs/site_yaml.md").read_bytes()


def test_a_synthetic_site_in_a_real_kecamatan_keeps_its_real_region(tmp_path, capsys, monkeypatch):
    """Made-up data about a real kecamatan (practice) names the real place: a made-up province beside a real
    kecamatan read as if the place were invented, and the report said nothing in it describes a real place."""
    from collabgov.cli import main

    (tmp_path / "data").mkdir()
    (tmp_path / "Makefile").write_text("")
    new_site(tmp_path, "latihan", "Coblong", "Kota Bandung", [2022, 2023], synthetic=True)
    params = load_site(tmp_path, "latihan").params
    assert params["synthetic"] is True
    assert {k: params[k] for k in ("provinsi", "region_code")} == {
        k: lookup_region("Coblong", "Kota Bandung")[k] for k in ("provinsi", "region_code")
    }
    argv = ["new-site", "rekaan", "--kecamatan", "Sukamaju", "--kabupaten", "Kota Contoh", "--synthetic"]
    monkeypatch.setenv("COLLABGOV_ROOT", str(tmp_path))
    assert main(argv) == 0
    assert "tidak ada di daftar Kemendagri: situs sintetis ini diberi wilayah rekaan" in capsys.readouterr().out


def test_a_synthetic_site_in_a_kota_is_worded_as_a_kota(tmp_path):
    """make new-site ... SYNTHETIC=1 looks nothing up, but 'Kota X' is still a kota with kelurahan (the report
    said 'Kabupaten Kota X')."""
    (tmp_path / "data").mkdir()
    (tmp_path / "Makefile").write_text("")
    folder = new_site(tmp_path, "latihan", "Sukamaju", "Kota Contoh", [2022, 2023, 2024], synthetic=True)
    params = load_site(tmp_path, "latihan").params
    assert params["synthetic"] is True and params["region_code"] == "00.00.00"
    assert (params["kabupaten"], params["kabupaten_kind"], params["village_kinds"]) == ("Contoh", "kota", ["kelurahan"])
    assert "Kecamatan Sukamaju, Kota Contoh" in (folder / "README.md").read_text()
    actors = [r[0] for r in read_table(folder / "codebook.csv").rows if r[2] == "actor"]
    assert "lurah" in actors and "kepala_desa" not in actors
    rural = new_site(tmp_path, "desa", "Sukamaju", "Kabupaten Contoh", [2022, 2023], synthetic=True)
    assert load_site(tmp_path, "desa").params["kabupaten"] == "Contoh"
    assert "Kabupaten Contoh" in (rural / "README.md").read_text()


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_unknown_placeholder_message_cites_a_section_the_guide_has(lang):
    """'semua nama ada di docs/panduan.md (bagian 6, "...")': that numbered section of that guide holds a
    heading of that title (and the table of every name below it)."""
    import re

    from collabgov.i18n import message

    said = message("placeholder_unknown", lang, known="x")
    guide, number, title = re.search(r'(docs/\w+\.md) \((?:bagian|section) (\d+), "([^"]+)"\)', said).groups()
    text = (ROOT / guide).read_text()
    section = re.search(rf"^## {number}\. .*?(?=^## \d+\. |\Z)", text, re.M | re.S)
    assert section and f"\n### {title}\n" in section.group(0), (guide, number, title)
    assert "`cases_trend_rr`" in section.group(0)


def test_the_guides_quote_the_makefile_lines_make_prints():
    """`make: *** [Makefile:N: target] Error 2` in the guides names the line of that target's collabgov command."""
    import re

    makefile = (ROOT / "Makefile").read_text().splitlines()
    quoted = set()
    for guide in ("docs/panduan.md", "docs/guide.md"):
        quoted |= set(re.findall(r"Makefile:(\d+): ([a-z-]+)\]", (ROOT / guide).read_text()))
    assert len(quoted) >= 5
    for line, target in quoted:
        start = next(i for i, text in enumerate(makefile) if text.startswith(f"{target}:"))
        command = next(i for i in range(start + 1, len(makefile)) if "-m collabgov" in makefile[i]) + 1
        assert int(line) == command, f"the guides quote Makefile:{line} for {target}; its command is on {command}"
