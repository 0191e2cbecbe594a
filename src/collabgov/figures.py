"""The report's figures: one registry entry each, drawn in every language, saved with provenance.

To add a figure, write its drawing function in ``plotting.py`` and add one ``Figure`` to ``REGISTRY``
with its captions in both languages (docs/developer.md has the recipe). The analysis notebooks draw
every figure of their data (``draw_all``); the report places each in the section its entry names,
numbered in report order. Nothing else changes.

Each figure is saved as ``<key>.<lang>.png`` (300 dpi) and ``.svg``, byte-identical for the same
inputs and pinned library versions, with a sidecar ``<key>.<lang>.json``: caption, alt text, source,
input checksums, and its width and smallest font (so that a test can check the printed size).
"""

from __future__ import annotations

import base64
import gc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import plotting
from .i18n import label
from .provenance import sha256, write_json

DPI = 300
SYNTHETIC_MARK = "SINTETIS / SYNTHETIC"


@dataclass(frozen=True)
class Figure:
    """One figure of the report.

    ``data`` names what ``draw`` receives (``cases``: the case table; ``coded``: the coded data), and so
    which analysis notebook draws it. ``section`` names where the report shows it: ``background`` (after
    the case statistics), ``background_process`` (after the text on who takes part), ``method`` (after
    the coded-data tables) or ``stage`` (one per stage, in each stage's subsection; ``draw`` then also
    receives the stage). ``caption`` and ``alt`` are templates in both languages: their ``{fields}`` come
    from the values ``draw`` returns and from the site (``kecamatan``, ``region``, ``period``).
    ``source`` is ``cases`` (the case table's sources), ``coding`` (the coded data) or ``process``."""

    key: str
    data: str
    section: str
    draw: Callable
    caption: dict
    alt: dict
    source: str = "coding"


REGISTRY = [
    Figure(
        "trend",
        "cases",
        "background",
        plotting.case_trend,
        caption={
            "id": "Kasus narkoba dan tersangka per tahun di {region}, {period}, dengan interval kepercayaan 95% eksak.",
            "en": "Drug cases and suspects per year in {region}, {period}, with exact 95% confidence intervals.",
        },
        alt={
            "id": "Grafik garis kasus narkoba dan tersangka per tahun di {region}. {points}",
            "en": "Line chart of drug cases and suspects per year in {region}. {points}",
        },
        source="cases",
    ),
    Figure(
        "suspects_per_case",
        "cases",
        "background",
        plotting.suspects_per_case,
        caption={
            "id": "Tersangka per kasus per tahun, {region}, {period}: perbandingan dua hitungan, tanpa interval.",
            "en": "Suspects per case by year, {region}, {period}: the ratio of two counts, without an interval.",
        },
        alt={
            "id": "Diagram batang tersangka per kasus per tahun. {points}",
            "en": "Bar chart of suspects per case by year. {points}",
        },
        source="cases",
    ),
    Figure(
        "process",
        "coded",
        "background_process",
        plotting.process_diagram,
        caption={
            "id": "Proses kolaborasi: {n} tahap sebagai siklus, dengan para aktor di sekelilingnya.",
            "en": "The collaborative process: {n} stages as a cycle, with the actors around it.",
        },
        alt={
            "id": "Bagan: tahap {stages} membentuk siklus dengan panah dari tiap tahap ke tahap berikutnya; "
            "di sekelilingnya ada aktor {actors}.",
            "en": "Diagram: the stages {stages} form a cycle with arrows from each to the next; around it stand "
            "the actors {actors}.",
        },
        source="process",
    ),
    Figure(
        "stage_counts",
        "coded",
        "method",
        plotting.stage_counts,
        caption={
            "id": "Pernyataan yang dikode per tahap proses kolaborasi, {region}: temuan dan kesimpulan, serta "
            "uraian teori.",
            "en": "Coded statements per stage of the collaborative process, {region}: findings and conclusions, "
            "and restatements of theory.",
        },
        alt={
            "id": "Diagram batang pernyataan yang dikode per tahap. {counts}",
            "en": "Bar chart of coded statements per stage. {counts}",
        },
    ),
    Figure(
        "actor_stage",
        "coded",
        "method",
        plotting.actor_stage,
        caption={
            "id": "Aktor yang disebut dalam pernyataan yang dikode, menurut tahap (jumlah pernyataan).",
            "en": "Actors named in the coded statements, by stage (number of statements).",
        },
        alt={
            "id": "Peta panas aktor menurut tahap, dengan jumlah pernyataan di tiap sel. {cells}",
            "en": "Heatmap of actors by stage, with the number of coded statements in each cell. {cells}",
        },
    ),
    Figure(
        "triangulation",
        "coded",
        "method",
        plotting.triangulation,
        caption={
            "id": "Bukti untuk tiap tahap: temuan dari wawancara, dokumentasi, dan kesimpulan penulis "
            "(sintesis, bukan bukti wawancara), dihitung terpisah.",
            "en": "Evidence for each stage: findings from interviews, documentation, and the author's "
            "conclusions (a synthesis, not interview evidence), counted apart.",
        },
        alt={
            "id": "Peta panas jenis bukti menurut tahap. {cells}",
            "en": "Heatmap of evidence type by stage. {cells}",
        },
    ),
    Figure(
        "stage",
        "coded",
        "stage",
        plotting.stage_profile,
        caption={
            "id": "Kode dalam pernyataan dan dokumen tentang tahap {stage}.",
            "en": "Codes in the statements and documents on the stage {stage}.",
        },
        alt={
            "id": "Diagram batang kode dalam pernyataan tentang tahap {stage}. {counts}",
            "en": "Bar chart of codes in the statements on the stage {stage}. {counts}",
        },
    ),
]


NOTEBOOKS = {"cases": "01_case_table", "coded": "02_stage_findings"}  # the notebook that draws each ``data``


def unsaved(folder: Path, lang: str, stages: list[str]) -> list[str]:
    """The analysis notebooks (``NOTEBOOKS``) that have not saved every figure of theirs in ``lang`` in ``folder``:
    what to run before the report can show them."""
    missing = set()
    for figure in REGISTRY:
        keys = [f"{figure.key}_{s}" for s in stages] if figure.section == "stage" else [figure.key]
        if not all((folder / f"{key}.{lang}.json").is_file() for key in keys):
            missing.add(NOTEBOOKS[figure.data])
    return sorted(missing)


def spec(key: str) -> Figure:
    """The registry entry of a figure key (``stage_<code>`` keys belong to the ``stage`` entry)."""
    for figure in REGISTRY:
        if figure.key == key or (figure.section == "stage" and key.startswith(figure.key + "_")):
            return figure
    raise KeyError(key)


def section_keys(section: str, stage: str | None = None) -> list[str]:
    """The figure keys a report section shows, in registry order (``<key>_<stage>`` in a stage's subsection)."""
    if section == "stage":
        return [f"{f.key}_{stage}" for f in REGISTRY if f.section == "stage"]
    return [f.key for f in REGISTRY if f.section == section]


class SavedFigure:
    """What ``save`` returns: shows the PNG in a notebook, and carries the provenance record."""

    def __init__(self, png: Path, record: dict):
        self.png, self.record = png, record

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The PNG, tagged with the figure's id so the build can tell which cell made it."""
        figure = self.record["id"].rsplit(".", 1)[0]
        data = {
            "image/png": base64.b64encode(self.png.read_bytes()).decode("ascii"),
            "text/plain": f"<figure {figure}>",
        }
        return data, {"collabgov": {"figure": figure}}


def save(
    fig,
    figure_id: str,
    output_dir: Path | str,
    *,
    caption: str,
    alt: str,
    source: str,
    inputs: list[Path | str],
    synthetic: bool = False,
) -> SavedFigure:
    """Write ``<id>.png`` (300 dpi) and ``<id>.svg`` and a sidecar ``<id>.json`` with provenance.

    A figure of synthetic data carries the mark on the image itself and in its caption and alt text."""
    out = Path(output_dir)
    if synthetic:
        fig.text(
            0.5,
            0.5,
            SYNTHETIC_MARK,
            ha="center",
            va="center",
            fontsize=22,
            color="#999999",
            alpha=0.35,
            rotation=20,
            fontweight="bold",
            transform=fig.transFigure,
        )
        caption, alt = f"[{SYNTHETIC_MARK}] {caption}", f"[{SYNTHETIC_MARK}] {alt}"
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "id": figure_id,
        "caption": caption,
        "alt": alt,
        "source": source,
        "files": {},
        "inputs": {},
        "min_font_pt": plotting.min_font_size(fig),
    }
    with plotting.pyplot().rc_context({"svg.hashsalt": f"collabgov-{figure_id}"}):
        # Each format works out its own tight box: text measured at the figure's 100 dpi comes out
        # narrower than at 300 dpi, and a box shared between the two cut off long labels in the PNG.
        fig.savefig(out / f"{figure_id}.png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
        fig.savefig(out / f"{figure_id}.svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plotting.pyplot().close(fig)
    from PIL import Image

    with Image.open(out / f"{figure_id}.png") as image:
        record["width_in"] = round(image.width / DPI, 3)
    for suffix in ("png", "svg"):
        record["files"][suffix] = {"path": f"{figure_id}.{suffix}", "sha256": sha256(out / f"{figure_id}.{suffix}")}
    for path in inputs:
        record["inputs"][Path(path).name] = sha256(path)
    write_json(out / f"{figure_id}.json", record)
    return SavedFigure(out / f"{figure_id}.png", record)


def _source(figure: Figure, ctx, data) -> str:
    if figure.source == "cases":
        return ctx.note("cases_source") or "; ".join(dict.fromkeys(data["source"]))
    key = {"coding": "coding_source", "process": "process_source"}[figure.source]
    return ctx.note(key) or label(f"report.kind.{ctx.kind}.{key}", ctx.lang)


def _inputs(figure: Figure, ctx, data) -> list[Path]:
    if figure.data == "cases":
        return [ctx.input_file("cases")]
    return sorted(Path(p) for p in data.files.values())


def draw_all(ctx, kind: str, data) -> list[SavedFigure]:
    """Draw and save every registry figure whose data is ``kind``, in every language of the site;
    return the figures in the notebook's language (so that the executed notebook shows them)."""
    shown = []
    # A closed figure is freed only when Python next collects reference cycles: a notebook drawing many held
    # about 10 MB more for each (the findings kernel peaked at 340 MB). Each is collected once saved; what
    # existed before the first is set aside, so that a collection costs 2 ms instead of 75 ms.
    gc.freeze()
    try:
        for lang, saved in draw_each(ctx, kind, data):
            gc.collect()
            if lang == ctx.lang:
                shown.append(saved)
    finally:
        gc.unfreeze()
    return shown


def draw_each(ctx, kind: str, data):
    """(language, saved figure) for each registry figure whose data is ``kind``, in every language of the site,
    drawn and saved one after another."""
    stages = data.codebook.stages if kind == "coded" else []
    for figure in (f for f in REGISTRY if f.data == kind):
        for extra, key in (
            [((s,), f"{figure.key}_{s}") for s in stages] if figure.section == "stage" else [((), figure.key)]
        ):
            for lang in ctx.languages:
                c = ctx.in_language(lang)
                fig, values = figure.draw(data, c, *extra)
                plotting.numbers_in_language(fig, lang)
                fields = c.words() | values
                saved = save(
                    fig,
                    f"{key}.{lang}",
                    c.figures_dir,
                    caption=figure.caption[lang].format(**fields),
                    alt=figure.alt[lang].format(**fields),
                    source=_source(figure, c, data),
                    inputs=_inputs(figure, c, data),
                    synthetic=c.synthetic,
                )
                del fig  # the collection that follows can free it
                yield lang, saved
