"""Which notebooks a build must run, and running them in parallel.

A site's build is a handful of steps: one papermill run of one notebook in one language. A step
is rerun when its fingerprint changed: the package's code and pinned environment, the notebook,
the steps it waits for, and every site file the step read the last time it ran, as the package's
loaders recorded it (``inputs.read_bytes`` and ``inputs.glob``). Nothing is declared by hand: a
notebook that starts reading another table reruns when that table changes.

Steps of one or several sites run ``jobs`` at a time, each in a process forked for it (which starts
a kernel for its notebook); a step runs its notebook when the steps it waits for are done. A core with
nothing else to do starts the kernel of a step still waiting, with its notebook's imports, so that the
notebook runs at once when those steps end (``at_gate``).
"""

from __future__ import annotations

import ast
import gc
import hashlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import inputs

KERNEL = os.environ.get("COLLABGOV_KERNEL", "collabgov")
# A kernel whose notebook has run to the end is stopped at once: everything it makes is written by its cells
# (figures, tables, the record of what it read, appended as it reads), and a polite shutdown only waits for
# the interpreter to free its objects (0.4 s a step, measured).
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


def code_digest(root: Path) -> str:
    """The package's own files and the pinned environment: a change to either reruns every step."""
    package = Path(__file__).parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    lock = [p for p in (package.parents[1] / "requirements.lock",) if p.is_file()]
    return digest(*(f"{p.name}:{inputs.state(p.parent, 'file', p.name)}" for p in files + lock), KERNEL)


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


def parameters(slug: str, lang: str, work: Path, input_root: Path) -> dict:
    """What papermill injects: the names of the run, never site text."""
    return {"site": slug, "lang": lang, "output_dir": str(work), "root": str(input_root)}


def reads_file(work: Path, step: Step) -> Path:
    return work / "reads" / f"{step.name}.txt"


ENGINE = "collabgov"


class StepCancelled(Exception):
    """A step started early was told not to run its notebook: a step it waited for failed, or the build ended."""


_gate = None  # in a step's process: the build's end of the pipe that says "go" (None: the step runs at once)
_ready = None  # in a step's process: tells the build that the step waits at its gate
_went = 0.0  # when the build opened the gate (time.monotonic, one clock for every process): a step's time starts
_interrupted = False  # in a step's process: Ctrl-C came while its kernel started (acted on once it has)


def at_gate(warm: Callable[[Callable[[], bool]], None] | None = None) -> None:
    """Where a step started early waits, its kernel started: the build says go once the steps it waits for are
    done. Meanwhile ``warm(answered)`` readies the kernel (``warm_up``), and stops waiting for it when
    ``answered()``. Raises StepCancelled when the build says no or is gone."""
    global _gate, _went
    if _gate is None:
        return
    gate, _gate = _gate, None
    _ready()
    if warm is not None and not gate.poll():  # (not when the build has answered already)
        try:
            warm(gate.poll)  # a site found broken meanwhile is told at once, not after the warm-up
        except Exception:  # a failing import fails again in its own cell, where it is reported
            pass
    try:
        word = gate.recv()
    except (EOFError, OSError):
        word = None
    finally:
        gate.close()
    if not (isinstance(word, tuple) and word[0] == "go"):
        raise StepCancelled()
    _went = word[1]


def _defer_interrupt(signum, frame) -> None:
    global _interrupted
    _interrupted = True


def warm_up(nb) -> str:
    """What a kernel started early runs before its notebook: the top-level import statements of the notebook's
    code cells and, for a notebook that opens a site, what its run would load on first use (``context.preload``,
    with matplotlib when the notebook imports ``collabgov.figures`` to draw)."""
    nodes = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:
            continue
        nodes += [node for node in body if isinstance(node, (ast.Import, ast.ImportFrom))]
    modules = set()
    for node in nodes:
        base = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        modules |= {".".join([*base, alias.name]) for alias in node.names} | set(base)
    lines = [ast.unparse(node) for node in nodes]
    if "collabgov.context" in modules:
        drawing = "collabgov.figures" in modules  # (run so as to leave no name behind in the notebook's namespace)
        lines.append(f"__import__('collabgov.context', fromlist=['preload']).preload({drawing})")
    return "\n".join(lines)


def _register_engine() -> None:
    """papermill's engine for nbclient with two changes.

    It writes the executed notebook once, when the run ends, instead of after every cell: those writes cost
    the report step 0.5-1 s (its notebook carries every figure) and 0.8 s of CPU, measured. papermill writes it
    itself when the notebook ran to its end or stopped at a cell's error; the engine writes it when the run
    broke off otherwise (the kernel died, the build was interrupted).

    A step started early waits at its gate (``at_gate``) once its kernel has started, before the first cell,
    while the kernel runs the notebook's warm-up (``warm_up``)."""
    from queue import Empty

    from jupyter_core.utils import ensure_async, run_sync
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class SavedAtEnd(NotebookExecutionManager):
        broke_off = False

        def save(self, **kwargs):
            if self.broke_off:
                super().save(**kwargs)

    class GatedClient(PapermillNotebookClient):
        def execute(self, **kwargs):
            # Ctrl-C while the kernel starts waits until it has: interrupted inside nbclient's start, nothing shut
            # the kernel down, and it outlived the step, writing its connection file again
            previous = signal.signal(signal.SIGINT, _defer_interrupt)
            try:
                return super().execute(**kwargs)
            finally:
                if signal.getsignal(signal.SIGINT) is _defer_interrupt:
                    signal.signal(signal.SIGINT, previous)

        def papermill_execute_cells(self):
            signal.signal(signal.SIGINT, signal.default_int_handler)  # the kernel is up: it is shut down on the way out
            if _interrupted:
                raise KeyboardInterrupt
            at_gate(self.warm)
            super().papermill_execute_cells()

        def warm(self, answered):
            code = warm_up(self.nb)
            if code:
                run_sync(self._warm)(code, answered)

        async def _warm(self, code, answered):
            # nbclient's wait_for_reply, until the build has answered: a cell asked to run meanwhile runs after
            # the warm-up in the kernel, and nbclient passes over the warm-up's reply (not the cell's)
            msg_id = self.kc.execute(code, silent=True, store_history=False)
            while not answered():
                try:
                    msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=0.05))
                except Empty:
                    if not await ensure_async(self.kc.is_alive()):
                        return  # the first cell finds the kernel dead, and says so
                    continue
                if msg["parent_header"].get("msg_id") == msg_id:
                    return

    class Engine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False, **kwargs):
            # papermill's Engine.execute_notebook, with the manager above
            kwargs.pop("autosave_cell_every", None)
            nb_man = SavedAtEnd(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            except BaseException:
                # kept when a cell ran (a cancelled step, or one stopped while its kernel started, ran none)
                nb_man.broke_off = any(c.metadata.papermill["status"] != nb_man.PENDING for c in nb_man.nb.cells)
                raise
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            # papermill's NBClientEngine.execute_managed_notebook, with the client above
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            return GatedClient(nb_man, **final_kwargs).execute()

    papermill_engines.register(ENGINE, Engine)


def run_step(step: Step, slug: str, root: Path, work: Path, input_root: Path, env: dict, then=None) -> float:
    """Execute one step into ``work`` (in a worker process); returns its duration in seconds.

    ``then(step, slug, work, input_root)``, a module-level function, runs afterwards in the same worker
    (the report's exports)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    _register_engine()
    start = time.monotonic()
    executed = work / "report" / "executed" / f"{step.name}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    record = reads_file(work, step)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text("")
    os.environ.update(env)
    os.environ[inputs.READS_ENV] = str(record)  # the kernel inherits it and records every site file it reads
    for attempt in range(3):
        try:
            papermill.execute_notebook(
                str(root / "notebooks" / step.notebook),
                str(executed),
                parameters=parameters(slug, step.lang, work, input_root),
                kernel_name=KERNEL,
                cwd=str(root / "notebooks"),
                progress_bar=False,
                log_output=False,
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],  # quiet kernels; notebook errors still surface
                shutdown_kernel=KERNEL_SHUTDOWN,
                engine_name=ENGINE,
            )
            break
        except PapermillExecutionError:
            raise  # the notebook itself failed: no retry
        except (RuntimeError, TimeoutError, ConnectionError):
            # A kernel that dies while starting (two kernels started at once can pick the same free
            # port) is started again; a third failure is reported. One that died of Ctrl-C is not.
            if _interrupted:
                raise KeyboardInterrupt from None
            if attempt == 2:
                raise
            time.sleep(0.5 + attempt)
    if then is not None:
        then(step, slug, work, input_root)
    return time.monotonic() - max(start, _went)  # a step started early is timed from when its gate opened


@dataclass
class Job:
    """One step of one site: ``run_step(step, *args)`` in a process of its own."""

    key: str  # the site
    step: Step
    args: tuple  # slug, root, work, input_root, env, then (inherited by the forked process)


EARLY_NICENESS = 10  # how much a step started early to wait for others gives way to them (see _child)
SCRATCH = "collabgov-step-"  # + the step process's id: a step's folder of temporary files (see _child)


def remove_orphaned_scratch() -> None:
    """Remove the temporary folders of step processes that are gone: one killed outright (SIGKILL, out of
    memory) could not remove its own. A folder whose process id is in use again is left alone, and so is one
    changed within the hour (a step of a build beside this one, in a container whose process ids differ)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH}*-*"):
        pid = folder.name[len(SCRATCH) :].split("-")[0]
        try:
            if not (pid.isascii() and pid.isdigit()) or time.time() - folder.lstat().st_mtime < 3600:
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, OverflowError, ValueError):  # alive and another user's, gone, or no process id
            pass


def set_aside() -> None:
    """Set what this process holds (the exporters, pandas, the site's check) aside from the garbage collector, as
    Python's documentation of gc.freeze advises before a fork: the step's collections then leave those objects
    alone instead of walking them again and again (and copying their pages). The report's PDF export took 6 %
    less CPU (4.9 s against 5.2 s, measured). Garbage is collected first, so that none is set aside for good; what
    was set aside before is not walked again (75 ms the first time)."""
    gc.collect()
    gc.freeze()


class StepProcessDied(RuntimeError):
    """The process running a step ended without a result (killed, or out of memory)."""


def _child(reader, writer, step: Step, args: tuple, gate=None, gate_ends=()) -> None:
    global _gate, _ready
    reader.close()  # the build's end: with it closed here, a build that is gone cannot leave this one waiting
    for end in gate_ends:  # the build's ends of the gates: a gate closed by the build must reach its step as such
        end.close()
    # papermill's failures reach the build as exceptions, told in the site's language; its log would repeat
    # them in English
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    _gate, _ready = gate, lambda: writer.send(("ready", None))
    if gate is not None and step.after:
        # Started early to wait for steps still running: its kernel's start and warm-up give way to them, as they
        # are on the way to its gate. (Raising it again would need privileges: it keeps the lower priority once
        # it runs, when the steps beside it are mostly ones started early too.)
        os.nice(EARLY_NICENESS)
    # The step's temporary files (the kernel's connection file among them) go to a folder of its own, removed
    # however the step ends: an interruption while a kernel started left its connection file in /tmp.
    scratch = tempfile.mkdtemp(prefix=f"{SCRATCH}{os.getpid()}-")
    os.environ["TMPDIR"] = tempfile.tempdir = scratch
    try:
        result = ("done", run_step(step, *args))
    except BaseException as exc:  # handed to the build, which tells the user (an interruption too)
        result = ("failed", exc)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interruption now would only lose the result
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        writer.send(result)
    except OSError:  # the build is gone
        pass
    except Exception:  # an exception that cannot be pickled: its text still reaches the build
        writer.send(("failed", RuntimeError(f"{type(result[1]).__name__}: {result[1]}")))


def run_all(
    jobs: list[Job],
    workers: int,
    done: Callable[[Job, float], None],
    failed: Callable[[Job, BaseException], None],
    started: Callable[[Job], None],
    feed: Callable[[], list[Job] | None] | None = None,
    warm: Callable[[], None] | None = None,
    check: Callable[[], bool] | None = None,
) -> None:
    """Run ``jobs`` ``workers`` at a time, each in a process forked for it (a job waiting at its gate, below, is
    not counted); a job runs when the jobs of its site it waits for are done. A failure keeps the jobs of its
    site that have not started from starting, and no other site's.

    ``feed`` gives the jobs of the next site (None when there is none): it is asked as soon as a worker is free
    with no known job to start (a site's report waits for both its notebooks: the next site's fill the gap) or
    every known job has started (the next site is prepared while the last ones run), never after they end.
    When no site is left and a worker is still free, a job still waiting is started early: its kernel starts
    and runs the notebook's imports, then waits at its gate (``at_gate``) without holding the worker, and runs
    when the jobs it waits for are done (it is cancelled when one of them fails). ``started`` is told when a
    job runs, not when it starts early.
    ``warm`` (once) readies this process for the jobs that export, which inherit it: at the first moment a
    worker is free with nothing to start, or else just before the first of those jobs.
    ``check`` (once, first) checks the site of ``jobs`` while the kernels of its first jobs start (early, behind
    their gates, when there is more than one worker): they run when it returns True; when it returns False the
    site's jobs end without running, and what it raises is raised once they have ended."""
    pending = list(jobs)
    finished: set[tuple[str, str]] = set()
    broken: set[str] = set()
    names = {(j.key, j.step.name) for j in jobs}
    exhausted = feed is None
    context = multiprocessing.get_context("fork")
    slots = max(1, workers)
    running: dict = {}  # result pipe -> (process, job)
    gates: dict = {}  # result pipe -> the sending end of the gate of a job started early, until it is opened
    waiting: set = set()  # result pipes of jobs waiting at their gate: they hold no worker
    cancelled: set = set()  # result pipes of jobs started early whose site failed before they ran

    def warmed() -> None:
        nonlocal warm
        if warm is not None:
            warm, ready = None, warm
            ready()

    def ready(job: Job) -> bool:
        return all((job.key, a) in finished or (job.key, a) not in names for a in job.step.after)

    def busy() -> int:
        return len(running) - len(waiting)

    def start(job: Job, early: bool) -> None:
        if job.step.exports:
            warmed()
        reader, writer = context.Pipe(duplex=False)
        gate_in, gate_out = context.Pipe(duplex=False) if early else (None, None)
        ends = [*gates.values(), *([gate_out] if early else [])]
        process = context.Process(target=_child, args=(reader, writer, job.step, job.args, gate_in, ends))
        set_aside()
        process.start()
        writer.close()
        if early:
            gate_in.close()
            gates[reader] = gate_out
        else:
            started(job)
        running[reader] = (process, job)
        pending.remove(job)

    def open_gates() -> None:
        for reader, gate in list(gates.items()):
            job = running[reader][1]
            if job.key in broken:
                cancelled.add(reader)  # closed unopened: it ends without running its notebook
            elif ready(job) and (reader not in waiting or busy() < slots):  # within the jobs limit
                started(job)
                try:
                    gate.send(("go", time.monotonic()))
                except OSError:  # its process has ended already (its kernel did not start): its result says why
                    pass
            else:
                continue
            gate.close()
            del gates[reader]
            waiting.discard(reader)

    remove_orphaned_scratch()
    try:
        if check is not None:
            for job in [j for j in pending if not j.step.after][:slots] if slots > 1 else []:
                start(job, early=True)
            if not check():
                broken.update(j.key for j in jobs)
        while pending or running or not exhausted:
            open_gates()
            for job in list(pending):
                if job.key in broken:
                    pending.remove(job)
                elif ready(job) and busy() < slots:
                    start(job, early=False)
            free = busy() < slots  # and no known job can start on it
            if not exhausted and (free or not pending):  # prepare the next site now, not after
                more = feed()
                if more is None:
                    exhausted = True
                else:
                    pending += more
                    names |= {(j.key, j.step.name) for j in more}
                continue
            if free and pending:
                warmed()
                if slots > 1 and exhausted:
                    start(pending[0], early=True)
                    continue
            if not running:
                break
            for reader in multiprocessing.connection.wait(list(running)):
                try:
                    outcome, value = reader.recv()
                except EOFError:
                    outcome, value = "failed", None
                if outcome == "ready":  # waiting at its gate
                    if reader in gates:
                        waiting.add(reader)
                    continue
                process, job = running.pop(reader)
                process.join()
                reader.close()
                waiting.discard(reader)
                if reader in gates:
                    gates.pop(reader).close()
                if reader in cancelled:
                    cancelled.discard(reader)
                    continue
                if value is None:  # it ended without a word
                    value = StepProcessDied(f"exit code {process.exitcode}")
                if outcome == "failed":  # keep building the other sites; report this one
                    broken.add(job.key)
                    failed(job, value)
                    continue
                finished.add((job.key, job.step.name))
                done(job, value)
    finally:  # a build cut short waits for the steps still running (on Ctrl-C, they were interrupted too)
        for gate in gates.values():
            gate.close()  # a job waiting at its gate ends without running its notebook
        for reader, (process, _) in running.items():
            try:
                while reader.recv()[0] == "ready":  # read, so that a step with a long result is not left
                    pass  # waiting to write it
            except Exception:
                pass
            process.join()
