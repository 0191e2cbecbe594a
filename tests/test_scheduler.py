"""The scheduler on its own: order, failures and the warm-up of the build process, with steps that stand in
for notebook runs (``run_step`` replaced; each step's process is forked from the test, so it runs the stand-in)."""

import gc
import json
import os
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import pytest

from collabgov import scheduler
from collabgov.scheduler import Job, Step

WARMED = []


def steps(site: str) -> list[Job]:
    analysis = [Step("01_case_table", "01.ipynb", "id"), Step("02_stage_findings", "02.ipynb", "id")]
    report = Step("report.id", "report.ipynb", "id", after=("01_case_table", "02_stage_findings"), exports=True)
    return [Job(site, step, (site,)) for step in analysis + [report]]


def stand_in(step: Step, site: str) -> float:
    """What a step saw of the build process when it ran: whether it was warmed up. It waits at its gate where a
    notebook run does (its kernel started), when it was started early."""
    scheduler.at_gate()
    if site == "dies" and step.name == "02_stage_findings":
        os._exit(9)  # as a process killed from outside
    if site == "raises" and step.name == "01_case_table":
        raise ValueError("the notebook failed")
    return float(len(WARMED))


def run(monkeypatch, jobs: list[Job], workers: int = 2):
    monkeypatch.setattr(scheduler, "run_step", stand_in)
    WARMED.clear()
    events = []
    scheduler.run_all(
        jobs,
        workers,
        done=lambda job, value: events.append(("done", job.key, job.step.name, value)),
        failed=lambda job, exc: events.append(("failed", job.key, job.step.name, exc)),
        started=lambda job: events.append(("started", job.key, job.step.name)),
        warm=lambda: WARMED.append("exporters"),
    )
    return events


def test_a_report_starts_after_both_notebooks_in_a_process_that_was_warmed_up_once(monkeypatch):
    events = run(monkeypatch, steps("a") + steps("b"))
    order = [(e[1], e[2]) for e in events if e[0] == "started"]
    for site in "ab":
        report = order.index((site, "report.id"))
        done = [i for i, e in enumerate(events) if e[0] == "done" and e[1] == site and e[2] != "report.id"]
        assert len(done) == 2 and max(done) < events.index(("started", site, "report.id"))
        assert report > order.index((site, "01_case_table"))
    assert WARMED == ["exporters"]  # once, in the build process
    reports = [e for e in events if e[0] == "done" and e[2] == "report.id"]
    assert [e[3] for e in reports] == [1.0, 1.0]  # each report's process inherited the warm-up


def test_a_step_whose_process_dies_fails_its_site_only(monkeypatch):
    events = run(monkeypatch, steps("dies") + steps("b"))
    failed = [e for e in events if e[0] == "failed"]
    assert [(e[1], e[2]) for e in failed] == [("dies", "02_stage_findings")]
    assert isinstance(failed[0][3], scheduler.StepProcessDied) and "9" in str(failed[0][3])
    assert ("started", "dies", "report.id") not in events  # its report never starts
    assert {e[2] for e in events if e[0] == "done" and e[1] == "b"} == {
        "01_case_table",
        "02_stage_findings",
        "report.id",
    }


def test_an_error_in_a_step_reaches_the_build_with_its_text(monkeypatch):
    events = run(monkeypatch, steps("raises"), workers=1)
    (failed,) = [e for e in events if e[0] == "failed"]
    assert failed[2] == "01_case_table" and isinstance(failed[3], ValueError)
    assert str(failed[3]) == "the notebook failed"
    assert WARMED == []  # no report ran: nothing to warm up for


def run_through_the_engine(tmp_path, monkeypatch, writes: list, *sources: str) -> None:
    """Run a notebook of ``sources`` through the build's papermill engine into out.ipynb (in ``tmp_path``, its
    working folder), adding each write of the executed notebook to ``writes``."""
    import nbformat
    import papermill
    import papermill.engines
    import papermill.execute
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    nb.metadata["kernelspec"] = {"name": scheduler.KERNEL, "display_name": scheduler.KERNEL, "language": "python"}
    nbformat.write(nb, tmp_path / "in.ipynb")
    real = papermill.engines.write_ipynb
    for module in (papermill.engines, papermill.execute):
        monkeypatch.setattr(module, "write_ipynb", lambda nb, path: writes.append(path) or real(nb, path))
    scheduler._register_engine()
    papermill.execute_notebook(
        str(tmp_path / "in.ipynb"),
        str(tmp_path / "out.ipynb"),
        kernel_name=scheduler.KERNEL,
        progress_bar=False,
        engine_name=scheduler.ENGINE,
        shutdown_kernel=scheduler.KERNEL_SHUTDOWN,
        cwd=str(tmp_path),
    )


@pytest.mark.e2e
def test_the_executed_notebook_is_written_once_and_also_when_a_cell_fails(tmp_path, monkeypatch):
    import nbformat
    from papermill.exceptions import PapermillExecutionError

    writes = []
    with pytest.raises(PapermillExecutionError):
        run_through_the_engine(tmp_path, monkeypatch, writes, "print('first')", "1 / 0", "print('never')")
    assert writes == [str(tmp_path / "out.ipynb")]  # once, at the end (papermill wrote it after every cell)
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    text = json.dumps(executed)
    assert "first" in text and "ZeroDivisionError" in text and "never" not in text.replace("print('never')", "")


def _cut_short() -> None:
    """run_all whose ``done`` fails while another step, still running, has a long failure to hand back."""
    import time

    def stand(step: Step, site: str) -> float:
        if site == "long":
            time.sleep(0.5)
            raise ValueError("x" * 200_000)  # more than a pipe holds
        return 0.0

    def done(job, value):
        raise OSError(28, "No space left on device")

    scheduler.run_step = stand
    try:
        scheduler.run_all(
            [Job("long", Step("01_case_table", "01.ipynb", "id"), ("long",)), Job("b", steps("b")[0].step, ("b",))],
            2,
            done=done,
            failed=lambda job, exc: None,
            started=lambda job: None,
        )
    except OSError:
        os._exit(0)
    os._exit(1)


def test_a_build_cut_short_still_reads_what_its_running_steps_hand_back():
    import multiprocessing

    process = multiprocessing.get_context("fork").Process(target=_cut_short)
    process.start()
    process.join(20)
    if process.is_alive():
        process.kill()
    assert process.exitcode == 0  # it ended, with the failure of ``done``


# how long a stand-in step takes (``marked``): 02 is the long one, so that the reports start early meanwhile
TAKES = {"01_case_table": 0.1, "02_stage_findings": 1.0, "report": 0.5}


@dataclass
class Mark:
    """What a stand-in step said of its run: when it was forked, ran (its gate opened) and ended, its niceness, and
    how many objects its garbage collector leaves alone."""

    forked: float
    ran: float
    ended: float
    niceness: int
    frozen: int


def marked(step: Step, site: str, marks: str) -> float:
    """A stand-in that waits at its gate where a notebook run does, takes its time (none in site "quick") and
    says so in ``marks`` (``marks_of``); in site "fails", 02 fails."""
    import time

    forked = time.monotonic()
    scheduler.at_gate()
    ran = time.monotonic()
    if site != "quick":
        time.sleep(TAKES[step.name.split(".")[0]])
    with open(marks, "a") as out:
        out.write(f"{step.name} {forked} {ran} {time.monotonic()} {os.nice(0)} {gc.get_freeze_count()}\n")
    if site == "fails" and step.name == "02_stage_findings":
        raise ValueError("02 failed")
    return 0.0


def marks_of(marks: Path) -> dict[str, Mark]:
    """step name -> what it said (nothing when no step ran)."""
    lines = (line.split() for line in marks.open()) if marks.exists() else ()
    return {name: Mark(float(f), float(r), float(e), int(n), int(z)) for name, f, r, e, n, z in lines}


def site_of_four(site: str, marks) -> list[Job]:
    analysis = ("01_case_table", "02_stage_findings")
    step_list = [Step(name, f"{name}.ipynb", "id") for name in analysis]
    step_list += [Step(f"report.{lang}", "report.ipynb", lang, after=analysis, exports=True) for lang in ("id", "en")]
    return [Job(site, step, (site, str(marks))) for step in step_list]


def test_a_free_worker_starts_a_waiting_step_early_and_it_runs_when_its_steps_are_done(monkeypatch, tmp_path):
    """With 01 done and 02 still running, both reports are forked (their kernels start) but run only after 02."""
    import time

    monkeypatch.setattr(scheduler, "run_step", marked)
    marks, events = tmp_path / "marks.txt", []
    scheduler.run_all(
        site_of_four("a", marks),
        2,
        done=lambda job, value: events.append(("done", job.step.name, time.monotonic())),
        failed=lambda job, exc: events.append(("failed", job.step.name, exc)),
        started=lambda job: events.append(("started", job.step.name, time.monotonic())),
    )
    seen = {name: (m.forked, m.ran) for name, m in marks_of(marks).items()}
    finding_done = next(t for kind, name, t in events if kind == "done" and name == "02_stage_findings")
    for report in ("report.id", "report.en"):
        forked, ran = seen[report]
        assert forked < finding_done - 0.5  # forked while 02 still ran
        assert ran >= finding_done  # and ran after it
        started = next(t for kind, name, t in events if kind == "started" and name == report)
        assert started >= finding_done  # told as started when it ran
    assert {name for kind, name, _ in events if kind == "done"} == {
        "01_case_table",
        "02_stage_findings",
        "report.id",
        "report.en",
    }


def test_a_step_started_early_never_runs_when_a_step_it_waits_for_fails(monkeypatch, tmp_path):
    monkeypatch.setattr(scheduler, "run_step", marked)
    marks, events = tmp_path / "marks.txt", []
    scheduler.run_all(
        site_of_four("fails", marks),
        2,
        done=lambda job, value: events.append(("done", job.step.name)),
        failed=lambda job, exc: events.append(("failed", job.step.name, str(exc))),
        started=lambda job: events.append(("started", job.step.name)),
    )
    ran = set(marks_of(marks))
    assert ran == {"01_case_table", "02_stage_findings"}  # the reports waited at their gates, then ended
    assert [e for e in events if e[0] == "failed"] == [("failed", "02_stage_findings", "02 failed")]
    assert ("started", "report.id") not in events and ("started", "report.en") not in events


def leaves_a_temporary_file(step: Step, site: str, marks: str) -> float:
    handle, path = tempfile.mkstemp(suffix=".json")  # as a kernel's connection file is made
    os.close(handle)
    with open(marks, "a") as out:
        out.write(path + "\n")
    if site == "fails":
        raise KeyboardInterrupt  # as an interruption while a kernel starts
    return 0.0


def test_a_steps_temporary_files_are_removed_however_it_ends(monkeypatch, tmp_path):
    monkeypatch.setattr(scheduler, "run_step", leaves_a_temporary_file)
    marks = tmp_path / "marks.txt"
    jobs = [Job(site, Step("01_case_table", "01.ipynb", "id"), (site, str(marks))) for site in ("ok", "fails")]
    scheduler.run_all(jobs, 2, done=lambda *a: None, failed=lambda *a: None, started=lambda job: None)
    paths = [line.strip() for line in marks.open()]
    assert len(paths) == 2
    for path in paths:
        assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path)), path
        assert os.path.dirname(path) != tempfile.gettempdir()


def test_steps_started_early_run_no_more_at_once_than_the_jobs_allow(monkeypatch, tmp_path):
    """Three reports wait at their gates while 02 runs; when it ends, two run at once (jobs=2), not three."""
    monkeypatch.setattr(scheduler, "run_step", marked)
    marks = tmp_path / "marks.txt"
    analysis = ("01_case_table", "02_stage_findings")
    step_list = [Step(name, f"{name}.ipynb", "id") for name in analysis]
    step_list += [Step(f"report.{x}", "report.ipynb", "id", after=analysis, exports=True) for x in ("a", "b", "c")]
    jobs = [Job("s", step, ("s", str(marks))) for step in step_list]
    scheduler.run_all(jobs, 2, done=lambda *a: None, failed=lambda *a: None, started=lambda job: None)
    spans = [(m.ran, m.ended) for m in marks_of(marks).values()]
    assert len(spans) == 5
    most = max(sum(b <= t < e for b, e in spans) for t, _ in spans)
    assert most <= 2, spans


@pytest.mark.e2e
def test_a_step_cancelled_at_its_gate_runs_no_cell_shuts_its_kernel_and_writes_nothing(tmp_path, monkeypatch):
    import multiprocessing

    gate_in, gate_out = multiprocessing.Pipe(duplex=False)
    gate_out.close()  # the build closed the gate: a step it waited for failed
    told, writes = [], []
    monkeypatch.setattr(scheduler, "_gate", gate_in)
    monkeypatch.setattr(scheduler, "_ready", lambda: told.append("ready"))
    with pytest.raises(scheduler.StepCancelled):
        run_through_the_engine(tmp_path, monkeypatch, writes, "import json", "open('ran', 'w').write('x')")
    assert told == ["ready"] and writes == [] and not (tmp_path / "ran").exists()


SLOW_IMPORT = """import time
time.sleep(3)
open("imported", "w").write(str(time.time()))
"""


def answered_during_the_warm_up(tmp_path, monkeypatch, word):
    """A step at its gate whose notebook imports a module that takes 3 s: the build answers (``word``: "go", or
    None to close the gate) 0.5 s after the step said it waits. Returns when it said so (time.time)."""
    import multiprocessing
    import threading
    import time

    (tmp_path / "slow_module.py").write_text(SLOW_IMPORT)
    gate_in, gate_out = multiprocessing.Pipe(duplex=False)
    told = []

    def ready():
        told.append(time.time())
        answer = (lambda: gate_out.send(("go", time.monotonic()))) if word == "go" else gate_out.close
        threading.Timer(0.5, answer).start()

    monkeypatch.setattr(scheduler, "_gate", gate_in)
    monkeypatch.setattr(scheduler, "_ready", ready)
    run_through_the_engine(tmp_path, monkeypatch, [], "import slow_module", "open('ran', 'w').write('x')")
    return told[0]


@pytest.mark.e2e
def test_a_step_says_it_waits_once_its_kernel_is_up_and_runs_when_told_during_the_warm_up(tmp_path, monkeypatch):
    told = answered_during_the_warm_up(tmp_path, monkeypatch, "go")
    assert told < float((tmp_path / "imported").read_text())  # before its warm-up, not after
    assert (tmp_path / "ran").read_text() == "x"  # its cells ran, after the warm-up


@pytest.mark.e2e
def test_a_gate_closed_during_the_warm_up_ends_the_step_without_waiting_for_it(tmp_path, monkeypatch):
    with pytest.raises(scheduler.StepCancelled):
        answered_during_the_warm_up(tmp_path, monkeypatch, None)
    assert not (tmp_path / "imported").exists()  # its kernel was stopped in the middle of the import
    assert not (tmp_path / "ran").exists()


def checked_site(monkeypatch, tmp_path, workers: int, verdict):
    """A site of four run with ``check``: what was forked and ran (from ``marks``), when the check ran, what was told."""
    import time

    monkeypatch.setattr(scheduler, "run_step", marked)
    marks, events, checked = tmp_path / "marks.txt", [], []

    def check():
        time.sleep(0.4)  # the site is checked while the first steps' kernels start
        checked.append(time.monotonic())
        return verdict()

    try:
        scheduler.run_all(
            site_of_four("quick", marks),
            workers,
            done=lambda job, value: events.append(("done", job.step.name)),
            failed=lambda job, exc: events.append(("failed", job.step.name)),
            started=lambda job: events.append(("started", job.step.name)),
            check=check,
        )
    finally:
        seen = {name: (m.forked, m.ran) for name, m in marks_of(marks).items()}
    return seen, checked[0], events


def test_the_first_steps_start_while_their_site_is_checked_and_run_once_it_passed(monkeypatch, tmp_path):
    seen, checked, events = checked_site(monkeypatch, tmp_path, 2, lambda: True)
    for name in ("01_case_table", "02_stage_findings"):
        forked, ran = seen[name]
        assert forked < checked - 0.2 and ran >= checked  # forked before the check ended, ran after it
    assert {e[1] for e in events if e[0] == "done"} == set(seen) and len(seen) == 4


def test_no_step_runs_when_its_site_fails_its_check(monkeypatch, tmp_path):
    seen, _, events = checked_site(monkeypatch, tmp_path, 2, lambda: False)
    assert seen == {} and events == []  # forked, then ended at their gates, untold


def test_what_the_check_raises_is_raised_once_the_steps_started_for_it_have_ended(monkeypatch, tmp_path):
    import multiprocessing

    def broken():
        raise ValueError("the site has errors")

    with pytest.raises(ValueError, match="the site has errors"):
        checked_site(monkeypatch, tmp_path, 2, broken)
    assert multiprocessing.active_children() == []
    assert not (tmp_path / "marks.txt").exists()


def test_with_one_job_the_site_is_checked_before_any_step_starts(monkeypatch, tmp_path):
    seen, checked, _ = checked_site(monkeypatch, tmp_path, 1, lambda: True)
    assert len(seen) == 4 and min(forked for forked, _ in seen.values()) > checked


def test_a_kernel_started_early_runs_its_notebooks_imports_and_loads_what_opening_its_site_would():
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_markdown_cell("import os"),
            new_code_cell('site = "x"'),
            new_code_cell("from collabgov.context import open_site\nctx = open_site(site)\nimport json"),
            new_code_cell("from collabgov import figures\nif True:\n    import csv"),
            new_code_cell("%matplotlib inline"),  # not Python: left out
        ]
    )
    lines = scheduler.warm_up(nbformat.from_dict(nb)).splitlines()
    assert lines[:3] == ["from collabgov.context import open_site", "import json", "from collabgov import figures"]
    assert lines[3] == "__import__('collabgov.context', fromlist=['preload']).preload(True)"  # draws: matplotlib
    nb.cells.pop(3)
    assert scheduler.warm_up(nbformat.from_dict(nb)).endswith(".preload(False)")
    nb.cells.pop(2)
    assert scheduler.warm_up(nbformat.from_dict(nb)) == ""  # opens no site: nothing to load


PRELOADED = """
import sys
from collabgov import cases, coding
from collabgov.context import open_site, preload
from collabgov.report import Report
preload(False)
before = set(sys.modules)
ctx = open_site("pujud", "id", sys.argv[1], sys.argv[2])
cases.yearly_summary(cases.load_case_table(ctx.data_dir, "id", ctx.years))
coding.load_coded_data(ctx.data_dir, "id")
report = Report(ctx)
report.title(), report.abstracts()
print(" ".join(sorted(m for m in set(sys.modules) - before if m.split(".")[0] not in sys.stdlib_module_names)))
"""


@pytest.mark.e2e  # a Python process of its own that loads the whole stack (3 s)
def test_once_preloaded_opening_a_site_and_reading_its_tables_loads_no_library(root, tmp_path):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", PRELOADED, str(tmp_path), str(root)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == []


def test_the_temporary_folder_of_a_step_killed_outright_is_removed_by_the_next_build(monkeypatch, tmp_path):
    import multiprocessing
    import time

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = multiprocessing.get_context("fork").Process(target=os._exit, args=(0,))
    gone.start()
    gone.join()
    orphan = Path(tempfile.mkdtemp(prefix=f"{scheduler.SCRATCH}{gone.pid}-"))
    (orphan / "kernel-1.json").write_text("{}")
    recent = Path(tempfile.mkdtemp(prefix=f"{scheduler.SCRATCH}{gone.pid}-"))  # maybe a build beside this one
    alive = Path(tempfile.mkdtemp(prefix=f"{scheduler.SCRATCH}{os.getpid()}-"))  # a step still running
    odd = [tmp_path / f"{scheduler.SCRATCH}{name}-x" for name in ("99999999999999999999", "²", "", "x1")]
    for folder in [orphan, alive, *odd]:
        folder.mkdir(exist_ok=True)
        os.utime(folder, (time.time() - 7200,) * 2)
    scheduler.run_all([], 2, done=lambda *a: None, failed=lambda *a: None, started=lambda job: None)
    assert not orphan.exists()
    assert recent.is_dir() and alive.is_dir() and all(folder.is_dir() for folder in odd)


def test_a_step_started_early_to_wait_for_others_gives_way_to_them(monkeypatch, tmp_path):
    monkeypatch.setattr(scheduler, "run_step", marked)
    marks = tmp_path / "marks.txt"
    scheduler.run_all(
        site_of_four("a", marks), 2, done=lambda *a: None, failed=lambda *a: None, started=lambda job: None
    )
    niceness = {name: m.niceness for name, m in marks_of(marks).items()}
    own = os.nice(0)
    assert niceness["01_case_table"] == niceness["02_stage_findings"] == own
    assert niceness["report.id"] == niceness["report.en"] == min(own + scheduler.EARLY_NICENESS, 19)


def test_a_step_finds_what_the_build_holds_set_aside_from_its_garbage_collector_and_no_garbage(monkeypatch, tmp_path):
    monkeypatch.setattr(scheduler, "run_step", marked)
    marks = tmp_path / "marks.txt"

    class Cycle:
        pass

    garbage = Cycle()
    garbage.me = garbage
    gone = weakref.ref(garbage)
    del garbage  # unreachable, and only a collection frees it
    gc.disable()  # (not the automatic one)
    try:
        scheduler.run_all(
            site_of_four("quick", marks), 2, done=lambda *a: None, failed=lambda *a: None, started=lambda job: None
        )
        assert len(marks_of(marks)) == 4 and all(m.frozen > 0 for m in marks_of(marks).values())
        assert gone() is None  # collected before it could be set aside for good
    finally:
        gc.enable()
        gc.unfreeze()
