"""Hostile site folders: a site is data, never code or a door.

Each case of ``tests/hostile/corpus.yaml`` changes one file of a copy of the SYNTHETIC site and must be
refused by validation with its message; no case may run code, read outside the site or fetch anything.
The cases below it need files that YAML cannot describe: links, pipes, sizes, bytes, a local server.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from collabgov import export, texts
from collabgov.errors import DataError
from collabgov.sites import load_site
from collabgov.tables import read_table, write_table
from collabgov.validation import validate_site
from conftest import ROOT, compendium, copy_tree

CORPUS = yaml.safe_load((ROOT / "tests/hostile/corpus.yaml").read_text())
MARKER = Path("/tmp/collabgov-pwned")


@pytest.fixture
def site(tmp_path):
    """A copy of the compendium's SYNTHETIC site, to break."""
    return compendium(tmp_path, "sintetis", ignore=shutil.ignore_patterns("import"))


def problems_of(root: Path) -> str:
    """Everything validation says about the site, or what loading it says."""
    try:
        return "\n".join(str(p) for p in validate_site(load_site(root, "sintetis")).items)
    except DataError as exc:
        return "\n".join(str(p) for p in exc.problems)


def apply(folder: Path, case: dict) -> None:
    path = folder / case["file"]
    if "write" in case:
        path.write_text(case["write"], "utf-8")
    elif "append" in case:
        path.write_text(path.read_text("utf-8") + case["append"], "utf-8")
    else:
        key, line = case["set"]
        text = path.read_text("utf-8")
        new, n = re.subn(rf"^{key}:.*$", lambda m: line, text, count=1, flags=re.M)
        assert n == 1, f"case {case['id']} does not apply: no top-level '{key}:' in {case['file']}"
        path.write_text(new, "utf-8")


@pytest.mark.parametrize("case", CORPUS, ids=[c["id"] for c in CORPUS])
def test_corpus(site, case):
    MARKER.unlink(missing_ok=True)
    apply(site / "data/sintetis", case)
    said = problems_of(site)
    assert case["expect"] in said, said
    assert not MARKER.exists()


def test_the_reported_attack_neither_runs_nor_builds(site):
    """The !!pairs attack of the issue, through the command line: exit 2, one problem, no code run."""
    MARKER.unlink(missing_ok=True)
    apply(site / "data/sintetis", CORPUS[0])
    env = dict(os.environ, COLLABGOV_ROOT=str(site))
    result = subprocess.run(
        [sys.executable, "-m", "collabgov", "build", "sintetis"], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "tidak diizinkan" in result.stderr
    assert not MARKER.exists() and not (site / "figures").exists()


def test_every_text_file_as_a_link_is_refused_without_reading_it(site, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET-LINE\n")
    folder = site / "data/sintetis"
    for lang in ("id", "en"):
        for section in texts.SECTIONS:
            path = folder / "text" / lang / f"{section}.md"
            path.unlink()
            path.symlink_to(secret)
    said = problems_of(site)
    assert "SECRET-LINE" not in said
    for lang in ("id", "en"):
        for section in texts.SECTIONS:
            assert f"text/{lang}/{section}.md: tautan simbolik (symlink) tidak diizinkan" in said


@pytest.mark.parametrize("name", ["site.yaml", "cases.xlsx", "codebook.csv", "informants.csv", "segments.csv"])
def test_a_linked_input_is_refused_by_name_and_its_target_never_printed(site, monkeypatch, name):
    secret = site / "data" / "secret.csv"  # inside the project: a path that could be shown relative
    secret.write_text("SECRET-FIRST-LINE,a,b\n1,2,3\n")
    path = site / "data/sintetis" / name
    path.unlink()
    path.symlink_to(secret)
    monkeypatch.chdir(site)
    said = problems_of(site)
    assert "SECRET" not in said and "secret.csv" not in said  # the link is named, never its target
    assert f"data/sintetis/{name}: tautan simbolik" in said or f"data/sintetis/{name}: symbolic link" in said, said


def test_a_linked_folder_and_a_pipe_are_refused(site, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    folder = site / "data/sintetis"
    (folder / "images").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    os.mkfifo(folder / "notes.fifo")
    said = problems_of(site)
    assert "images: tautan simbolik (symlink) tidak diizinkan" in said
    assert "notes.fifo: bukan berkas biasa" in said


def test_the_site_folder_itself_as_a_link_is_not_a_site(tmp_path):
    copy_tree(ROOT / "data/sintetis", tmp_path / "real", ignore=shutil.ignore_patterns("import"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data/sintetis").symlink_to(tmp_path / "real", target_is_directory=True)
    from collabgov.errors import UsageError

    with pytest.raises(UsageError):
        load_site(tmp_path, "sintetis")


def test_a_huge_site_yaml_is_refused_without_reading_it(site):
    path = site / "data/sintetis/site.yaml"
    with open(path, "r+b") as fh:
        fh.truncate(52 * 1024 * 1024)  # sparse: costs no disk
    said = problems_of(site)
    # in the language its first lines declare (default_language: id), not in both
    assert "site.yaml: berkas lebih besar dari 1 MB" in said and "larger than" not in said, said


def test_site_yaml_that_is_not_text(site):
    (site / "data/sintetis/site.yaml").write_bytes(b"\xff\xfe\x00\x00kecamatan: \xc3\x28\n")
    assert "bukan teks UTF-8" in problems_of(site)


def test_an_image_inside_the_site_is_allowed_and_embedded(site):
    folder = site / "data/sintetis"
    (folder / "images").mkdir()
    shutil.copy(ROOT / "tests/fixtures/pixel.png", folder / "images/pixel.png")
    abstract = folder / "text/en/abstract.md"
    abstract.write_text(abstract.read_text() + "\n![A pixel](images/pixel.png)\n")
    said = problems_of(site)
    assert "abstract.md" not in said, said
    html = texts.render(folder, "en", "abstract", lambda key: "0", "en")
    assert "data:image/png;base64," in html


def test_an_image_that_is_not_an_image_is_refused(site):
    folder = site / "data/sintetis"
    (folder / "images").mkdir()
    (folder / "images/fake.png").write_text("not a picture")
    abstract = folder / "text/en/abstract.md"
    abstract.write_text(abstract.read_text() + "\n![x](images/fake.png)\n")
    assert "bukan gambar PNG atau JPEG" in problems_of(site)


# --- the second wall: converters get no way out --------------------------------------------------


@pytest.fixture
def server():
    """A local web server that counts the requests it gets."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()


@pytest.mark.parametrize("src", ["file:///etc/passwd", "/etc/passwd", "{server}/a.png"])
def test_pdf_export_reads_no_file_and_fetches_nothing(tmp_path, server, src):
    url, hits = server
    page = tmp_path / "page.html"
    page.write_text(f"<html><body><p>x</p><img src='{src.format(server=url)}'></body></html>")
    (tmp_path / "scratch").mkdir()
    with pytest.raises(export.OutsideResource):
        export.export_pdf(page, tmp_path / "page.pdf", tmp_path / "scratch")
    assert hits == []
    assert not (tmp_path / "page.pdf").exists()


@pytest.mark.parametrize(
    "tag",
    [
        "<img src='/etc/passwd'>",
        "<img src='file:///etc/passwd'>",
        "<img src='{server}/a.png'>",
        "<link rel='stylesheet' href='{server}/a.css'>",
        "<video poster='{server}/p.png'></video>",
    ],
)
def test_docx_export_refuses_a_page_that_names_anything_outside(tmp_path, server, tag):
    url, hits = server
    page = tmp_path / "page.html"
    page.write_text(f"<html><body><p>x</p>{tag.format(server=url)}</body></html>")
    (tmp_path / "scratch").mkdir()
    with pytest.raises(export.OutsideResource):
        export.export_docx(page, tmp_path / "page.docx", tmp_path / "scratch")
    assert hits == [] and not (tmp_path / "page.docx").exists()


# --- text written for spreadsheets is never a formula ---------------------------------------------


FORMULAS = ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0", "'=quoted", "plain"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_spreadsheet_text_is_never_a_formula_and_reads_back_unchanged(tmp_path, suffix):
    path = write_table(tmp_path / f"t{suffix}", ["id", "text"], [[str(i), f] for i, f in enumerate(FORMULAS)])
    if suffix == ".csv":
        for line in path.read_text().splitlines()[1:]:
            cell = line.split(",", 1)[1].strip('"')
            assert not cell.startswith(("=", "+", "-", "@", "\t")), line
    else:
        import openpyxl

        ws = openpyxl.load_workbook(path).active
        assert all(c.data_type == "s" for c in ws["B"][1:])
    assert [row[1] for row in read_table(path).rows] == FORMULAS


@pytest.mark.parametrize(
    "image, expect",
    [
        (
            "images/../../../foto-luar.jpg",
            "documents.xlsx:2: image: seharusnya nama berkas di dalam folder situs yang berakhiran .png, .jpg, atau .jpeg",
        ),
        ("images/tidak-ada.jpg", "documents.xlsx:2: image: gambar 'images/tidak-ada.jpg' tidak dapat dipakai"),
        (
            "images/catatan.png",
            "documents.xlsx:2: image: gambar 'images/catatan.png' tidak dapat dipakai: bukan gambar PNG atau JPEG",
        ),
        ("images/tautan.png", "images/tautan.png: tautan simbolik (symlink) tidak diizinkan"),  # the link by name
    ],
)
def test_a_documentation_image_that_cannot_be_shown_is_found_before_the_build(site, monkeypatch, image, expect):
    """documents.image is checked by `validate` (row, column, in the site's language), not first by the build."""
    folder = site / "data/sintetis"
    (folder / "images").mkdir(exist_ok=True)
    (folder / "images/catatan.png").write_text("not an image")
    if image == "images/tautan.png":
        (folder / image).symlink_to(site / "data" / "README.md")
    path = folder / "documents.xlsx"
    table = read_table(path)
    row = {"document_id": "D1", "stage": "dialogue", "source": "SYNTHETIC", "locator": "p. 1", "image": image}
    write_table(path, table.header, [[row.get(column, "") for column in table.header]])
    monkeypatch.chdir(site)
    said = problems_of(site)
    assert f"data/sintetis/{expect}" in said, said
    assert "README" not in said


def test_every_image_problem_is_found_in_one_pass_whatever_the_other_rows_hold(site, monkeypatch):
    """A refused path in one row does not hide a missing file in another (one to-do list, not two rounds)."""
    folder = site / "data/sintetis"
    path = folder / "documents.xlsx"
    table = read_table(path)
    rows = []
    for n, image in enumerate(["../foto-luar.jpg", "images/tidak-ada.jpeg"], start=1):
        row = {"document_id": f"D{n}", "stage": "dialogue", "source": "SYNTHETIC", "locator": "p. 1", "image": image}
        rows.append([row.get(column, "") for column in table.header])
    write_table(path, table.header, rows)
    monkeypatch.chdir(site)
    said = problems_of(site)
    assert "documents.xlsx:2: image: seharusnya nama berkas" in said
    assert "documents.xlsx:3: image: gambar 'images/tidak-ada.jpeg' tidak dapat dipakai" in said
    assert said.count("documents.xlsx:2:") == 1  # the refused path is told once, by the row check
