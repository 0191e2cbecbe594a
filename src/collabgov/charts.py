"""The study's figures, each saved in every report language with its caption, alt text and inputs.

Each function draws one figure for every language of the site (``<id>.<lang>.png`` and ``.svg``)
and returns the one in the notebook's language, so that the executed notebook shows it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from . import cases, coding, figures
from .context import SiteContext
from .i18n import label


def _each_language(ctx: SiteContext):
    for lang in [ctx.lang] + [x for x in ctx.languages if x != ctx.lang]:
        yield replace(ctx, lang=lang)


def _for_all_languages(draw):
    """Decorator: run ``draw(data, ctx, ...)`` once per language; return the notebook language's figure."""

    def run(data, ctx: SiteContext, *args):
        shown = None
        for c in _each_language(ctx):
            saved = draw(data, c, *args)
            shown = shown or saved
        return shown

    run.__doc__, run.__name__ = draw.__doc__, draw.__name__
    return run


@_for_all_languages
def trend(table, ctx: SiteContext):
    """Cases and suspects by year with exact 95% intervals."""
    summary = cases.yearly_summary(table)
    caption, alt = figures.describe_trend(summary, ctx)
    fig = figures.case_trend(summary, ctx.lang)
    return figures.save(
        fig,
        f"trend.{ctx.lang}",
        ctx.figures_dir,
        caption=caption,
        alt=alt,
        source="; ".join(dict.fromkeys(table["source"])),
        inputs=[ctx.input_file("cases")],
        synthetic=ctx.synthetic,
    )


def _note(ctx: SiteContext, key: str) -> str:
    """The site's own wording (site.yaml ``study.notes``) or the generic label."""
    return ctx.note(key) or label(f"report.{key}", ctx.lang)


def _source(ctx: SiteContext) -> str:
    return _note(ctx, "coding_source")


def _save(fig, key: str, ctx: SiteContext, data: coding.CodedData, caption: str, alt: str, source: str | None = None):
    return figures.save(
        fig,
        f"{key}.{ctx.lang}",
        ctx.figures_dir,
        caption=caption,
        alt=alt,
        source=source or _source(ctx),
        inputs=sorted(Path(p) for p in data.files.values()),
        synthetic=ctx.synthetic,
    )


@_for_all_languages
def stage_counts(data: coding.CodedData, ctx: SiteContext):
    table = coding.segments_per_stage(data, ctx.lang)
    L = ctx.lang
    words = "; ".join(
        f"{r.label}: {r.segments} ({r.findings} {label('report.findings_word', L)})" for r in table.itertuples()
    )
    return _save(
        figures.stage_counts(table, L),
        "stage_counts",
        ctx,
        data,
        label("report.figures.stage_counts_caption", L, kecamatan=ctx.kecamatan),
        label("report.figures.stage_counts_alt", L, counts=words),
    )


@_for_all_languages
def actor_stage(data: coding.CodedData, ctx: SiteContext):
    L = ctx.lang
    matrix = coding.code_matrix(data, "actor", L)
    fig = figures.heatmap(matrix, L, label("figure.stages_axis", L), label("figure.actors_axis", L))
    return _save(
        fig,
        "actor_stage",
        ctx,
        data,
        label("report.figures.actor_stage_caption", L),
        label("report.figures.actor_stage_alt", L, cells=coding.matrix_description(matrix, L)),
    )


@_for_all_languages
def triangulation(data: coding.CodedData, ctx: SiteContext):
    L = ctx.lang
    matrix = coding.triangulation(data, L)
    matrix.columns = [label(f"report.evidence.{c}", L) for c in matrix.columns]
    fig = figures.heatmap(matrix.T, L, label("figure.stages_axis", L), label("figure.evidence_axis", L))
    return _save(
        fig,
        "triangulation",
        ctx,
        data,
        label("report.figures.triangulation_caption", L),
        label("report.figures.triangulation_alt", L, cells=coding.matrix_description(matrix.T, L)),
    )


@_for_all_languages
def process(data: coding.CodedData, ctx: SiteContext):
    L = ctx.lang
    book = data.codebook
    stages = [book.label(s, L) for s in book.stages]
    actors = [book.label(a, L) for a in book.diagram_actors()]
    fig = figures.process_diagram(stages, actors, L)
    return _save(
        fig,
        "process",
        ctx,
        data,
        label("report.figures.process_caption", L, n=len(stages)),
        label("report.figures.process_alt", L, stages=", ".join(stages), actors=", ".join(actors)),
        source=_note(ctx, "process_source"),
    )


@_for_all_languages
def stage_profile(data: coding.CodedData, ctx: SiteContext, stage: str):
    L = ctx.lang
    profile = coding.stage_profile(data, stage, L)
    name = data.codebook.label(stage, L)
    words = "; ".join(f"{r.label}: {r.count}" for r in profile.itertuples()) or "–"
    return _save(
        figures.stage_profile(profile, L),
        f"stage_{stage}",
        ctx,
        data,
        label("report.figures.stage_profile_caption", L, stage=name),
        label("report.figures.stage_profile_alt", L, stage=name, counts=words),
    )
