"""What a user meets at the command line: one clear line, a non-zero exit, no traceback."""

import subprocess
import sys

from conftest import ROOT, write


def run(*args, cwd=ROOT, env=None):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def test_make_unknown_site_fails_at_once_with_one_line():
    result = run("make", "--no-print-directory", "SITE=nosuchsite")
    assert result.returncode != 0
    lines = [x for x in result.stderr.splitlines() if x.strip() and not x.startswith("make")]
    assert len(lines) == 1 and "unknown site 'nosuchsite'" in lines[0] and "pujud" in lines[0]


def test_cli_unknown_site():
    result = run(sys.executable, "-m", "collabgov", "build", "nosuchsite")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "unknown site 'nosuchsite'" in result.stderr and "pujud" in result.stderr


def test_bad_data_is_reported_without_traceback_and_touches_nothing(sandbox):
    import os

    reports = sandbox / "reports" / "pujud"
    write(reports / "report.id.html", "earlier report")
    write(sandbox / "data/pujud/cases.csv", "year,cases,suspects,source\n2021,14,23,P\n2022,-15,23,P\n")
    env = dict(os.environ, COLLABGOV_ROOT=str(sandbox))
    result = run(sys.executable, "-m", "collabgov", "build", "pujud", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "data/pujud/cases.csv:3: cases: seharusnya paling kecil 0, tertulis '-15'" in result.stderr
    assert (reports / "report.id.html").read_text() == "earlier report"
    assert not (sandbox / "figures" / "pujud").exists()
