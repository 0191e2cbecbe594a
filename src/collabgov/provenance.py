"""Where outputs come from: commit, parameters, input checksums, package versions, and for every
figure the notebook and cell that made it. Written by the build as ``provenance.json`` (read by the
report) and as ``figures/<site>/MANIFEST.json`` with a gallery ``index.html`` for reviewers."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

from .inputs import site_files


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
    "weasyprint",
]


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def code_paths(root: Path, slug: str) -> list[str]:
    """What a site's outputs depend on in the repository: its own folder and the project's code."""
    return [f"data/{slug}", "notebooks", "src", "requirements.lock"]


def source_date_epoch(root: Path, slug: str) -> int:
    """``$SOURCE_DATE_EPOCH``, else the time of the last commit that changed the site or the code, else 0:
    a date that does not change from run to run, nor when another site changes."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    stamp = _git(root, "log", "-1", "--format=%ct", "--", *code_paths(root, slug))
    return int(stamp) if stamp and stamp.isdigit() else 0


def input_checksums(root: Path, folder: Path) -> dict[str, str]:
    """``data/<site>/<file>`` -> SHA-256 of every input file of the site."""
    files = site_files(folder)
    base = folder.parent.parent
    return {p.relative_to(base).as_posix(): sha256(p) for p in files}


def revision(root: Path, slug: str) -> dict:
    """The last commit that changed the site's folder or the project's code (a change to another site changes
    nothing here) and whether either has uncommitted changes: what a site's outputs depend on in git."""
    paths = code_paths(root, slug)
    commit = _git(root, "log", "-1", "--format=%H", "--", *paths)
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=all", "--", *paths)) if commit else None
    return {"commit": commit or None, "dirty": dirty}


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
