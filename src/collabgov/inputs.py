"""The one door through which the package reads a site's files.

A site folder is data from someone else. Everything the package reads from it goes through
``read_bytes``, which refuses what is not a regular file inside the folder (a symbolic link, a
device, a pipe, a path that leaves the folder) and refuses files larger than the caller allows.
``check_folder`` walks a whole site folder first and names every link or special file in it.

The same door records what was read: while ``$COLLABGOV_READS`` names a file, every read appends the
file's path (relative to the folder) to it. The build sets it for each notebook run and fingerprints
exactly the files a run read, so a notebook that starts reading another table is rerun when that
table changes, without anyone declaring it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import Problem, display_path
from .i18n import message

# What the build tells its kernels (they inherit its environment): where to record the site files they read,
# the folder holding data/<site>/ (the build's snapshot of the site), and where to write their outputs.
READS_ENV = "COLLABGOV_READS"
INPUT_ROOT_ENV = "COLLABGOV_INPUT_ROOT"
OUTPUT_DIR_ENV = "COLLABGOV_OUTPUT_DIR"
HIDDEN = "."  # names starting with a dot are never inputs (an import's scratch copy, editor files)


def _inside(path: Path, folder: Path) -> bool:
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))
    except OSError:
        return False


def check_folder(folder: Path, lang: str) -> list[Problem]:
    """Every symbolic link or special file anywhere in ``folder``; the link is named, its target never read."""
    problems = []
    for here, dirs, files in os.walk(folder, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(here) / name
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISLNK(mode):
                problems.append(Problem(display_path(path), None, None, message("symlink_refused", lang)))
            elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                problems.append(Problem(display_path(path), None, None, message("special_file_refused", lang)))
        dirs[:] = [d for d in dirs if not os.path.islink(Path(here) / d)]
    return problems


class Refused(Exception):
    """A read that the door refuses; ``key`` is the message key, ``values`` its fields."""

    def __init__(self, path: Path, key: str, **values):
        self.path, self.key, self.values = path, key, values
        super().__init__(key)

    def problem(self, lang: str) -> Problem:
        return Problem(display_path(self.path), None, None, message(self.key, lang, **self.values))


def read_bytes(path: Path | str, within: Path | None, limit: int, head: bool = False) -> bytes:
    """The bytes of regular file ``path`` inside folder ``within`` (None: a file the user named on the
    command line); raises Refused for links, special files, paths outside ``within`` and files over ``limit``
    (with ``head``: their first ``limit`` bytes instead)."""
    path = Path(path)
    if os.path.islink(path):
        raise Refused(path, "symlink_refused")
    if within is not None and not _inside(path, within):
        raise Refused(path, "outside_site")
    try:
        # (Windows has no O_NOFOLLOW, a link was refused above, and needs O_BINARY not to translate line ends)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise Refused(path, "file_missing") from None
    except OSError as exc:
        if os.path.islink(path):
            raise Refused(path, "symlink_refused") from None
        raise Refused(path, "file_unreadable", detail=exc.strerror or type(exc).__name__) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(path, "special_file_refused")
        if info.st_size > limit and not head:
            raise Refused(path, "file_too_large", limit=max(1, limit // (1024 * 1024)))
        chunks, size = [], 0
        while size < limit and (chunk := os.read(fd, min(1 << 20, limit - size + 1))):
            size += len(chunk)
            if head and size > limit:
                chunks.append(chunk[: len(chunk) - (size - limit)])
                break
            if size > limit:  # grew while being read
                raise Refused(path, "file_too_large", limit=max(1, limit // (1024 * 1024)))
            chunks.append(chunk)
    finally:
        os.close(fd)
    if within is not None:
        record(path, within)
    return b"".join(chunks)


def is_file(path: Path) -> bool:
    """True for a regular file (a link to one is not: it is refused when read)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def record(path: Path, folder: Path, kind: str = "file") -> None:
    """Append ``path`` (relative to its site folder) to the run's record of reads, if one is being kept.

    ``kind`` is ``file`` for a file read, ``glob`` for a pattern looked up (a file that might exist)."""
    target = os.environ.get(READS_ENV)
    if not target:
        return
    try:
        name = Path(os.path.abspath(path)).relative_to(os.path.abspath(folder)).as_posix()
    except ValueError:
        return
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(f"{kind}\t{name}\n")


def glob(folder: Path, pattern: str, within: Path) -> list[Path]:
    """Regular files in ``folder`` matching ``pattern``, sorted; the lookup itself is recorded, so that a file
    added later that matches it counts as a changed input."""
    record(Path(folder) / pattern, within, "glob")
    return sorted(p for p in Path(folder).glob(pattern) if is_file(p) or os.path.islink(p))


def recorded(record_file: Path) -> list[tuple[str, str]]:
    """What a run looked at: (kind, path relative to the site folder), each once, in the order first seen."""
    if not record_file.is_file():
        return []
    lines = [line.split("\t", 1) for line in record_file.read_text("utf-8").splitlines() if "\t" in line]
    return list(dict.fromkeys((kind, name) for kind, name in lines))


def state(folder: Path, kind: str, name: str) -> str:
    """What a recorded read depends on now: a file's SHA-256 (or 'missing'), or the names a pattern matches."""
    import hashlib

    if kind == "glob":
        base = Path(folder) / name
        return "\n".join(p.name for p in sorted(base.parent.glob(base.name)))
    path = Path(folder) / name
    if not is_file(path):
        return "missing"
    return hashlib.sha256(path.read_bytes()).hexdigest()


BACKUP = "backup"  # data/<site>/backup/: the tables an import replaced, kept for the student, never an input


def site_files(folder: Path) -> list[Path]:
    """Every input file of a site: regular files; hidden names (and what is inside hidden folders) and the
    import's backup folder left out."""
    out = []
    for here, dirs, files in os.walk(folder, followlinks=False):
        top = Path(here) == Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(HIDDEN) and not (top and d == BACKUP))
        out += [Path(here) / f for f in files if not f.startswith(HIDDEN) and is_file(Path(here) / f)]
    return sorted(out)
