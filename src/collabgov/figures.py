"""Figures made to be printed: Okabe-Ito colours that also differ in grey, marker shapes and line
styles that carry the meaning without colour, labels in the report's language, and byte-identical
PNG and SVG files for the same inputs and pinned library versions."""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .i18n import label  # noqa: E402

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


def save(fig, figure_id: str, output_dir: Path | str, *, caption: str, alt: str, source: str, inputs: list[Path | str]) -> dict:
    """Write ``<id>.png`` (300 dpi) and ``<id>.svg`` and a sidecar ``<id>.json`` with provenance."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    record = {"id": figure_id, "caption": caption, "alt": alt, "source": source, "files": {}, "inputs": {}}
    with plt.rc_context({"svg.hashsalt": f"collabgov-{figure_id}"}):
        fig.savefig(out / f"{figure_id}.png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
        fig.savefig(out / f"{figure_id}.svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    for suffix in ("png", "svg"):
        record["files"][suffix] = {"path": f"{figure_id}.{suffix}", "sha256": sha256(out / f"{figure_id}.{suffix}")}
    for path in inputs:
        record["inputs"][Path(path).name] = sha256(path)
    (out / f"{figure_id}.json").write_text(json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")
    return record


def sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


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
            ax.errorbar(x, y, yerr=err, color=PALETTE[i * 3], marker=MARKERS[i], linestyle=LINESTYLES[i],
                        markersize=6, capsize=4, linewidth=1.4, label=label(f"figure.{measure}", lang))
            for xi, yi in zip(x, y):
                ax.annotate(f"{int(yi)}", (xi, yi), xytext=(7 if i else -7, 7), textcoords="offset points",
                            ha="left" if i else "right", va="bottom", fontsize=8, color=PALETTE[i * 3],
                            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"})
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
        label("report.figures.trend_point", L, year=int(r["year"]), cases=integer(r["cases"], L),
              cases_ci=interval(r["cases_low"], r["cases_high"], L), suspects=integer(r["suspects"], L),
              suspects_ci=interval(r["suspects_low"], r["suspects_high"], L))
        for _, r in summary.iterrows())
    caption = label("report.figures.trend_caption", L, kecamatan=ctx.kecamatan, period=ctx.period)
    alt = label("report.figures.trend_alt", L, kecamatan=ctx.kecamatan, points=points)
    return caption, alt
