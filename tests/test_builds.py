"""Incremental, failure-safe and verifiable builds."""

import hashlib
import os
import signal
import subprocess
import sys

import pytest

from collabgov.build import build_sites
from collabgov.verify import compare

pytestmark = pytest.mark.e2e


def snapshot(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_nothing_changed_runs_no_notebook(built, capsys):
    before = snapshot(built / "reports/pujud")
    assert build_sites(built, ["pujud"], jobs=2) == []
    assert "'pujud' is up to date: no notebook to run" in capsys.readouterr().err
    assert snapshot(built / "reports/pujud") == before


def test_one_changed_table_reruns_only_what_reads_it(built, capsys):
    import json

    manifest = json.loads((built / "figures/pujud/MANIFEST.json").read_text())
    cases = built / "data/pujud/cases.csv"
    original = cases.read_text()
    try:
        cases.write_text(
            original.replace("as printed in the article's Tabel 1.1", "as printed in Tabel 1.1 of the article")
        )
        assert build_sites(built, ["pujud"], jobs=2) == []
        err = capsys.readouterr().err
        assert "3 of 4 notebooks to run" in err  # the case table notebook and both reports
        assert "[pujud] 01_case_table done" in err and "[pujud] report.id done" in err
        assert "02_stage_findings" not in err
        assert "as printed in Tabel 1.1 of the article" in (built / "reports/pujud/report.en.html").read_text()
    finally:
        cases.write_text(original)
        assert build_sites(built, ["pujud"], jobs=2) == []
    # the table changed back: the same bytes as before, PDF and DOCX included
    assert compare(manifest, built / "figures/pujud", built / "reports/pujud") == []


def test_verify_names_a_figure_changed_by_hand(built):
    import json

    manifest = json.loads((built / "figures/pujud/MANIFEST.json").read_text())
    assert compare(manifest, built / "figures/pujud", built / "reports/pujud") == []
    figure = built / "figures/pujud/trend.id.png"
    original = figure.read_bytes()
    try:
        figure.write_bytes(original + b"edited")
        assert compare(manifest, built / "figures/pujud", built / "reports/pujud") == ["figures/pujud/trend.id.png"]
    finally:
        figure.write_bytes(original)


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
        if "done in" in line:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    if not any("done in" in x for x in lines):
        pytest.fail("the build ended before any notebook finished:\n" + "".join(lines))
    assert (root / "build/pujud.tmp").exists()  # the half-made build, never moved into place
    assert {name: snapshot(root / name / "pujud") for name in ("figures", "reports")} == before
    assert build_sites(root, ["pujud"], jobs=2) == []  # nothing changed: nothing to rerun
    assert not (root / "build/pujud.tmp").exists()  # and the half-made build is cleared away
