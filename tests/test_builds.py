"""Incremental, failure-safe and verifiable builds: recorded inputs, one build per site, all-or-nothing publishing."""

import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from collabgov import publish
from collabgov.build import build_sites
from collabgov.verify import differing_files

pytestmark = pytest.mark.e2e


def snapshot(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def edit_cell(path, row, column, value):
    """Change one cell of a CSV file, as a spreadsheet would."""
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8"))))
    rows[row][rows[0].index(column)] = value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), "utf-8")


def ran(err: str) -> set[str]:
    return {
        line.split("]", 1)[1].split(":")[0].strip()
        for line in err.splitlines()
        if line.startswith("[pujud] ") and not line.rstrip().endswith("...")
    }


def test_nothing_changed_runs_no_notebook(built, capsys):
    before = snapshot(built / "reports/pujud")
    assert build_sites(built, ["pujud"], jobs=2) == []
    assert "situs 'pujud' sudah mutakhir: tidak ada notebook yang perlu dijalankan" in capsys.readouterr().err
    assert snapshot(built / "reports/pujud") == before


def test_a_notebook_reruns_when_a_table_it_has_started_to_read_changes(built, capsys):
    """Inputs are recorded as the notebooks read them, not declared: claims.csv is read by the report
    only, until the case-table notebook starts reading it too; from then on it reruns when claims change."""
    manifest = json.loads((built / "figures/pujud/MANIFEST.json").read_text())
    claims, notebook = built / "data/pujud/claims.csv", built / "notebooks/01_case_table.ipynb"
    original_claims, original_notebook = claims.read_bytes(), notebook.read_bytes()
    try:
        edit_cell(claims, 1, "text_en", "The totals are 29 cases and 46 suspects (edited).")
        assert build_sites(built, ["pujud"], jobs=2) == []
        assert ran(capsys.readouterr().err) == {"report.id", "report.en"}  # only what reads claims.csv

        nb = nbformat.read(notebook, as_version=4)
        nb.cells.append(
            nbformat.v4.new_code_cell(
                'from collabgov.tables import load_table\nlen(load_table(ctx.data_dir, "claims", ctx.lang))'
            )
        )
        nbformat.write(nb, notebook)
        assert build_sites(built, ["pujud"], jobs=2) == []
        assert ran(capsys.readouterr().err) == {"01_case_table", "report.id", "report.en"}

        edit_cell(claims, 1, "text_en", "The totals are 29 cases and 46 suspects (edited again).")
        assert build_sites(built, ["pujud"], jobs=2) == []
        assert ran(capsys.readouterr().err) == {"01_case_table", "report.id", "report.en"}  # now it reads claims
        assert "(edited again)" in (built / "reports/pujud/report.en.html").read_text()
    finally:
        claims.write_bytes(original_claims)
        notebook.write_bytes(original_notebook)
        assert build_sites(built, ["pujud"], jobs=2) == []
    # back as it was: the same bytes as before, PDF and DOCX included
    assert differing_files(manifest, built / "figures/pujud", built / "reports/pujud") == []


def test_verify_names_a_figure_changed_by_hand(built):
    manifest = json.loads((built / "figures/pujud/MANIFEST.json").read_text())
    assert differing_files(manifest, built / "figures/pujud", built / "reports/pujud") == []
    figure = built / "figures/pujud/trend.id.png"
    original = figure.read_bytes()
    try:
        figure.write_bytes(original + b"edited")
        assert differing_files(manifest, built / "figures/pujud", built / "reports/pujud") == [
            "figures/pujud/trend.id.png"
        ]
    finally:
        figure.write_bytes(original)


def test_a_second_build_of_the_same_site_waits_for_the_first(built):
    """While one build holds the site's lock, a second says so in one line and waits; then it goes on."""
    env = dict(os.environ, COLLABGOV_ROOT=str(built))
    with publish.site_lock(built, "pujud", "id"):
        proc = subprocess.Popen(
            [sys.executable, "-m", "collabgov", "build", "pujud"], env=env, stderr=subprocess.PIPE, text=True
        )
        first = proc.stderr.readline()
        time.sleep(1)
        assert proc.poll() is None  # still waiting
    rest = proc.communicate(timeout=120)[1]
    assert "sedang berjalan; menunggu" in first and "Traceback" not in rest
    assert proc.returncode == 0 and "sudah mutakhir" in rest


def test_a_publish_cut_off_half_way_is_rolled_back(built, monkeypatch):
    """A rename that fails after figures/ moved in puts the old figures back: never new figures beside
    old reports. A journal left by a killed publish is rolled back by the next build."""
    before = {name: snapshot(built / name / "pujud") for name in ("figures", "reports")}
    work = built / "build" / "pujud.half"
    for name in ("figures", "report"):
        (work / name).mkdir(parents=True)
        (work / name / "new.txt").write_text("new")
    real, calls = os.replace, []

    def failing(src, dst):  # reports/ is read-only: every rename inside it fails
        calls.append(dst)
        if "/reports/" in str(src) or "/reports/" in str(dst):
            raise OSError(30, "Read-only file system")
        return real(src, dst)

    monkeypatch.setattr(publish.os, "replace", failing)
    with pytest.raises(OSError):
        publish.publish(work, built, "pujud")
    monkeypatch.setattr(publish.os, "replace", real)
    assert {name: snapshot(built / name / "pujud") for name in ("figures", "reports")} == before
    assert not (built / "build/pujud.publish.json").exists() and any("figures" in str(c) for c in calls)

    # a publish killed after the figures moved: the journal is there, the new figures are in place
    journal = built / "build/pujud.publish.json"
    aside = built / "figures/.pujud.old"
    os.replace(built / "figures/pujud", aside)
    os.replace(work / "figures", built / "figures/pujud")
    journal.write_text(
        json.dumps(
            {
                "moves": [
                    {"from": str(built / "figures/pujud"), "to": str(aside)},
                    {"from": str(work / "figures"), "to": str(built / "figures/pujud")},
                ]
            }
        )
    )
    assert build_sites(built, ["pujud"], jobs=2) == []
    assert {name: snapshot(built / name / "pujud") for name in ("figures", "reports")} == before
    assert not journal.exists()


def test_a_killed_build_leaves_the_previous_outputs_as_they_were(built):
    root = built
    before = {name: snapshot(root / name / "pujud") for name in ("figures", "reports")}
    env = dict(os.environ, COLLABGOV_ROOT=str(root))
    proc = subprocess.Popen(
        [sys.executable, "-m", "collabgov", "build", "pujud", "--force", "--jobs", "2"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines = []
    for line in proc.stderr:  # kill it once the notebooks are running and some outputs are written
        lines.append(line)
        if line.startswith("[pujud] 01_case_table:"):
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    if not any(x.startswith("[pujud] 01_case_table:") for x in lines):
        pytest.fail("the build ended before any notebook finished:\n" + "".join(lines))
    assert (root / "build/pujud.tmp").exists()  # the half-made build, never moved into place
    assert {name: snapshot(root / name / "pujud") for name in ("figures", "reports")} == before
    assert build_sites(root, ["pujud"], jobs=2) == []  # nothing changed: nothing to rerun
    assert not (root / "build/pujud.tmp").exists()  # and the half-made build is cleared away
