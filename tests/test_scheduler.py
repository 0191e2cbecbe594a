"""The scheduler on its own: order, limits and failures, with stand-ins for notebook runs, and what a real run
leaves behind. The steps run in worker processes started with "spawn", as on Windows and macOS: a stand-in is a
function of this module (``scheduler.run_step`` replaced), which each worker imports by its name."""

import json
import os
import time
import warnings
from pathlib import Path

import nbformat
import pytest

from collabgov import scheduler
from collabgov.scheduler import Job, Step

# how long a stand-in step takes: 02 is the long one
TAKES = {"01_case_table": 0.2, "02_stage_findings": 1.0, "report": 0.3}


def stand_in(step: Step, site: str, marks: str) -> float:
    """Writes when it started and ended into ``marks`` and takes its time. In site "dies", 02 ends its process as
    one killed from outside; in site "raises", 01 raises; in site "unpicklable", 01 raises what cannot be pickled."""
    started = time.time()
    time.sleep(TAKES[step.name.split(".")[0]])
    if site == "dies" and step.name == "02_stage_findings":
        os._exit(9)
    if site == "raises" and step.name == "01_case_table":
        raise ValueError("the notebook failed")
    if site == "unpicklable" and step.name == "01_case_table":
        raise ValueError(lambda: None)
    with open(marks, "a") as out:
        out.write(json.dumps([site, step.name, started, time.time(), os.getpid()]) + "\n")
    return time.time() - started


def site_of_four(site: str, marks: Path) -> list[Job]:
    analysis = ("01_case_table", "02_stage_findings")
    steps = [Step(name, f"{name}.ipynb", "id") for name in analysis]
    steps += [Step(f"report.{lang}", "report.ipynb", lang, after=analysis, exports=True) for lang in ("id", "en")]
    return [Job(site, step, (site, str(marks))) for step in steps]


def run(monkeypatch, jobs: list[Job], workers: int = 2) -> list[tuple]:
    """The events the build was told of, in order: ("started" | "done" | "failed", site, step[, value])."""
    monkeypatch.setattr(scheduler, "run_step", stand_in)
    events = []
    scheduler.run_all(
        jobs,
        workers,
        started=lambda job: events.append(("started", job.site, job.step.name)),
        done=lambda job, seconds: events.append(("done", job.site, job.step.name, seconds)),
        failed=lambda job, exc: events.append(("failed", job.site, job.step.name, exc)),
    )
    return events


def marks_of(marks: Path) -> dict[tuple[str, str], tuple[float, float, int]]:
    """(site, step) -> (started, ended, process id) of each stand-in that ran to its end."""
    lines = marks.read_text().splitlines() if marks.exists() else []
    return {(s, n): (a, b, pid) for s, n, a, b, pid in map(json.loads, lines)}


def test_a_report_runs_after_both_notebooks_of_its_site_and_another_site_fills_the_free_worker(monkeypatch, tmp_path):
    marks = tmp_path / "marks"
    events = run(monkeypatch, site_of_four("a", marks) + site_of_four("b", marks))
    seen = marks_of(marks)
    assert len(seen) == 8 and not [e for e in events if e[0] == "failed"]
    for site in "ab":
        analysis_end = max(seen[(site, n)][1] for n in ("01_case_table", "02_stage_findings"))
        assert all(seen[(site, f"report.{lang}")][0] >= analysis_end for lang in ("id", "en"))
    # b's case table ran while a's findings (the long one) still ran, rather than a worker waiting for a's reports
    assert seen[("b", "01_case_table")][0] < seen[("a", "02_stage_findings")][1]


def test_no_more_steps_run_at_once_than_the_workers(monkeypatch, tmp_path):
    marks = tmp_path / "marks"
    run(monkeypatch, site_of_four("a", marks) + site_of_four("b", marks) + site_of_four("c", marks), workers=2)
    spans = list(marks_of(marks).values())
    most = max(sum(1 for a, b, _ in spans if a <= t < b) for t, _, _ in spans)
    assert len(spans) == 12 and most == 2
    assert len({pid for _, _, pid in spans}) == 2  # the workers are kept from step to step


def test_a_failing_step_stops_its_site_only_and_its_text_reaches_the_build(monkeypatch, tmp_path):
    marks = tmp_path / "marks"
    events = run(monkeypatch, site_of_four("raises", marks) + site_of_four("b", marks), workers=1)
    failed = [e for e in events if e[0] == "failed"]
    assert [(e[1], e[2]) for e in failed] == [("raises", "01_case_table")]
    assert isinstance(failed[0][3], ValueError) and str(failed[0][3]) == "the notebook failed"
    assert not [e for e in events if e[0] == "started" and e[1] == "raises" and e[2].startswith("report")]
    assert {n for s, n in marks_of(marks) if s == "b"} == {
        "01_case_table",
        "02_stage_findings",
        "report.id",
        "report.en",
    }


def test_a_failure_that_cannot_cross_between_processes_still_reaches_the_build_as_text(monkeypatch, tmp_path):
    events = run(monkeypatch, site_of_four("unpicklable", tmp_path / "marks"), workers=1)
    (failed,) = [e for e in events if e[0] == "failed"]
    assert failed[2] == "01_case_table" and str(failed[3]).startswith("ValueError: <function")


def test_a_step_whose_process_dies_fails_and_the_build_goes_on_with_a_new_worker(monkeypatch, tmp_path):
    marks = tmp_path / "marks"
    events = run(monkeypatch, site_of_four("dies", marks) + site_of_four("b", marks), workers=1)
    failed = [e for e in events if e[0] == "failed"]
    assert [(e[1], e[2]) for e in failed] == [("dies", "02_stage_findings")]
    assert isinstance(failed[0][3], scheduler.StepProcessDied)
    assert {n for s, n in marks_of(marks) if s == "b"} == {
        "01_case_table",
        "02_stage_findings",
        "report.id",
        "report.en",
    }


def test_the_steps_start_no_process_by_fork(monkeypatch, tmp_path):
    """Python 3.12 and later warn that fork in a process with threads may deadlock; Windows and macOS have no
    safe fork at all. The build starts its workers by spawn everywhere, and nothing warns."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(monkeypatch, site_of_four("a", tmp_path / "marks"))
    assert not [w for w in caught if "fork" in str(w.message)]
    assert scheduler.SPAWN.get_start_method() == "spawn"


def test_a_failure_of_the_build_itself_waits_for_the_running_steps_and_is_raised(monkeypatch, tmp_path):
    """(Here the disk fills while a site is being published, with another site's step still running.)"""
    marks = tmp_path / "marks"
    monkeypatch.setattr(scheduler, "run_step", stand_in)

    def done(job, seconds):
        raise OSError(28, "No space left on device")

    jobs = [Job("a", Step("01_case_table", "01.ipynb", "id"), ("a", str(marks)))]
    jobs.append(Job("b", Step("02_stage_findings", "02.ipynb", "id"), ("b", str(marks))))
    with pytest.raises(OSError):
        scheduler.run_all(jobs, 2, started=lambda job: None, done=done, failed=lambda job, exc: None)
    assert set(marks_of(marks)) == {("a", "01_case_table"), ("b", "02_stage_findings")}  # b ran to its end


# --- a real run of a notebook ------------------------------------------------------------------------------


def tiny_compendium(root: Path, *sources: str) -> Path:
    """A notebooks/ folder with one notebook of ``sources`` after a parameters cell, as the build runs them."""
    parameters = nbformat.v4.new_code_cell('site = "x"\nlang = "id"')
    parameters.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[parameters, *map(nbformat.v4.new_code_cell, sources)])
    nb.metadata["kernelspec"] = {"name": scheduler.KERNEL, "display_name": scheduler.KERNEL, "language": "python"}
    (root / "notebooks").mkdir(parents=True)
    nbformat.write(nb, root / "notebooks" / "tiny.ipynb")
    return root


@pytest.mark.e2e
def test_an_executed_notebook_is_the_same_from_run_to_run_and_names_no_folder_of_the_machine(tmp_path):
    root = tiny_compendium(tmp_path / "a", "import os\nprint(site, lang)", "1 + 1")
    step = Step("tiny", "tiny.ipynb", "en")
    made = []
    for work in (tmp_path / "work-1", tmp_path / "work-2"):
        scheduler.run_step(step, "x", root, work, {})
        made.append(scheduler.executed_path(work, step).read_bytes())
    assert made[0] == made[1]
    text = made[0].decode()
    assert str(tmp_path) not in text and "x en" in text
    nb = nbformat.reads(text, as_version=4)
    assert nb.metadata.papermill.parameters == {"site": "x", "lang": "en"}
    assert nb.metadata.papermill.input_path == "notebooks/tiny.ipynb"
    assert "start_time" not in text and "duration" not in text


@pytest.mark.e2e
def test_a_notebook_that_fails_is_kept_as_it_ran_up_to_the_failing_cell(tmp_path):
    from papermill.exceptions import PapermillExecutionError

    root = tiny_compendium(tmp_path, "print('first')", "1 / 0", "print('never')")
    step = Step("tiny", "tiny.ipynb", "id")
    with pytest.raises(PapermillExecutionError):
        scheduler.run_step(step, "x", root, tmp_path / "work", {})
    text = scheduler.executed_path(tmp_path / "work", step).read_text()
    assert "first" in text and "ZeroDivisionError" in text and "never" not in text.replace("print('never')", "")
    assert str(tmp_path) not in text


@pytest.mark.e2e
def test_a_kernel_that_dies_while_its_notebook_runs_is_told_as_such_and_not_run_again(tmp_path):
    ran = tmp_path / "ran"
    root = tiny_compendium(tmp_path, f"open({str(ran)!r}, 'a').write('x')\nimport os\nos.kill(os.getpid(), 9)")
    with pytest.raises(scheduler.KernelDied):
        scheduler.run_step(Step("tiny", "tiny.ipynb", "id"), "x", root, tmp_path / "work", {})
    assert ran.read_text() == "x"  # once
