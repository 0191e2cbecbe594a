"""Drawing functions for the report's figures, made to be printed.

Okabe-Ito colours that also differ in grey, marker shapes, hatching and line styles that carry the
meaning without colour, labels in the report's language, no text smaller than 8 pt at the size the
figure is printed (figures are at most ``PRINT_WIDTH`` inches wide, the report's text column), and
legends outside the plotting area.

Each function takes the figure's data and the run's context and returns ``(figure, values)``:
``values`` fill the fields of the figure's caption and alt text in ``figures.REGISTRY``.
"""

from __future__ import annotations

import math
import textwrap
from contextlib import contextmanager
from functools import cache

import numpy as np

from . import cases, coding
from .export import page
from .i18n import family_label, integer, interval, label, number

# Okabe & Ito (2008) colour-blind-safe palette, ordered so neighbours also differ in lightness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":"]
HATCHES = ["", "///", "...", "xxx", "\\\\\\", "ooo", "---", "+++"]
PRINT_WIDTH = page()["figure"]["width_in"]  # inches, within the text column of page.toml
MIN_FONT = 8  # points, at printed size

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "legend.title_fontsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "svg.hashsalt": "collabgov",
    "svg.fonttype": "path",
    "figure.dpi": 100,
}


@cache
def wrap(text: str, width: int) -> str:
    """A label on lines of about ``width`` characters, broken only between words (a word is never split)."""
    return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)


def pyplot():
    """matplotlib's pyplot with the Agg backend, imported when a figure is first drawn: the report's kernels,
    which draw nothing, do without it (0.6 s and 30 MB each, measured)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def numbers_in_language(fig, lang: str) -> None:
    """Tick numbers on every numeric axis of ``fig`` written as the report's language writes numbers (0,5 in
    Indonesian, as the report's tables and the bars' own labels do). Axes of words are left as they are."""
    from matplotlib.ticker import ScalarFormatter

    decimal = number(0.5, lang, 1)[1]
    if decimal == ".":
        return
    swap = str.maketrans({".": decimal, ",": "."})

    class InLanguage(ScalarFormatter):
        def __call__(self, x, pos=None):
            return super().__call__(x, pos).translate(swap)

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if type(axis.get_major_formatter()) is ScalarFormatter:
                axis.set_major_formatter(InLanguage())


@contextmanager
def style():
    with pyplot().rc_context(STYLE):
        yield


def _legend_above(ax, ncols: int, title: str | None = None):
    """A legend above the plotting area, left-aligned: never over data or gridlines."""
    legend = ax.legend(loc="lower left", bbox_to_anchor=(0, 1.02), ncols=ncols, title=title, borderaxespad=0)
    if title:
        legend._legend_box.align = "left"
    return legend


# --- case table ---------------------------------------------------------------------------------


# where a number may stand beside its point, in order of preference (offset in points, alignment), for a
# number set on the right of its point; a number on the left takes the same, mirrored
_BESIDE = [
    (8, 0, "left", "center"),
    (8, 7, "left", "bottom"),
    (8, -7, "left", "top"),
    (-8, 0, "right", "center"),
    (-8, 7, "right", "bottom"),
    (-8, -7, "right", "top"),
    (0, 9, "center", "bottom"),
    (0, -9, "center", "top"),
]


def _clear_of_lines(ax, numbers: list) -> None:
    """Move each ``(text, side)`` number to the first place beside its point where no line, interval bar or
    other number crosses it (the figure is drawn once to measure); when no place is clear, the first."""
    ax.figure.draw_without_rendering()
    renderer = ax.figure.canvas.get_renderer()
    paths = [
        line.get_transform().transform_path(line.get_path()) for line in ax.lines if line.get_linestyle() != "None"
    ]
    paths += [bars.get_transform().transform_path(path) for bars in ax.collections for path in bars.get_paths()]
    taken = []
    for text, side in numbers:
        for place in _BESIDE:
            box = _put(text, side, place, renderer)
            if not any(p.intersects_bbox(box, filled=False) for p in paths) and not any(box.overlaps(t) for t in taken):
                break
        else:
            box = _put(text, side, _BESIDE[0], renderer)
        taken.append(box)


def _put(text, side: int, place: tuple, renderer):
    dx, dy, ha, va = place
    text.set_position((dx * side, dy))
    text.set_horizontalalignment({"left": "right", "right": "left"}.get(ha, ha) if side < 0 else ha)
    text.set_verticalalignment(va)
    return text.get_window_extent(renderer)


def case_trend(table, ctx):
    """Cases and suspects by year, each with its exact 95% interval (error bars)."""
    summary = cases.yearly_summary(table)
    L = ctx.lang
    with style():
        fig, ax = pyplot().subplots(figsize=(PRINT_WIDTH, 3.4), layout="constrained")
        years = list(summary["year"])
        offsets = (-0.06, 0.06)
        numbers = []
        for i, measure in enumerate(cases.MEASURES):
            x = [y + offsets[i] for y in years]
            y = summary[measure]
            err = [y - summary[f"{measure}_low"], summary[f"{measure}_high"] - y]
            ax.errorbar(
                x,
                y,
                yerr=err,
                color=PALETTE[i * 3],
                marker=MARKERS[i],
                linestyle=LINESTYLES[i],
                markersize=6,
                capsize=4,
                linewidth=1.4,
                label=label(f"figure.{measure}", L),
            )
            side = 1 if i else -1  # cases are labelled left of their points, suspects right, where clear
            for xi, yi in zip(x, y):
                text = ax.annotate(
                    f"{int(yi)}",
                    (xi, yi),
                    xytext=(8 * side, 0),
                    textcoords="offset points",
                    ha="left" if i else "right",
                    va="center",
                    fontsize=8.5,
                    color=PALETTE[i * 3],
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"},
                )
                numbers.append((text, side))
        ax.set_xticks(years, [str(y) for y in years])
        ax.set_xlim(min(years) - 0.5, max(years) + 0.5)
        ax.set_ylim(0, max(summary["suspects_high"].max(), summary["cases_high"].max()) * 1.08 + 1)
        ax.set_xlabel(label("figure.year", L))
        ax.set_ylabel(label("figure.count", L))
        _legend_above(ax, 2, label("figure.interval_note", L))
        _clear_of_lines(ax, numbers)
    points = " ".join(
        label(
            "report.figures.trend_point",
            L,
            year=int(r["year"]),
            cases=integer(r["cases"], L),
            cases_ci=interval(r["cases_low"], r["cases_high"], L),
            suspects=integer(r["suspects"], L),
            suspects_ci=interval(r["suspects_low"], r["suspects_high"], L),
        )
        for _, r in summary.iterrows()
    )
    return fig, {"points": points}


def suspects_per_case(table, ctx):
    """Suspects per case by year: the ratio of the two counts, printed on each bar. No interval: both counts
    come from the same cases, so they are not two independent Poisson counts."""
    summary = cases.yearly_summary(table)
    L = ctx.lang
    with style():
        fig, ax = pyplot().subplots(figsize=(PRINT_WIDTH, 2.6), layout="constrained")
        years = [str(int(y)) for y in summary["year"]]
        ratios = list(summary["suspects_per_case"])
        ax.bar(
            years,
            [r if r == r else 0 for r in ratios],
            color=PALETTE[4],
            edgecolor="black",
            linewidth=0.5,
            hatch="...",
            width=0.55,
        )
        for x, r in zip(years, ratios):
            ax.annotate(
                number(r, L),
                (x, r if r == r else 0),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8.5,
            )
        ax.set_ylim(0, max([r for r in ratios if r == r] or [1]) * 1.25)
        ax.set_xlabel(label("figure.year", L))
        ax.set_ylabel(label("report.col.suspects_per_case", L))
        ax.grid(axis="x", visible=False)
    points = "; ".join(f"{y}: {number(r, L)}" for y, r in zip(years, ratios))
    return fig, {"points": points}


# --- coded data ----------------------------------------------------------------------------------


def stage_counts(data, ctx):
    """Horizontal bars: coded statements per stage, findings and conclusions apart from restated theory."""
    L = ctx.lang
    table = coding.segments_per_stage(data, L)
    with style():
        fig, ax = pyplot().subplots(figsize=(PRINT_WIDTH, 0.45 * len(table) + 1.3), layout="constrained")
        labels = [wrap(t, 26) for t in table["label"]][::-1]
        findings = list(table["findings"])[::-1]
        theory = [a - b for a, b in zip(table["segments"], table["findings"])][::-1]
        ax.barh(labels, findings, color=PALETTE[0], label=label("figure.findings", L), edgecolor="black", linewidth=0.5)
        ax.barh(
            labels,
            theory,
            left=findings,
            color="white",
            hatch="///",
            edgecolor="#555555",
            linewidth=0.5,
            label=label("figure.theory", L),
        )
        for y, (a, b) in enumerate(zip(findings, theory)):
            ax.text(a + b + 0.15, y, f"{a + b}", va="center", fontsize=8.5)
        ax.set_xlabel(label("figure.segments", L))
        ax.grid(axis="y", visible=False)
        ax.set_xlim(0, max(max(table["segments"]), 1) * 1.15 + 0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        _legend_above(ax, 2)
    words = "; ".join(
        f"{r.label}: {r.segments} ({r.findings} {label('report.findings_word', L)})" for r in table.itertuples()
    )
    return fig, {"counts": words}


def _heatmap(matrix, xlabel: str, ylabel: str):
    """A count matrix as a heatmap: one sequential hue (reads in grey), the count printed in each cell."""
    with style():
        rows, cols = matrix.shape
        fig, ax = pyplot().subplots(figsize=(PRINT_WIDTH, 0.36 * rows + 1.9), layout="constrained")
        values = matrix.to_numpy(dtype=float)
        vmax = max(1.0, values.max()) if values.size else 1.0
        shown = values if values.size else np.zeros((1, 1))
        # cells as vector quads (not an image resampled to the page: a crisp SVG, and no 100 MB float buffer at 300 dpi)
        ax.pcolormesh(
            np.arange(shown.shape[1] + 1) - 0.5,
            np.arange(shown.shape[0] + 1) - 0.5,
            shown,
            cmap="Blues",
            vmin=0,
            vmax=vmax,
            edgecolors="white",
            linewidth=1.5,
        )
        ax.set_xlim(-0.5, shown.shape[1] - 0.5)
        ax.set_ylim(shown.shape[0] - 0.5, -0.5)  # first row at the top, as in the table
        for (i, j), v in np.ndenumerate(values):
            ax.text(
                j, i, f"{int(v)}", ha="center", va="center", fontsize=8.5, color="white" if v > 0.6 * vmax else "black"
            )
        ax.set_xticks(range(cols), [wrap(str(c), 10) for c in matrix.columns])
        ax.set_yticks(range(rows), [wrap(textwrap.shorten(str(r), 60), 28) for r in matrix.index])
        ax.tick_params(length=0)
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.xaxis.tick_top()
        # a line's gap above the column labels: closer, the axis title read as the first line of the middle label
        ax.set_xlabel(xlabel, labelpad=10)
        ax.xaxis.set_label_position("top")
        ax.set_ylabel(ylabel)
        return fig


def actor_stage(data, ctx):
    """Actors named in the coded statements, by stage."""
    L = ctx.lang
    matrix = coding.code_matrix(data, "actor", L)
    fig = _heatmap(matrix, label("figure.stages_axis", L), label("figure.actors_axis", L))
    return fig, {"cells": coding.matrix_description(matrix, L)}


def triangulation(data, ctx):
    """Evidence per stage: findings from interviews, documentation, and the author's conclusions kept apart."""
    L = ctx.lang
    matrix = coding.triangulation(data, L)
    matrix.columns = [label(f"report.evidence.{c}", L) for c in matrix.columns]
    fig = _heatmap(matrix.T, label("figure.stages_axis", L), label("figure.evidence_axis", L))
    return fig, {"cells": coding.matrix_description(matrix.T, L)}


def process_diagram(data, ctx):
    """The collaborative process as a cycle of stages, with the actors around it."""
    from matplotlib.patches import Ellipse, FancyArrowPatch

    L = ctx.lang
    book = data.codebook
    stages = [book.label(s, L) for s in book.stages]
    actors = [book.label(a, L) for a in book.diagram_actors()]
    with style():
        fig, ax = pyplot().subplots(figsize=(PRINT_WIDTH, 4.3), layout="constrained")
        ax.axis("off")
        ax.set_xlim(-4.6, 4.6)
        ax.set_ylim(-3.0, 3.0)
        n = len(stages)
        rx, ry = 1.9, 1.25  # the cycle of stages
        ax.add_patch(
            Ellipse((0, 0), 2 * 3.05, 2 * 2.2, facecolor="#f2f2f2", edgecolor="#999999", linewidth=0.8, linestyle="--")
        )
        ax.text(
            0,
            0,
            wrap(label("figure.process_centre", L), 14),
            ha="center",
            va="center",
            fontsize=9,
            fontweight="bold",
        )
        points = [(rx * math.sin(2 * math.pi * i / n), ry * math.cos(2 * math.pi * i / n)) for i in range(n)]
        for i, ((x, y), name) in enumerate(zip(points, stages)):
            ax.text(
                x,
                y,
                wrap(f"{i + 1}. {name}", 16),
                ha="center",
                va="center",
                fontsize=8,
                zorder=3,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": PALETTE[0], "linewidth": 1.2},
            )
        for i in range(n if n > 1 else 0):
            (x0, y0), (x1, y1) = points[i], points[(i + 1) % n]
            ax.add_patch(
                FancyArrowPatch(
                    (x0, y0),
                    (x1, y1),
                    connectionstyle="arc3,rad=-0.25",
                    arrowstyle="-|>",
                    mutation_scale=11,
                    color=PALETTE[0],
                    linewidth=1.1,
                    shrinkA=26,
                    shrinkB=26,
                )
            )
        m = len(actors)
        for j, name in enumerate(actors):
            angle = 2 * math.pi * (j + 0.5) / max(m, 1)
            x, y = 3.75 * math.sin(angle), 2.55 * math.cos(angle)
            ax.text(
                x,
                y,
                wrap(name, 15),
                ha="center",
                va="center",
                fontsize=8,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "#fff3d6", "edgecolor": "#8a5a00", "linewidth": 0.8},
            )
    return fig, {"n": len(stages), "stages": ", ".join(stages), "actors": ", ".join(actors) or "–"}


def stage_profile(data, ctx, stage: str):
    """Codes used in one stage, as horizontal bars; the family is shown by colour, hatching and in the label."""
    L = ctx.lang
    profile = coding.stage_profile(data, stage, L)
    with style():
        rows = max(1, len(profile))
        fig, ax = pyplot().subplots(figsize=(PRINT_WIDTH, 0.3 * rows + 1.0), layout="constrained")
        families = coding.FAMILY_ORDER + [f for f in dict.fromkeys(profile["family"]) if f not in coding.FAMILY_ORDER]
        labels = [
            textwrap.shorten(f"{lab} ({family_label(fam, L)})", 58)
            for lab, fam in zip(profile["label"], profile["family"])
        ]
        for i, (n, fam) in enumerate(zip(profile["count"], profile["family"])):
            k = families.index(fam)
            ax.barh(
                rows - 1 - i,
                n,
                color=PALETTE[k % len(PALETTE)],
                hatch=HATCHES[k % len(HATCHES)],
                edgecolor="black",
                linewidth=0.5,
            )
            ax.text(n + 0.05, rows - 1 - i, str(n), va="center", fontsize=8)
        ax.set_yticks(range(rows), labels[::-1] if labels else [""], fontsize=8)
        ax.set_xlabel(label("figure.segments", L))
        ax.grid(axis="y", visible=False)
        ax.set_xlim(0, (max(profile["count"]) if len(profile) else 1) + 1)
        ax.xaxis.get_major_locator().set_params(integer=True)
    name = data.codebook.label(stage, L)
    words = "; ".join(f"{r.label}: {r.count}" for r in profile.itertuples()) or "–"
    return fig, {"stage": name, "counts": words}


def min_font_size(fig) -> float:
    """The smallest text of a figure in points (as drawn, before any scaling for print)."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
    return float(min(sizes)) if sizes else float("nan")
