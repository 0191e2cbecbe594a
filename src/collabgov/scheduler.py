"""Which notebooks a build must run, and running them in a pool of processes.

A site's build is a handful of steps: one papermill run of one notebook in one language. A step
is rerun when its fingerprint changed: the package's code and pinned environment, the notebook,
the steps it waits for, and every site file the step read the last time it ran, as the package's
loaders recorded it (``inputs.read_bytes`` and ``inputs.glob``). Nothing is declared by hand: a
notebook that starts reading another table reruns when that table changes.

The steps of one or several sites run ``jobs`` at a time in a pool of worker processes
(``concurrent.futures.ProcessPoolExecutor``), each step as soon as the steps it waits for are done:
the analysis notebooks first, then the reports. The workers are started with the "spawn" method on
every system, as Windows and macOS must start them: a build behaves the same everywhere.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import pickle
import platform
import signal
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from . import inputs

KERNEL = os.environ.get("COLLABGOV_KERNEL", "collabgov")
# A kernel whose notebook has run to the end is stopped at once: everything it makes is written by its cells
# (figures, tables, the record of what it read, appended as it reads), and a polite shutdown only waits for
# the interpreter to free its objects.
KERNEL_SHUTDOWN = "immediate"


@dataclass(frozen=True)
class Step:
    """One papermill run of one notebook (in one language), and the steps it waits for."""

    name: str
    notebook: str
    lang: str
    after: tuple[str, ...] = field(default=())
    exports: bool = False  # True for the report: exported to HTML, PDF and DOCX afterwards


def plan(site) -> list[Step]:
    """The site's notebooks and the order their dependencies allow; independent steps may run at once."""
    steps = [
        Step("01_case_table", "01_case_table.ipynb", site.lang),
        Step("02_stage_findings", "02_stage_findings.ipynb", site.lang),
    ]
    analysis = tuple(s.name for s in steps)
    steps += [Step(f"report.{lang}", "report.ipynb", lang, after=analysis, exports=True) for lang in site.languages]
    return steps


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def code_digest() -> str:
    """The package's own files, the pinned environment and the Python running it (the report and the executed
    notebooks name it): a change to any reruns every step."""
    package = Path(__file__).parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    lock = [p for p in (package.parents[1] / "requirements.lock",) if p.is_file()]
    states = (f"{p.name}:{inputs.state(p.parent, 'file', p.name)}" for p in files + lock)
    return digest(*states, KERNEL, platform.python_implementation(), platform.python_version())


def fingerprints(steps: list[Step], reads: dict[str, list], folder: Path, root: Path, code: str, extra: str) -> dict:
    """step name -> fingerprint, with each step's recorded reads (``reads[name]``) as ``folder`` holds them now."""
    out: dict[str, str] = {}
    for step in steps:
        notebook = (root / "notebooks" / step.notebook).read_bytes()
        seen = [
            f"{kind}:{name}:{inputs.state(folder, kind, name)}" for kind, name in sorted(map(tuple, reads[step.name]))
        ]
        out[step.name] = digest(
            code, step.lang, notebook, *seen, *(out[a] for a in step.after), extra if step.exports else ""
        )
    return out


def stale(steps: list[Step], stamps: dict, folder: Path, root: Path, code: str, extra: str) -> list[Step]:
    """The steps whose fingerprint differs from the one stamped after the last build."""
    recorded = stamps.get("steps", {})
    if any(s.name not in recorded for s in steps):
        return list(steps)
    reads = {s.name: recorded[s.name]["reads"] for s in steps}
    now = fingerprints(steps, reads, folder, root, code, extra)
    return [s for s in steps if recorded[s.name]["fingerprint"] != now[s.name]]


def parameters(slug: str, lang: str) -> dict:
    """What papermill injects: the names of the run, never site text and never a path of this machine."""
    return {"site": slug, "lang": lang}


def reads_file(work: Path, step: Step) -> Path:
    return work / "reads" / f"{step.name}.txt"


def executed_path(work: Path, step: Step) -> Path:
    return work / "report" / "executed" / f"{step.name}.ipynb"


# --- in a worker process ----------------------------------------------------------------------------------


def _ignore_interrupt(signum, frame) -> None:
    pass


def _start_worker() -> None:
    """A worker waiting for a step takes no notice of Ctrl-C (it would end with a traceback of its own, and break
    the pool): the build stops the pool once the running steps have ended."""
    signal.signal(signal.SIGINT, _ignore_interrupt)
    # papermill's failures reach the build as exceptions, told in the site's language; its log would repeat
    # them in English
    logging.getLogger("papermill").setLevel(logging.CRITICAL)


class KernelDied(RuntimeError):
    """The kernel of a running notebook ended (killed, or out of memory)."""


def run_step(step: Step, slug: str, input_root: Path, work: Path, env: dict, then=None) -> float:
    """Execute one step into ``work`` (in a worker process): the notebook in ``input_root/notebooks/`` on the
    site in ``input_root/data/<site>/`` (the build's snapshot of both); returns its duration in seconds.

    ``then(step, slug, work, input_root)``, a module-level function, runs afterwards in the same worker
    (the report's exports)."""
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    start = time.monotonic()
    executed = executed_path(work, step)
    executed.parent.mkdir(parents=True, exist_ok=True)
    record = reads_file(work, step)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text("")
    os.environ.update(env)
    # the notebooks get only the names of the run as parameters (an executed notebook reads the same on every
    # machine); ``context.open_site`` finds the site's snapshot and the output folder here
    os.environ[inputs.INPUT_ROOT_ENV] = str(input_root)
    os.environ[inputs.OUTPUT_DIR_ENV] = str(work)
    os.environ[inputs.READS_ENV] = str(record)  # the kernel inherits it and records every site file it reads
    for attempt in range(3):
        try:
            nb = papermill.execute_notebook(
                str(input_root / "notebooks" / step.notebook),
                str(executed),
                parameters=parameters(slug, step.lang),
                kernel_name=KERNEL,
                cwd=str(input_root / "notebooks"),
                progress_bar=False,
                log_output=False,
                # written once, when the run ends or a cell fails, not after every cell: the report's notebook
                # carries every figure
                request_save_on_cell_execute=False,
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],  # quiet kernels; notebook errors still surface
                shutdown_kernel=KERNEL_SHUTDOWN,
                record_timing=False,
            )
            break
        except PapermillExecutionError:
            tidy_executed(executed, slug, step)
            raise  # the notebook itself failed: no retry
        except DeadKernelError:
            raise KernelDied() from None  # a notebook that used up the memory would only do so again
        except (RuntimeError, TimeoutError, ConnectionError):
            # A kernel that fails to start (two kernels started at once can pick the same free port) is
            # started again; a third failure is reported. (Ctrl-C is a KeyboardInterrupt: never retried.)
            if attempt == 2:
                raise
            time.sleep(0.5 + attempt)
    tidy_executed(executed, slug, step, nb)
    if then is not None:
        then(step, slug, work, input_root)
    return time.monotonic() - start


def tidy_executed(path: Path, slug: str, step: Step, nb=None) -> None:
    """Write the executed notebook without what changes from run to run or names this machine: papermill's
    start and end times and durations, the paths it ran from and to (given as they are in the compendium),
    and the random id of the cell it injected. Nothing a cell printed or showed is changed."""
    import nbformat

    if nb is None:
        if not path.is_file():
            return
        nb = nbformat.read(path, as_version=4)
    run = nb.metadata.get("papermill", {})
    for key in ("start_time", "end_time", "duration"):
        run.pop(key, None)
    run["input_path"] = f"notebooks/{step.notebook}"
    run["output_path"] = f"reports/{slug}/executed/{step.name}.ipynb"
    for cell in nb.cells:
        for key in ("start_time", "end_time", "duration"):
            cell.metadata.get("papermill", {}).pop(key, None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"
    nbformat.write(nb, path)


# --- in the build process ---------------------------------------------------------------------------------


@dataclass
class Job:
    """One step of one site: ``run_step(step, *args)`` in a worker process."""

    site: str
    step: Step
    args: tuple  # slug, input_root, work, env, then


class StepProcessDied(RuntimeError):
    """The worker process running a step ended without a result (killed, or out of memory)."""


def _picklable(exc: BaseException) -> BaseException:
    """``exc``, or its text in an exception that can cross from a worker to the build."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _run_job(run, step: Step, args: tuple) -> float:
    """``run(step, *args)`` in a worker. Ctrl-C (the terminal's, which reaches the workers too) stops it: the
    notebook's run ends with a KeyboardInterrupt, and nbclient shuts its kernel down on the way out (a kernel is
    in a session of its own, out of the terminal's reach)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return run(step, *args)
    except BaseException as exc:  # handed to the build, which tells the user
        raise _picklable(exc) from None
    finally:
        signal.signal(signal.SIGINT, _ignore_interrupt)


SPAWN = multiprocessing.get_context("spawn")


def pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=SPAWN, initializer=_start_worker)


def _shut(executor: ProcessPoolExecutor) -> None:
    """Wait for the pool's workers to end, whatever else Ctrl-C says meanwhile: a build that left them
    behind would hang at its exit, waiting for them."""
    while True:
        try:
            executor.shutdown(wait=True, cancel_futures=True)
            return
        except KeyboardInterrupt:
            continue


def run_all(
    jobs: list[Job],
    workers: int,
    started: Callable[[Job], None],
    done: Callable[[Job, float], None],
    failed: Callable[[Job, BaseException], None],
) -> None:
    """Run ``jobs`` ``workers`` at a time, in their order, each once the jobs of its site it waits for are done.
    A failure keeps the jobs of its site that have not started from starting, and no other site's.

    At most ``workers`` jobs are handed to the pool at once, so that every job handed over runs at once
    (``started`` is told then). A worker that dies (killed, out of memory) breaks the pool: the jobs running
    beside it fail with it, and the remaining jobs go on in a new pool."""
    pending = list(jobs)
    finished: set[tuple[str, str]] = set()
    broken: set[str] = set()
    names = {(j.site, j.step.name) for j in jobs}
    running: dict = {}  # future -> (job, the pool running it)
    pools: list = []  # the last one is in use (None: it broke and none has replaced it yet)

    def ready(job: Job) -> bool:
        return all((job.site, a) in finished or (job.site, a) not in names for a in job.step.after)

    try:
        while pending or running:
            for job in list(pending):
                if job.site in broken:
                    pending.remove(job)
                elif ready(job) and len(running) < workers:
                    if not pools or pools[-1] is None:
                        pools.append(pool(workers))
                    # (run_step, or a stand-in: handed to the worker by its module and name)
                    running[pools[-1].submit(_run_job, run_step, job.step, job.args)] = (job, pools[-1])
                    pending.remove(job)
                    started(job)
            if not running:
                break
            ended, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in ended:
                job, used = running.pop(future)
                try:
                    seconds = future.result()
                except KeyboardInterrupt:  # Ctrl-C reached the step's worker: the build stops, as when it reaches the
                    raise  # build itself (which a parent that ignores Ctrl-C, as some do, may have kept from it)
                except BrokenProcessPool:
                    if pools[-1] is used:
                        pools.append(None)  # its workers are gone: the next job starts a new pool
                    broken.add(job.site)
                    failed(job, StepProcessDied())
                except BaseException as exc:  # keep building the other sites; report this one
                    broken.add(job.site)
                    failed(job, exc)
                else:
                    finished.add((job.site, job.step.name))
                    done(job, seconds)
    finally:  # a build cut short waits for the steps still running (on Ctrl-C, they were interrupted too)
        for executor in pools:
            if executor is not None:
                _shut(executor)
