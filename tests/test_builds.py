"""Incremental, failure-safe and verifiable builds: recorded inputs, one build per site, all-or-nothing publishing."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from collabgov import build, publish, scheduler
from collabgov.build import build_sites
from collabgov.tables import read_table, write_table
from collabgov.verify import differing_files
from conftest import ROOT, compendium, copy_tree

pytestmark = pytest.mark.e2e


def snapshot(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def write_claim(path, text_en):
    """The claims table with one SYNTHETIC normative claim, written as a spreadsheet would."""
    header = read_table(path).header
    row = {
        "claim_id": "C1",
        "locator": "SINTETIS",
        "check": "normative",
        "reason_id": "SINTETIS: kalimat tentang apa yang seharusnya.",
        "reason_en": "SYNTHETIC: a sentence about what ought to be.",
        "text_id": "SINTETIS: warga seharusnya ikut menjaga ketertiban.",
        "text_en": text_en,
    }
    write_table(path, header, [[row.get(column, "") for column in header]])


def ran(err: str, site: str = "pujud") -> set[str]:
    return {
        line.split("]", 1)[1].split(":")[0].strip()
        for line in err.splitlines()
        if line.startswith(f"[{site}] ") and not line.rstrip().endswith("...")
    }


def test_nothing_changed_runs_no_notebook(built, capsys):
    before = snapshot(built / "reports/pujud")
    assert build_sites(built, ["pujud"], jobs=2) == []
    assert "situs 'pujud' sudah mutakhir: tidak ada notebook yang perlu dijalankan" in capsys.readouterr().err
    assert snapshot(built / "reports/pujud") == before


def stand_in_notebooks(folder):
    """The build's three notebooks as stand-ins that each read one table through the package's loaders (as the
    real ones do, in more cells): 01 the case table, 02 the codebook, the report the claims table."""
    reads = {
        "01_case_table": "from collabgov import cases\ncases.load_case_table(ctx.data_dir, ctx.lang, ctx.years)",
        "02_stage_findings": "from collabgov import coding\ncoding.load_codebook(ctx.data_dir, ctx.lang).stages",
        "report": 'from collabgov.tables import load_table\nlen(load_table(ctx.data_dir, "claims", ctx.lang))',
    }
    folder.mkdir()
    for name, source in reads.items():
        parameters = nbformat.v4.new_code_cell('site = "sintetis"\nlang = "id"\noutput_dir = None\nroot = None')
        parameters.metadata["tags"] = ["parameters"]
        opening = nbformat.v4.new_code_cell(
            "from collabgov.context import open_site\n\nctx = open_site(site, lang, output_dir, root)"
        )
        cells = [parameters, opening, nbformat.v4.new_code_cell(source)]
        real = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=real.metadata), folder / f"{name}.ipynb")


def test_a_notebook_reruns_when_a_table_it_has_started_to_read_changes(sandbox_of_notebooks, capsys):
    """Inputs are recorded as the notebooks read them, not declared: the claims table is read by the report
    only, until the case-table notebook starts reading it too; from then on it reruns when claims change.
    (Stand-in notebooks on the SYNTHETIC site: the recording is the loaders', whatever a notebook holds.)"""
    root = sandbox_of_notebooks
    claims, notebook = root / "data/sintetis/claims.xlsx", root / "notebooks/01_case_table.ipynb"
    original_claims, original_notebook = claims.read_bytes(), notebook.read_bytes()
    assert build_sites(root, ["sintetis"], jobs=2) == []
    manifest = json.loads((root / "figures/sintetis/MANIFEST.json").read_text())
    capsys.readouterr()

    write_claim(claims, "SYNTHETIC: residents ought to help keep order.")
    assert build_sites(root, ["sintetis"], jobs=2) == []
    assert ran(capsys.readouterr().err, "sintetis") == {"report.id", "report.en"}  # only what reads claims

    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            'from collabgov.tables import load_table\nlen(load_table(ctx.data_dir, "claims", ctx.lang))'
        )
    )
    nbformat.write(nb, notebook)
    assert build_sites(root, ["sintetis"], jobs=2) == []
    assert ran(capsys.readouterr().err, "sintetis") == {"01_case_table", "report.id", "report.en"}

    write_claim(claims, "SYNTHETIC: residents ought to help keep order (edited).")
    assert build_sites(root, ["sintetis"], jobs=2) == []
    assert ran(capsys.readouterr().err, "sintetis") == {"01_case_table", "report.id", "report.en"}  # now it reads it

    claims.write_bytes(original_claims)
    notebook.write_bytes(original_notebook)
    assert build_sites(root, ["sintetis"], jobs=2) == []
    assert ran(capsys.readouterr().err, "sintetis") == {"01_case_table", "report.id", "report.en"}
    # back as it was: the same bytes as before, PDF and DOCX included
    assert differing_files(manifest, root / "figures/sintetis", root / "reports/sintetis") == []


@pytest.fixture
def sandbox_of_notebooks(tmp_path):
    root = tmp_path / "compendium"
    compendium(root, "sintetis")
    stand_in_notebooks(root / "notebooks")
    return root


def test_a_notebook_saved_during_a_build_is_what_the_next_build_runs(sandbox_of_notebooks, monkeypatch, capsys):
    """A build runs copies of the notebooks made when it checked the site, and records those as what ran: a notebook
    saved meanwhile (from JupyterLab, say) runs in the next build."""
    root = sandbox_of_notebooks
    notebook = root / "notebooks/01_case_table.ipynb"
    checked = build.check_site

    def check_then_save(*args, **kwargs):
        checked(*args, **kwargs)
        nb = nbformat.read(notebook, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell("saved = 'during the build'"))
        nbformat.write(nb, notebook)

    monkeypatch.setattr(build, "check_site", check_then_save)
    assert build_sites(root, ["sintetis"], jobs=2) == []
    monkeypatch.undo()
    executed = root / "reports/sintetis/executed/01_case_table.ipynb"
    assert "during the build" not in executed.read_text()
    capsys.readouterr()
    assert build_sites(root, ["sintetis"], jobs=2) == []
    assert ran(capsys.readouterr().err, "sintetis") == {"01_case_table", "report.id", "report.en"}
    assert "during the build" in executed.read_text()


def test_another_python_reruns_every_step(monkeypatch):
    """The report and the executed notebooks name the Python they ran with."""
    before = scheduler.code_digest()
    monkeypatch.setattr(scheduler.platform, "python_version", lambda: "3.99.0")
    assert scheduler.code_digest() != before


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


def build_until(root, prefix: str, ignoring: bool = False) -> tuple[subprocess.Popen, list[str]]:
    """A forced build of Pujud in a session of its own (as from a terminal), its lines read up to the first that
    starts with ``prefix``; ``ignoring``: started with Ctrl-C ignored, as some parents leave it (``cmd &``)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "collabgov", "build", "pujud", "--force", "--jobs", "2"],
        env=dict(os.environ, COLLABGOV_ROOT=str(root)),
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignoring else None,
    )
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith(prefix):
            break
    return proc, lines


def ended(pids: set[int]) -> None:
    """Wait until the processes ``pids`` have ended (a kernel checks on its parent every second); fail after 10 s."""
    for _ in range(50):
        if not any(alive(pid) for pid in pids):
            return
        time.sleep(0.2)
    pytest.fail(f"processes of the build outlived it: {[pid for pid in pids if alive(pid)]}")


def test_a_killed_build_leaves_the_previous_outputs_as_they_were(built):
    root = built
    before = {name: snapshot(root / name / "pujud") for name in ("figures", "reports")}
    # kill it once the notebooks are running and some outputs are written
    proc, lines = build_until(root, "[pujud] 01_case_table:")
    started = descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    ended(started)  # its kernels, in sessions of their own, outlive it by a second and may still write meanwhile
    if not any(x.startswith("[pujud] 01_case_table:") for x in lines):
        pytest.fail("the build ended before any notebook finished:\n" + "".join(lines))
    assert (root / "build/pujud.tmp").exists()  # the half-made build, never moved into place
    assert {name: snapshot(root / name / "pujud") for name in ("figures", "reports")} == before
    assert build_sites(root, ["pujud"], jobs=2) == []  # nothing changed: nothing to rerun
    assert not (root / "build/pujud.tmp").exists()  # and the half-made build is cleared away


def descendants(pid: int) -> set[int]:
    """Every process started, directly or not, by ``pid`` (Linux's /proc), kernels in sessions of their own too."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        here = todo.pop()
        children = [child for child, parent in parents.items() if parent == here]
        found.update(children)
        todo += children
    return found


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_ctrl_c_stops_the_running_notebooks_and_every_process_of_the_build_without_a_traceback(built):
    """Ctrl-C in a terminal reaches the build and its workers (one process group): the running notebooks stop,
    nbclient shuts their kernels down (a kernel is in a session of its own), and the build ends without waiting
    for them to finish, a second Ctrl-C or not, and when it was started with Ctrl-C ignored (the workers, which take
    it, stop it); nothing writes into the build folder once it is gone."""
    before = {name: snapshot(built / name / "pujud") for name in ("figures", "reports")}
    for presses, ignoring in ((1, False), (2, False), (1, True)):
        proc, lines = build_until(built, "[pujud] 02_stage_findings ...", ignoring)
        for _ in range(150):  # until a kernel is up and running cells
            started = descendants(proc.pid)
            if any("ipykernel" in command_of(pid) for pid in started):
                break
            time.sleep(0.2)
        time.sleep(1)
        started = descendants(proc.pid)
        for _ in range(presses):
            os.killpg(proc.pid, signal.SIGINT)
            time.sleep(0.5)
        rest = proc.communicate(timeout=60)[1]
        assert proc.returncode == 130, "".join(lines) + rest
        assert "Traceback" not in rest and "dihentikan" in rest
        # stopped, not run to its end (a notebook that ran to its end is kept with the others)
        assert not (built / "build/pujud.failed/02_stage_findings.ipynb").exists()
        ended(started)
        assert not (built / "build/pujud.tmp").exists()  # nothing wrote into the build folder once it was gone
    assert {name: snapshot(built / name / "pujud") for name in ("figures", "reports")} == before


def test_a_batch_tells_and_skips_a_site_with_bad_data_and_builds_the_others(sandbox_of_notebooks, capsys):
    """`make all-sites` for a course: one folder's bad cell does not stop the others (stand-in notebooks)."""
    root = sandbox_of_notebooks
    copy_tree(root / "data/sintetis", root / "data/rusak")
    cases = root / "data/rusak/cases.xlsx"
    table = read_table(cases)
    rows = [list(r) for r in table.rows]
    rows[0][table.header.index("cases")] = "dua belas"
    write_table(cases, table.header, rows)
    assert build_sites(root, ["rusak", "sintetis"], jobs=2) == ["rusak"]
    err = capsys.readouterr().err
    assert "data/rusak/cases.xlsx:2: cases: seharusnya bilangan bulat, tertulis 'dua belas'" in err
    assert "[rusak] 1 masalah harus diperbaiki; tidak ada yang dibuat atau diubah" in err
    assert ran(err, "sintetis") == {"01_case_table", "02_stage_findings", "report.id", "report.en"}
    assert (root / "reports/sintetis/report.id.pdf").is_file() and not (root / "reports/rusak").exists()
    assert not (root / "build/rusak.tmp").exists()


def kernel_never_started(step, slug, root_, work, *args):
    """A stand-in for a step's run (in a worker, which imports it from this module)."""
    (work / "report" / "executed").mkdir(parents=True, exist_ok=True)
    raise RuntimeError("Kernel died before replying to kernel_info")


def test_a_step_that_fails_before_its_notebook_ran_names_no_folder_of_notebooks(
    sandbox_of_notebooks, monkeypatch, capsys
):
    """A kernel that never started leaves no notebook: the failure is told, and no folder is named or kept (an
    earlier failed build's is replaced)."""
    root = sandbox_of_notebooks
    monkeypatch.setattr(scheduler, "run_step", kernel_never_started)
    earlier = publish.failed_folder(root, "sintetis")
    earlier.mkdir(parents=True)
    (earlier / "01_case_table.ipynb").write_text("{}")
    assert build_sites(root, ["sintetis"], jobs=1, force=True) == ["sintetis"]
    err = capsys.readouterr().err
    assert "[sintetis] 01_case_table GAGAL: RuntimeError: Kernel died before replying to kernel_info" in err
    assert "build/sintetis.failed" not in err and not earlier.exists()
