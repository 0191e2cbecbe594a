"""The bad-input corpus: every broken input gets its own clear error, and nothing built changes.
Plus a property-based test of the table loader."""

import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collabgov.build import build_sites
from collabgov.errors import DataError
from collabgov.site_import import import_into_site
from collabgov.sites import load_site
from collabgov.tables import read_table, validate_table
from collabgov.validation import validate_site
from conftest import ROOT, compendium, examples

CORPUS = yaml.safe_load((ROOT / "tests/bad_inputs/corpus.yaml").read_text())


@pytest.fixture
def site(tmp_path):
    """A copy of the compendium with Pujud's data and stand-ins for earlier outputs."""
    compendium(tmp_path, "pujud", notebooks=True)
    for folder in ("figures", "reports"):
        out = tmp_path / folder / "pujud"
        out.mkdir(parents=True)
        (out / "earlier.txt").write_text("an earlier, good build")
    return tmp_path


def fails_cleanly(root: Path, expect: str, action=None):
    before = {p: p.read_bytes() for p in (root / "figures").rglob("*") if p.is_file()}
    before |= {p: p.read_bytes() for p in (root / "reports").rglob("*") if p.is_file()}
    with pytest.raises(DataError) as exc:
        action() if action else build_sites(root, ["pujud"], jobs=1)
    assert expect in str(exc.value), str(exc.value)
    after = {
        p: p.read_bytes()
        for p in list((root / "figures").rglob("*")) + list((root / "reports").rglob("*"))
        if p.is_file()
    }
    assert after == before
    assert not (root / "build" / "pujud.tmp").exists()


def validated(root: Path):
    """What `make validate` finds (as a DataError, as a build raises it)."""
    problems = validate_site(load_site(root, "pujud"))
    problems.raise_if_errors()


@pytest.mark.parametrize("case", CORPUS, ids=[c["id"] for c in CORPUS])
def test_corpus(site, case):
    path = site / "data/pujud" / case["file"]
    if case.get("delete"):
        path.unlink()
    elif "write" in case:
        path.write_text(case["write"], "utf-8")
    else:
        old, new = case["replace"]
        text = path.read_text("utf-8")
        assert old in text, f"corpus case {case['id']} does not apply: {old!r} not in {case['file']}"
        path.write_text(text.replace(old, new, 1), "utf-8")
    # every case through validation; the first few through a whole build, which must change nothing
    fails_cleanly(site, case["expect"], None if CORPUS.index(case) < 3 else lambda: validated(site))


def write_bytes(site, name, data: bytes):
    (site / "data/pujud/cases.csv").unlink()
    (site / "data/pujud" / name).write_bytes(data)


def test_truncated_xlsx(site, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["year", "cases", "suspects", "source"])
    wb.save(tmp_path / "good.xlsx")
    write_bytes(site, "cases.xlsx", (tmp_path / "good.xlsx").read_bytes()[:900])
    fails_cleanly(site, "cases.xlsx: buku kerja .xlsx tidak dapat dibaca")


def test_csv_saved_as_xlsx(site):
    write_bytes(site, "cases.xlsx", b"year,cases,suspects,source\n2021,14,23,P\n")
    fails_cleanly(site, "cases.xlsx: buku kerja .xlsx tidak dapat dibaca")


def test_binary_file_as_csv(site):
    write_bytes(site, "cases.csv", b"\x00\x01\x02PK\x03\x04" * 50)
    fails_cleanly(site, "cases.csv: ini bukan berkas tabel teks")


def test_very_large_file(site):
    path = site / "data/pujud/cases.csv"
    with open(path, "r+b") as fh:
        fh.truncate(51 * 1024 * 1024)  # sparse: costs no disk
    fails_cleanly(site, "cases.csv: berkas lebih besar dari 50 MB")


def test_both_csv_and_xlsx(site):
    shutil.copy(ROOT / "templates/cases.xlsx", site / "data/pujud/cases.xlsx")
    fails_cleanly(site, "cases.csv dan cases.xlsx sama-sama ada")


def zip_with(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


QDE = b"<Project xmlns='urn:QDA-XML:project:1.0'/>"


# Pujud is an Indonesian site: its import errors are in Indonesian.
@pytest.mark.parametrize(
    "name, members, expect",
    [
        (
            "bomb",
            {"project.qde": QDE, "sources/a.txt": b"\0" * (80 * 1024 * 1024)},
            "mengembang menjadi data yang terlalu besar",
        ),
        ("escape", {"project.qde": QDE, "sources/../../../etc/passwd": b"x"}, "jalur di luar foldernya sendiri"),
        ("absolute", {"project.qde": QDE, "/etc/passwd": b"x"}, "jalur di luar foldernya sendiri"),
        ("empty", {}, "seharusnya ada satu berkas proyek .qde"),
        (
            "two-projects",
            {"a.qde": QDE, "b.qde": QDE},
            "seharusnya ada satu berkas proyek .qde di dalam arsip, ditemukan 2",
        ),
        (
            "missing-source",
            {
                "project.qde": b"<Project xmlns='urn:QDA-XML:project:1.0'><Sources><TextSource guid='g' name='T' "
                b"plainTextPath='internal://g.txt'/></Sources></Project>"
            },
            "teks sumber 'internal://g.txt' tidak ada di folder sumber arsip",
        ),
    ],
)
def test_bad_qdpx_is_refused_and_the_site_is_unchanged(site, tmp_path, name, members, expect):
    qdpx = zip_with(tmp_path / f"{name}.qdpx", members)
    folder = site / "data/pujud"
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    fails_cleanly(site, expect, lambda: import_into_site(site, "pujud", qdpx))
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_truncated_qdpx(site, tmp_path):
    qdpx = zip_with(tmp_path / "whole.qdpx", {"project.qde": QDE * 100})
    cut = tmp_path / "cut.qdpx"
    cut.write_bytes(qdpx.read_bytes()[:60])
    fails_cleanly(site, "bukan berkas .qdpx (zip) yang dapat dibaca", lambda: import_into_site(site, "pujud", cut))


# --- property-based: the loader either returns the cells it was given or names a problem ----------

cells = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12).map(str.strip)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(cells, min_size=4, max_size=4), min_size=1, max_size=6),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_read_table_round_trips_what_a_spreadsheet_writes(tmp_path, rows, delimiter, encoding):
    import csv
    import io

    header = ["year", "cases", "suspects", "source"]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows([header] + rows)
    path = tmp_path / "cases.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    raw = read_table(path)
    assert raw.header == header
    kept = [r for r in rows if any(r)]
    assert raw.rows == kept
    try:
        typed = validate_table(raw, "cases")
    except DataError as exc:
        assert exc.problems and all(p.file.endswith("cases.csv") for p in exc.problems)
    else:
        assert [[str(r["year"]), str(r["cases"]), str(r["suspects"])] for r in typed] == [
            [str(int(c.replace(".", "").replace(",", ""))) for c in r[:3]] for r in kept
        ]


def test_problems_are_listed_file_by_file_and_line_by_line(site):
    """make validate lists one file's problems together, by line, whatever check found them first (an unfilled
    part was listed before raw HTML above it)."""
    text = site / "data/pujud/text/id/conclusions.md"
    text.write_text("<b>Kesimpulan</b>\n\n[TULIS: kesimpulan]\n\n<i>akhir</i>\n", "utf-8")
    (site / "data/pujud/cases.csv").write_text("year,cases,suspects,source\n2021,-1,x,a\n2022,3,4,b\n", "utf-8")
    with pytest.raises(DataError) as exc:
        validated(site)
    where = [(Path(p.file).name, p.row, p.column) for p in exc.value.problems]
    assert where[:2] == [("cases.csv", 2, "cases"), ("cases.csv", 2, "suspects")]
    assert [row for name, row, _ in where if name == "conclusions.md"] == [1, 3, 5]


def test_a_text_that_is_not_utf8_is_named_with_its_line(site):
    text = site / "data/pujud/text/id/aim.md"
    text.write_bytes("Tujuan penelitian – ringkas.\n\nKecamatan dengan kafe".encode() + b" caf\xe9.\n")
    with pytest.raises(DataError) as exc:
        validated(site)
    assert "aim.md:3: bukan teks UTF-8: simpan ulang berkas sebagai teks UTF-8" in str(exc.value)


@pytest.mark.e2e
def test_with_two_jobs_the_notebooks_started_while_the_site_was_checked_end_unrun_and_leave_nothing(site):
    """The analysis notebooks' kernels start while the site is checked; a bad cell still fails cleanly."""
    import multiprocessing

    (site / "data/pujud/cases.csv").write_text(
        (site / "data/pujud/cases.csv").read_text("utf-8").replace(",14,", ",empat belas,", 1), "utf-8"
    )
    fails_cleanly(site, "cases.csv:2: cases", lambda: build_sites(site, ["pujud"], jobs=2))
    assert multiprocessing.active_children() == []
    assert not (site / "build/pujud.failed").exists()  # no notebook ran: none is kept
