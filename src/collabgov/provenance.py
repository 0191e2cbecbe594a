"""Where outputs come from: commit, parameters, input checksums, package versions, and for every
figure the notebook and cell that made it. Written by the build as ``provenance.json`` (read by the
report) and as ``figures/<site>/MANIFEST.json`` with a gallery ``index.html`` for reviewers."""

from __future__ import annotations

import html
import json
import os
import platform
import subprocess
from importlib import metadata
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


def collect(root: Path, site) -> dict:
    """The provenance record of a site's build: the last commit that changed the site's folder or the
    project's code (a change to another site changes nothing here), uncommitted changes to either,
    parameters, input checksums, versions."""
    paths = code_paths(root, site.slug)
    commit = _git(root, "log", "-1", "--format=%H", "--", *paths)
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=all", "--", *paths)) if commit else None
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {
        "site": site.slug,
        "commit": commit or None,
        "dirty": dirty,
        "parameters": site.params,
        "inputs": input_checksums(root, site.folder),
        "versions": versions,
        "python": platform.python_version(),
    }


def write_json(path: Path, record: dict) -> None:
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")


def read(output_dir: Path | str) -> dict | None:
    path = Path(output_dir) / "report" / "provenance.json"
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


def manifest(figures_dir: Path, executed_dir: Path, record: dict) -> dict:
    cells = {}
    for executed in sorted(executed_dir.glob("*.ipynb")):
        cells.update(figure_cells(executed))
    entries = []
    for sidecar in sorted(figures_dir.glob("*.json")):
        if sidecar.name == "MANIFEST.json":
            continue
        fig = json.loads(sidecar.read_text("utf-8"))
        base, lang = fig["id"].rsplit(".", 1)
        entries.append(fig | {"figure": base, "lang": lang, **cells.get(base, {"notebook": None, "cell": None})})
    return {
        "site": record["site"],
        "commit": record["commit"],
        "parameters": record["parameters"],
        "inputs": record["inputs"],
        "versions": record["versions"],
        "figures": entries,
    }


def gallery(man: dict, lang: str) -> str:
    """``figures/<site>/index.html``: every figure with caption, origin, parameters, input checksums, links."""
    from .i18n import label

    e = lambda x: html.escape(str(x), quote=True)
    t = lambda k, **v: e(label(f"gallery.{k}", lang, **v))
    cards = []
    for f in man["figures"]:
        inputs = "".join(
            f"<li><code>{e(n)}</code> <code class='hash'>{e(h)}</code></li>" for n, h in sorted(f["inputs"].items())
        )
        png, svg = f["files"]["png"], f["files"]["svg"]
        cards.append(
            f"<section class='card' id='{e(f['id'])}'><h2>{e(f['id'])}</h2>"
            f"<a href='{e(png['path'])}'><img src='{e(png['path'])}' alt='{e(f['alt'])}'></a>"
            f"<p>{e(f['caption'])} {t('source')}: {e(f['source'])}</p>"
            f"<p>{t('made_by')}: <code>{e(f['notebook'])}</code>, {t('cell')} {e(f['cell'])} · "
            f"{t('language')}: {e(f['lang'])}</p>"
            f"<p>{t('files')}: <a href='{e(png['path'])}'>PNG</a> <code class='hash'>{e(png['sha256'])}</code> · "
            f"<a href='{e(svg['path'])}'>SVG</a> <code class='hash'>{e(svg['sha256'])}</code></p>"
            f"<details><summary>{t('inputs')}</summary><ul>{inputs}</ul></details></section>"
        )
    params = e(json.dumps(man["parameters"], ensure_ascii=False, sort_keys=True))
    css = (
        "body{font-family:'DejaVu Sans',sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#111}"
        ".card{border-top:1px solid #999;padding:1em 0}.card img{max-width:100%;height:auto;display:block}"
        "code{font-size:.85em}.hash{word-break:break-all;color:#444}"
    )
    return (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{t('title', site=man['site'])}</title>"
        f"<style>{css}</style></head><body><h1>{t('title', site=man['site'])}</h1>"
        f"<p>{t('intro', commit=man['commit'] or '–')}</p>"
        f"<details><summary>{t('parameters')}</summary><code>{params}</code></details>"
        + "".join(cards)
        + "</body></html>\n"
    )
