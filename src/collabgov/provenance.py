"""Where outputs come from: commit, parameters, input checksums, package versions, and for every
figure the notebook and cell that made it. Written by the build as ``provenance.json`` (read by the
report) and as ``figures/<site>/MANIFEST.json`` with a gallery ``index.html`` for reviewers."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

from .errors import UsageError
from .i18n import message
from .inputs import site_files
from .sites import user_language


def sha256(path: Path | str) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


PACKAGES = [
    "collabgov",
    "babel",
    "ipykernel",
    "markdown-it-py",
    "matplotlib",
    "nbconvert",
    "nbformat",
    "numpy",
    "openpyxl",
    "pandas",
    "pandera",
    "papermill",
    "pypandoc_binary",
    "pyyaml",
    "scipy",
    "typst",
]


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def in_git(root: Path) -> bool:
    """Whether ``root`` is the top of a git work tree: not a folder inside another repository's work tree
    (an archive unpacked into a clone's build/ must not take the clone's commit for its own)."""
    top = _git(root, "rev-parse", "--show-toplevel")
    return bool(top) and Path(top).resolve() == Path(root).resolve()


ARCHIVAL = ".git_archival.txt"  # filled in by `git archive` (export-subst in .gitattributes), as setuptools-scm's


def archival(root: Path) -> dict[str, str]:
    """The commit (``node``) and its date (``node-date``) that `git archive` wrote into ``.git_archival.txt``;
    empty when the file is missing or still holds its ``$Format:...$`` placeholders (a plain copy of a work
    tree, which knows neither)."""
    try:
        text = (Path(root) / ARCHIVAL).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    return {key: value for key, value in fields.items() if value and "$Format:" not in value}


def code_paths(root: Path, slug: str) -> list[str]:
    """What a site's outputs depend on in the repository: its own folder and the project's code."""
    return [f"data/{slug}", "notebooks", "src", "requirements.lock"]


def revision(root: Path, slug: str) -> dict:
    """The commit the compendium is at (HEAD in a clone; in a `git archive` copy, the commit it was made from)
    and whether the site's folder or the project's code has uncommitted changes (None when that cannot be
    known: an archive, or a copy without git). A clone and an archive of one commit name the same commit."""
    if in_git(root):
        commit = _git(root, "rev-parse", "--verify", "--quiet", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *code_paths(root, slug))
        return {"commit": commit or None, "dirty": bool(dirty) if commit else None}
    return {"commit": archival(root).get("node"), "dirty": None}


def source_date_epoch(root: Path) -> int:
    """The date the documents carry (DOCX properties), the same for every site and from build to build:
    ``$SOURCE_DATE_EPOCH``, else the commit's date (HEAD's in a clone, the archive's in a `git archive` copy),
    else CITATION.cff's ``date-released``; never the build's time, never 1970."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    if in_git(root):
        stamp = _git(root, "log", "-1", "--format=%ct", "HEAD")
        if stamp and stamp.isdigit():
            return int(stamp)
    else:
        stamp = archival(root).get("node-date")
        if stamp:
            try:
                return int(datetime.fromisoformat(stamp).timestamp())
            except ValueError:
                pass
    return release_date(root)


def release_date(root: Path) -> int:
    """CITATION.cff's ``date-released`` (midnight UTC) as seconds since 1970: the compendium's own, else that
    of the package's project folder (a throw-away copy of sites and notebooks, built with an editable install)."""
    import yaml

    for cff in (Path(root) / "CITATION.cff", Path(__file__).resolve().parents[2] / "CITATION.cff"):
        try:
            released = yaml.safe_load(cff.read_text("utf-8")).get("date-released")
        except (OSError, ValueError, AttributeError, yaml.YAMLError):
            continue
        if isinstance(released, str):
            try:
                released = date.fromisoformat(released)
            except ValueError:
                continue
        if isinstance(released, date):
            return int(datetime(released.year, released.month, released.day, tzinfo=UTC).timestamp())
    raise UsageError(message("no_release_date", user_language()), user_language())


def input_checksums(root: Path, folder: Path) -> dict[str, str]:
    """``data/<site>/<file>`` -> SHA-256 of every input file of the site."""
    files = site_files(folder)
    base = folder.parent.parent
    return {p.relative_to(base).as_posix(): sha256(p) for p in files}


def versions() -> dict[str, str]:
    """Installed versions of the packages the outputs depend on (pinned by requirements.lock)."""
    from importlib import metadata  # 40 ms to import and 70 ms to read 16 versions: only when a site is built

    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def collect(root: Path, site, rev: dict | None = None) -> dict:
    """The provenance record of a site's build: revision, parameters, input checksums, versions."""
    return {
        "site": site.slug,
        **(rev or revision(root, site.slug)),
        "parameters": site.params,
        "inputs": input_checksums(root, site.folder),
        "versions": versions(),
        "python": platform.python_version(),
    }


def write_json(path: Path, record: dict) -> None:
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")


def read(report_dir: Path | str) -> dict | None:
    """The ``provenance.json`` in ``report_dir`` (``SiteContext.report_dir``), or None when there is none."""
    path = Path(report_dir) / "provenance.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def figure_cells(executed: Path) -> dict[str, dict]:
    """figure id -> {notebook, cell}: read from the output metadata of an executed notebook."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    found = {}
    source_cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for index, cell in enumerate(source_cells):
        for output in cell.get("outputs", []):
            figure = output.get("metadata", {}).get("collabgov", {}).get("figure")
            if figure:
                found.setdefault(
                    figure, {"notebook": f"notebooks/{executed.stem.split('.')[0]}.ipynb", "cell": index + 1}
                )
    return found


def manifest(figures_dir: Path, executed_dir: Path, record: dict, numbers: dict[str, int] | None = None) -> dict:
    """Every figure's record with the notebook cell that made it and its number in the report, in report order."""
    numbers = numbers or {}
    cells = {}
    for executed in sorted(executed_dir.glob("*.ipynb")):
        cells.update(figure_cells(executed))
    entries = []
    for sidecar in sorted(figures_dir.glob("*.json")):
        if sidecar.name == "MANIFEST.json":
            continue
        fig = json.loads(sidecar.read_text("utf-8"))
        base, lang = fig["id"].rsplit(".", 1)
        entries.append(
            fig
            | {
                "figure": base,
                "lang": lang,
                "number": numbers.get(base),
                **cells.get(base, {"notebook": None, "cell": None}),
            }
        )
    entries.sort(key=lambda f: (f["number"] or 10**6, f["figure"], f["lang"]))
    return {
        "site": record["site"],
        "commit": record["commit"],
        "draft": record.get("draft", False),
        "parameters": record["parameters"],
        "inputs": record["inputs"],
        "versions": record["versions"],
        "figures": entries,
    }
