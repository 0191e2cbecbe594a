"""Figures made to be printed: Okabe-Ito colours that also differ in grey, marker shapes and line
styles that carry the meaning without colour, labels in the report's language, and byte-identical
PNG and SVG files for the same inputs and pinned library versions."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from .i18n import family_label, label
from .provenance import sha256, write_json

# Okabe & Ito (2008) colour-blind-safe palette, ordered so neighbours also differ in lightness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":"]
DPI = 300

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "svg.hashsalt": "collabgov",
    "svg.fonttype": "path",
    "figure.dpi": 100,
}


@contextmanager
def style():
    with plt.rc_context(STYLE):
        yield


class SavedFigure:
    """What ``save`` returns: shows the PNG in a notebook, and carries the provenance record."""

    def __init__(self, png: Path, record: dict):
        self.png, self.record = png, record

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The PNG, tagged with the figure's id so the build can tell which cell made it."""
        import base64

        figure = self.record["id"].rsplit(".", 1)[0]
        data = {
            "image/png": base64.b64encode(self.png.read_bytes()).decode("ascii"),
            "text/plain": f"<figure {figure}>",
        }
        return data, {"collabgov": {"figure": figure}}


SYNTHETIC_MARK = "SINTETIS / SYNTHETIC"


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
    record = {"id": figure_id, "caption": caption, "alt": alt, "source": source, "files": {}, "inputs": {}}
    with plt.rc_context({"svg.hashsalt": f"collabgov-{figure_id}"}):
        # Each format works out its own tight box: text measured at the figure's 100 dpi comes out
        # narrower than at 300 dpi, and a box shared between the two cut off long labels in the PNG.
        fig.savefig(out / f"{figure_id}.png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
        fig.savefig(out / f"{figure_id}.svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    for suffix in ("png", "svg"):
        record["files"][suffix] = {"path": f"{figure_id}.{suffix}", "sha256": sha256(out / f"{figure_id}.{suffix}")}
    for path in inputs:
        record["inputs"][Path(path).name] = sha256(path)
    write_json(out / f"{figure_id}.json", record)
    return SavedFigure(out / f"{figure_id}.png", record)


def case_trend(summary, lang: str, title: str | None = None):
    """Cases and suspects by year, each with its exact 95% interval (error bars)."""
    with style():
        fig, ax = plt.subplots(figsize=(6.3, 3.4))
        years = list(summary["year"])
        offsets = (-0.06, 0.06)
        for i, measure in enumerate(("cases", "suspects")):
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
                label=label(f"figure.{measure}", lang),
            )
            for xi, yi in zip(x, y):
                ax.annotate(
                    f"{int(yi)}",
                    (xi, yi),
                    xytext=(7 if i else -7, 7),
                    textcoords="offset points",
                    ha="left" if i else "right",
                    va="bottom",
                    fontsize=8,
                    color=PALETTE[i * 3],
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"},
                )
        ax.set_xticks(years, [str(y) for y in years])
        ax.set_xlim(min(years) - 0.5, max(years) + 0.5)
        ax.set_ylim(0, max(summary["suspects_high"].max(), summary["cases_high"].max()) * 1.3)  # room for the legend
        ax.set_xlabel(label("figure.year", lang))
        ax.set_ylabel(label("figure.count", lang))
        if title:
            ax.set_title(title, loc="left")
        legend = ax.legend(loc="upper left", ncols=2, title=label("figure.interval_note", lang), title_fontsize=7.5)
        legend._legend_box.align = "left"
        return fig


def describe_trend(summary, ctx) -> tuple[str, str]:
    """Caption and alt text (with the numbers, for readers who cannot see the chart)."""
    from .i18n import integer, interval

    L = ctx.lang
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
    caption = label("report.figures.trend_caption", L, kecamatan=ctx.kecamatan, period=ctx.period)
    alt = label("report.figures.trend_alt", L, kecamatan=ctx.kecamatan, points=points)
    return caption, alt


def stage_counts(table, lang: str):
    """Horizontal bars: coded statements per stage, findings and framing shown apart."""
    import textwrap

    with style():
        fig, ax = plt.subplots(figsize=(6.3, 0.45 * len(table) + 1.2))
        labels = [textwrap.fill(t, 26) for t in table["label"]][::-1]
        findings = list(table["findings"])[::-1]
        framing = [a - b for a, b in zip(table["segments"], table["findings"])][::-1]
        ax.barh(
            labels, findings, color=PALETTE[0], label=label("figure.findings", lang), edgecolor="black", linewidth=0.5
        )
        ax.barh(
            labels,
            framing,
            left=findings,
            color="white",
            hatch="///",
            edgecolor="#555555",
            linewidth=0.5,
            label=label("figure.framing", lang),
        )
        for y, (a, b) in enumerate(zip(findings, framing)):
            ax.text(a + b + 0.15, y, f"{a + b}", va="center", fontsize=8)
        ax.set_xlabel(label("figure.segments", lang))
        ax.grid(axis="y", visible=False)
        ax.set_xlim(0, max(table["segments"]) * 1.15 + 0.5)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncols=2, fontsize=8)
        return fig


def heatmap(matrix, lang: str, xlabel: str, ylabel: str, width: float = 6.3):
    """A count matrix as a heatmap: one sequential hue (reads in grey), the count printed in each cell."""
    import textwrap

    import numpy as np

    with style():
        rows, cols = matrix.shape
        fig, ax = plt.subplots(figsize=(width, 0.38 * rows + 1.8))
        values = matrix.to_numpy(dtype=float)
        vmax = max(1.0, values.max())
        ax.imshow(values, cmap="Blues", vmin=0, vmax=vmax, aspect="auto")
        for (i, j), v in np.ndenumerate(values):
            ax.text(
                j, i, f"{int(v)}", ha="center", va="center", fontsize=8, color="white" if v > 0.6 * vmax else "black"
            )
        ax.set_xticks(range(cols), [textwrap.fill(str(c), 14) for c in matrix.columns], fontsize=8)
        ax.set_yticks(range(rows), [str(r) for r in matrix.index], fontsize=8)
        ax.tick_params(length=0)
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xticks(np.arange(-0.5, cols), minor=True)
        ax.set_yticks(np.arange(-0.5, rows), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.5)
        ax.tick_params(which="minor", length=0)
        ax.xaxis.tick_top()
        ax.set_xlabel(xlabel)
        ax.xaxis.set_label_position("top")
        ax.set_ylabel(ylabel)
        return fig


def process_diagram(stages: list[str], actors: list[str], lang: str, title: str | None = None):
    """The collaborative process as a cycle of stages, with the actors around it (Bagan 1.1 redrawn)."""
    import math
    import textwrap

    from matplotlib.patches import Circle, FancyArrowPatch

    with style():
        fig, ax = plt.subplots(figsize=(6.3, 6.3))
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_xlim(-3.3, 3.3)
        ax.set_ylim(-3.3, 3.3)
        n = len(stages)
        r_stage, r_actor = 1.42, 2.75
        ax.add_patch(Circle((0, 0), 2.15, facecolor="#f2f2f2", edgecolor="#999999", linewidth=0.8, linestyle="--"))
        ax.text(
            0,
            0,
            textwrap.fill(label("figure.process_centre", lang), 16),
            ha="center",
            va="center",
            fontsize=9,
            fontweight="bold",
        )
        points = [(r_stage * math.sin(2 * math.pi * i / n), r_stage * math.cos(2 * math.pi * i / n)) for i in range(n)]
        for i, ((x, y), name) in enumerate(zip(points, stages)):
            ax.text(
                x,
                y,
                textwrap.fill(f"{i + 1}. {name}", 13),
                ha="center",
                va="center",
                fontsize=8,
                bbox={"boxstyle": "round,pad=0.35", "facecolor": "white", "edgecolor": PALETTE[0], "linewidth": 1.2},
            )
        for i in range(n if n > 1 else 0):
            (x0, y0), (x1, y1) = points[i], points[(i + 1) % n]
            ax.add_patch(
                FancyArrowPatch(
                    (x0, y0),
                    (x1, y1),
                    connectionstyle="arc3,rad=-0.25",
                    arrowstyle="-|>",
                    mutation_scale=12,
                    color=PALETTE[0],
                    linewidth=1.2,
                    shrinkA=30,
                    shrinkB=30,
                )
            )
        m = len(actors)
        for j, name in enumerate(actors):
            angle = 2 * math.pi * (j + 0.5) / max(m, 1)
            x, y = r_actor * math.sin(angle), r_actor * math.cos(angle)
            ax.text(
                x,
                y,
                textwrap.fill(name, 14),
                ha="center",
                va="center",
                fontsize=8,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "#fff3d6", "edgecolor": "#8a5a00", "linewidth": 0.8},
            )
        if title:
            ax.set_title(title)
        return fig


def stage_profile(profile, lang: str):
    """Codes used in one stage, as horizontal bars; the family is shown by hatching and in the label."""
    import textwrap

    with style():
        rows = max(1, len(profile))
        fig, ax = plt.subplots(figsize=(6.3, 0.28 * rows + 1.0))
        from .coding import FAMILY_ORDER

        families = FAMILY_ORDER + [f for f in dict.fromkeys(profile["family"]) if f not in FAMILY_ORDER]
        hatches = ["", "///", "...", "xxx", "\\\\\\", "ooo", "---", "+++"]
        labels = [
            textwrap.shorten(f"{lab} ({family_label(fam, lang)})", 60)
            for lab, fam in zip(profile["label"], profile["family"])
        ]
        for i, (_lab, n, fam) in enumerate(zip(labels, profile["count"], profile["family"])):
            k = families.index(fam)
            ax.barh(
                rows - 1 - i,
                n,
                color=PALETTE[k % len(PALETTE)],
                hatch=hatches[k % len(hatches)],
                edgecolor="black",
                linewidth=0.5,
            )
            ax.text(n + 0.05, rows - 1 - i, str(n), va="center", fontsize=7.5)
        ax.set_yticks(range(rows), labels[::-1] if len(labels) else [""], fontsize=7.5)
        ax.set_xlabel(label("figure.segments", lang))
        ax.grid(axis="y", visible=False)
        ax.set_xlim(0, (max(profile["count"]) if len(profile) else 1) + 1)
        ax.xaxis.get_major_locator().set_params(integer=True)
        return fig
