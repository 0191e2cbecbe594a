"""Problems found in a site's data, reported as ``file:row: column: what was expected``, and the
one place where any failure becomes a line a user can act on (in the user's language)."""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .i18n import message

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place in one input file. A warning is shown but does not stop a build."""

    file: str
    row: int | None
    column: str | None
    message: str
    level: str = ERROR

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"

    def line(self, lang: str) -> str:
        """As shown to a user: indented, a warning tagged as one in ``lang``."""
        return f"  {self}" + ("" if self.level == ERROR else " " + message("warning_tag", lang))


def line_at(text: str | bytes, offset: int) -> int:
    """The line (from 1) of ``text`` that ``offset`` falls on: where a problem found in a file's text or bytes is."""
    return text[:offset].count(b"\n" if isinstance(text, bytes) else "\n") + 1


def in_order(problems: list[Problem]) -> list[Problem]:
    """Each file's problems together and by line, the files in the order they were first named; problems of
    one line keep the order they were found in (the order of the columns, for a table), and the same problem
    found twice (two HTML tags on one line) is told once."""
    problems = list(dict.fromkeys(problems))
    first: dict[str, int] = {}
    for p in problems:
        first.setdefault(p.file, len(first))
    return sorted(problems, key=lambda p: (first[p.file], p.row or 0))


class DataError(Exception):
    """Raised with every problem found, so that a user can fix them all in one pass."""

    def __init__(self, problems: list[Problem]):
        self.problems = in_order(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == ERROR]

    def lines(self, lang: str) -> list[str]:
        """What a user reads: one tagged line per problem, then how many must be fixed."""
        return [p.line(lang) for p in self.problems] + [message("data_errors", lang, n=len(self.errors))]


class UsageError(Exception):
    """A wrong command-line request (unknown site, unsafe name, missing kernel, a build already running),
    told in ``lang``: the command line says the rest of the line ('error: ...') in the same language."""

    def __init__(self, text: str, lang: str | None = None):
        super().__init__(text)
        self.lang = lang

    def _render_traceback_(self) -> list[str]:
        """What a notebook shows (IPython asks an exception for this): the one line, as the command line says it."""
        return [f"{message('error_word', self.lang or 'en')}: {self}"]


class Problems:
    """Collect every problem of a check, then raise them together: the one way the package reports input errors.

    ``with problems.collecting(): load(...)`` adds the problems of a DataError raised inside and carries on;
    ``raise_if_errors()`` raises one DataError holding all of them (warnings included) when any is an error.
    """

    def __init__(self) -> None:
        self._found: list[Problem] = []

    @property
    def items(self) -> list[Problem]:
        """Every problem, in the order a user reads them (``in_order``)."""
        return in_order(self._found)

    def add(self, problem: Problem | list[Problem]) -> None:
        self._found += problem if isinstance(problem, list) else [problem]

    @contextmanager
    def collecting(self):
        try:
            yield
        except DataError as exc:
            self._found += exc.problems

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.level == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.level == WARNING]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise DataError(self.items)


def display_path(path: Path | str) -> str:
    """Path as a user would type it: relative to the working folder when inside it. A symbolic link is
    named as itself, not as what it points to (only the folders above it are resolved)."""
    p = Path(os.path.abspath(path))
    try:
        cwd = Path.cwd()
        for candidate, base in ((p, cwd), (p.parent.resolve() / p.name, cwd.resolve())):
            if candidate.is_relative_to(base):
                return str(candidate.relative_to(base))
    except OSError:
        pass
    return str(path)


# errno -> message key (``messages.os_<key>`` in the catalogues)
_OS_ERRORS = {
    errno.ENOSPC: "disk_full",
    errno.EDQUOT: "disk_full",
    errno.EFBIG: "disk_full",
    errno.EROFS: "read_only",
    errno.EACCES: "permission",
    errno.EPERM: "permission",
    errno.EMFILE: "too_many_files",
    errno.ENFILE: "too_many_files",
    errno.ENOMEM: "memory",
}


def os_error_key(exc: BaseException) -> str | None:
    """The message key for an operating-system failure, or None when ``exc`` is not one.

    Failures inside a notebook arrive as papermill errors that carry only the name and text of the
    exception (``OSError``, ``[Errno 28] No space left on device``), so the errno is read from the text too."""
    if isinstance(exc, MemoryError) or getattr(exc, "ename", None) == "MemoryError":
        return "memory"
    number = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
    if number is None:
        text = f"{getattr(exc, 'ename', '')} {getattr(exc, 'evalue', '')} {exc}"
        for code in _OS_ERRORS:
            if f"[Errno {code}]" in text:
                number = code
                break
    return _OS_ERRORS.get(number) if number is not None else None
