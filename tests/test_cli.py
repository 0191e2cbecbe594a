"""What a user meets at the command line: one clear line, a non-zero exit, no traceback."""

import errno
import subprocess
import sys

import pytest

from collabgov import cli
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
    # one job: no kernel starts while the site is checked (with two, see test_bad_inputs)
    result = run(sys.executable, "-m", "collabgov", "build", "pujud", "--jobs", "1", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "data/pujud/cases.csv:3: cases: seharusnya paling kecil 0, tertulis '-15'" in result.stderr
    assert (reports / "report.id.html").read_text() == "earlier report"
    assert not (sandbox / "figures" / "pujud").exists()
    # the check stops the build before any notebook runs: none is told of, nothing is kept
    assert "GAGAL" not in result.stderr and "Kernel" not in result.stderr
    assert not (sandbox / "build" / "pujud.failed").exists() and not (sandbox / "build" / "pujud.tmp").exists()


# --- every operating-system failure is one line in the user's language, with a non-zero exit -------


@pytest.mark.parametrize(
    "failure, exit_code, said",
    [
        (OSError(errno.ENOSPC, "No space left on device"), 1, "disk penuh"),
        (OSError(errno.EROFS, "Read-only file system"), 1, "hanya-baca"),
        (PermissionError(errno.EACCES, "Permission denied"), 1, "izin ditolak"),
        (MemoryError(), 1, "memori tidak cukup"),
        (KeyboardInterrupt(), 130, "dihentikan"),
        (RuntimeError("something unforeseen"), 70, "galat internal (RuntimeError: something unforeseen)"),
    ],
)
def test_failures_end_in_one_line_in_the_sites_language(monkeypatch, capsys, sandbox, failure, exit_code, said):
    def fail(*args, **kwargs):
        raise failure

    monkeypatch.setenv("COLLABGOV_ROOT", str(sandbox))
    monkeypatch.setattr(cli, "build_sites", fail)
    assert cli.main(["build", "pujud"]) == exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0] and "Traceback" not in err[0], err
    if exit_code == 70:
        assert "Traceback" in (sandbox / "build/last-error.txt").read_text()  # kept for a bug report


@pytest.mark.e2e
def test_a_failing_notebook_leaves_only_its_executed_notebooks_and_says_where(sandbox):
    """A step that fails (here: the disk is full) is told in one line; build/<site>.failed/ holds the
    notebooks as they ran, nothing else is left, and the earlier outputs are untouched."""
    import os

    import nbformat

    for name in ("01_case_table.ipynb", "02_stage_findings.ipynb"):
        path = sandbox / "notebooks" / name
        nb = nbformat.read(path, as_version=4)
        nb.cells.insert(2, nbformat.v4.new_code_cell("raise OSError(28, 'No space left on device')"))
        nbformat.write(nb, path)
    write(sandbox / "reports/pujud/report.id.html", "earlier report")
    env = dict(os.environ, COLLABGOV_ROOT=str(sandbox))
    result = run(sys.executable, "-m", "collabgov", "build", "pujud", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "disk penuh" in result.stderr and "build/pujud.failed/" in result.stderr
    assert all(line.count("tidak diubah") <= 1 for line in result.stderr.splitlines()), result.stderr
    failed = sandbox / "build/pujud.failed"
    assert failed.is_dir() and {p.suffix for p in failed.iterdir()} == {".ipynb"}
    assert not (sandbox / "build/pujud.tmp").exists()
    assert (sandbox / "reports/pujud/report.id.html").read_text() == "earlier report"


def test_make_lab_runs_as_root_in_containers():
    import os

    result = run("make", "-n", "--no-print-directory", "lab")
    assert ("--allow-root" in result.stdout) == (os.getuid() == 0), result.stdout


def test_validate_lists_the_tables_problems_even_while_site_yaml_cannot_be_read(sandbox, monkeypatch, capsys):
    """In-process (the test above runs a real process): the whole to-do list, and the usual summary."""
    with open(sandbox / "data/pujud/site.yaml", "a") as fh:
        fh.write("kecamatan: [unclosed\n")
    write(sandbox / "data/pujud/informants.csv", "informant_id,role_id,role_en,role_status,basis_id,basis_en\n")
    (sandbox / "data/pujud/catatan.csv").symlink_to(sandbox / "Makefile")  # a link the build would refuse
    monkeypatch.setenv("COLLABGOV_ROOT", str(sandbox))
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.chdir(sandbox)
    assert cli.main(["validate", "pujud"]) == 2
    err = capsys.readouterr().err
    assert "site.yaml" in err and "bukan YAML yang sah" in err  # the site's language
    assert "data/pujud/informants.csv: belum diisi" in err
    assert "data/pujud/catatan.csv: tautan simbolik (symlink) tidak diizinkan" in err
    assert err.strip().splitlines()[-1] == (  # the same summary as when site.yaml reads
        "situs 'pujud': 3 masalah harus diperbaiki sebelum laporan dapat dibuat (0 peringatan); "
        "tidak ada yang dibuat atau diubah"
    )


def test_no_catalogue_text_uses_a_field_name_the_lookup_itself_takes():
    """message(key, lang, **values) and label(...): a text with {lang} or {key} could never be filled."""
    import string

    from collabgov.i18n import catalog

    def texts(node):
        if isinstance(node, dict):
            for value in node.values():
                yield from texts(value)
        elif isinstance(node, str):
            yield node

    for lang in ("id", "en"):
        found = list(texts(catalog(lang)))
        assert len(found) > 100
        for text in found:
            fields = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            assert not fields & {"lang", "key", "prefix"}, text


def test_a_reader_that_goes_away_is_not_an_internal_error(tmp_path):
    """`make validate | head -0`: the output has nowhere to go; that is no bug to report."""
    import os

    env = dict(os.environ, COLLABGOV_ROOT=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "collabgov", "validate", "pujud"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    proc.stdout.close()  # before the command writes its first line
    err = proc.stderr.read().decode()
    assert proc.wait() == 141
    assert "galat internal" not in err and "Traceback" not in err


def test_a_second_ctrl_c_while_the_build_is_stopping_gives_no_traceback(monkeypatch, capsys):
    """A second Ctrl-C that arrived while the first was being reported (the site's language being read)
    ended the command in a traceback (exit -2, not 130)."""
    import os
    import signal

    def interrupted(args, root):
        raise KeyboardInterrupt

    def language_read_while_pressed(args, root):
        os.kill(os.getpid(), signal.SIGINT)  # the second press, delivered now
        return "id"

    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    monkeypatch.setattr(cli, "_language", language_read_while_pressed)
    monkeypatch.setattr(cli, "cmd_build", interrupted)
    try:
        assert cli.main(["build", "pujud"]) == cli.EXIT["interrupted"]
    finally:
        signal.signal(signal.SIGINT, before)
    assert "Traceback" not in capsys.readouterr().err
