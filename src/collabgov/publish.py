"""Publishing a site's outputs: one build per site at a time, and all or nothing.

A build writes into ``build/<site>.tmp/`` and, when everything worked, publishes two folders,
``figures/<site>/`` and ``reports/<site>/``. Two folders cannot be renamed at once, so publishing
keeps a journal (``build/<site>.publish.json``): each old folder is moved aside before the new one
is moved in, every move is written to the journal first, and a failure half way moves everything
back. A build that was killed while publishing leaves the journal behind; the next build of the
site rolls the half-published site back before it does anything else (``repair``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import UsageError
from .i18n import message


@contextmanager
def site_lock(out: Path, slug: str, lang: str, wait: bool = True):
    """Hold ``build/<site>.lock`` for the length of a build: a second build of the same site waits for it
    (``filelock``: the operating system's file lock, on Windows as on Linux and macOS)."""
    (out / "build").mkdir(parents=True, exist_ok=True)
    lock = FileLock(out / "build" / f"{slug}.lock")
    try:
        lock.acquire(blocking=False)
    except Timeout:
        if not wait:
            raise UsageError(message("build_running", lang, site=slug), lang) from None
        print(message("build_waiting", lang, site=slug), file=sys.stderr, flush=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def targets(out: Path, slug: str) -> list[tuple[str, Path]]:
    """(name inside the build folder, published folder) for every folder a build publishes."""
    return [("figures", out / "figures" / slug), ("report", out / "reports" / slug)]


def _journal(out: Path, slug: str) -> Path:
    return out / "build" / f"{slug}.publish.json"


def _aside(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def check_writable(out: Path, slug: str, lang: str) -> None:
    """Fail before building, with one line, when a folder that publishing must change is not writable."""
    for _, target in targets(out, slug):
        parent = target.parent
        parent.mkdir(parents=True, exist_ok=True)
        for folder in (parent, target) if target.is_dir() else (parent,):
            if not os.access(folder, os.W_OK | os.X_OK):
                raise UsageError(message("os_read_only_folder", lang, folder=shown(folder, out)), lang)


def publish(work: Path, out: Path, slug: str) -> None:
    """Move ``work``'s folders into place, all or nothing."""
    journal = _journal(out, slug)
    done: list[dict] = []

    def note() -> None:
        journal.write_text(json.dumps({"moves": done}, indent=1) + "\n")

    note()
    try:
        for name, target in targets(out, slug):
            target.parent.mkdir(parents=True, exist_ok=True)
            aside = _aside(target)
            if aside.exists():
                shutil.rmtree(aside)
            if target.exists():
                done.append({"from": str(target), "to": str(aside)})
                note()
                os.replace(target, aside)
            done.append({"from": str(work / name), "to": str(target)})
            note()
            os.replace(work / name, target)
    except BaseException:
        if _roll_back(done):
            journal.unlink(missing_ok=True)
        raise
    journal.unlink()
    for _, target in targets(out, slug):
        shutil.rmtree(_aside(target), ignore_errors=True)


def replace_folder(new: Path, target: Path) -> None:
    """Put one folder ``new`` at ``target``; the old folder is moved aside first and removed only afterwards."""
    target.parent.mkdir(parents=True, exist_ok=True)
    aside = _aside(target)
    shutil.rmtree(aside, ignore_errors=True)
    if target.exists():
        os.replace(target, aside)
    try:
        os.replace(new, target)
    except BaseException:
        if aside.exists() and not target.exists():
            os.replace(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _roll_back(moves: list[dict]) -> bool:
    """Undo ``moves`` in reverse order; a move that had not happened yet is skipped. False when a move could
    not be undone now (the journal then stays, and the next build tries again)."""
    whole = True
    for move in reversed(moves):
        src, dst = Path(move["from"]), Path(move["to"])
        if dst.exists() and not src.exists():
            try:
                os.replace(dst, src)
            except OSError:
                whole = False
    return whole


def repair(out: Path, slug: str) -> bool:
    """Roll back a publish that was cut off (its journal is still there); True if there was one."""
    journal = _journal(out, slug)
    if not journal.is_file():
        return False
    try:
        moves = json.loads(journal.read_text())["moves"]
    except (ValueError, KeyError, TypeError):
        moves = []
    if _roll_back(moves):
        journal.unlink()
    return True


def failed_folder(out: Path, slug: str) -> Path:
    return out / "build" / f"{slug}.failed"


def keep_failed(out: Path, slug: str, work: Path) -> Path | None:
    """Keep only the executed notebooks of a failed build in ``build/<site>.failed/`` (returned); remove the rest.
    A build cut short before any notebook ran keeps none, and no empty folder (None)."""
    failed = failed_folder(out, slug)
    shutil.rmtree(failed, ignore_errors=True)
    executed = work / "report" / "executed"
    kept = any(executed.glob("*.ipynb"))
    if kept:
        failed.parent.mkdir(parents=True, exist_ok=True)
        os.replace(executed, failed)
    shutil.rmtree(work, ignore_errors=True)
    return failed if kept else None


def clear_leftovers(out: Path, slug: str) -> None:
    """Remove what a killed build left: its build folder and folders moved aside.

    The kernels of a killed build notice that their parent is gone within a second (ipykernel's parent
    poller) and may write into the old build folder until then; the folder is removed after that."""
    work = out / "build" / f"{slug}.tmp"
    if work.exists():
        time.sleep(1.5)
        shutil.rmtree(work, ignore_errors=True)
    for _, target in targets(out, slug):
        shutil.rmtree(_aside(target), ignore_errors=True)


def shown(folder: Path, out: Path) -> str:
    """``folder`` as the user is told of it: relative to the output folder when inside it."""
    try:
        return str(folder.relative_to(out)) + "/"
    except ValueError:
        return str(folder)
