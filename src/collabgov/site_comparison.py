"""Compare sites: cases and suspects per year side by side (with exact intervals) and stage profiles."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd

from . import cases as case_stats
from . import coding, figures, plotting
from .build import check_kernel, log
from .context import compendium_root, output_folder
from .errors import UsageError
from .export import export_html
from .html_parts import Fragment, esc, figure_html, table_html
from .i18n import integer, interval, label, labeller, message, percent
from .publish import replace_folder
from .scheduler import KERNEL
from .sites import load_site, user_language
from .validation import validate_site


def case_panel(sites: list) -> pd.DataFrame:
    frames = []
    for site in sites:
        table = case_stats.yearly_summary(case_stats.load_case_table(site.folder, site.lang, site.params["years"]))
        table.insert(0, "site", site.slug)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def stage_profiles(sites: list, lang: str) -> pd.DataFrame:
    """Share of coded statements per stage for each site (stages by their label in ``lang``)."""
    rows = []
    for site in sites:
        table = coding.segments_per_stage(coding.load_coded_data(site.folder, site.lang), lang)
        for r in table.itertuples():
            rows.append({"site": site.slug, "stage": r.label, "segments": r.segments, "share": r.share})
    return pd.DataFrame(rows, columns=["site", "stage", "segments", "share"])


def site_name(site, lang: str) -> str:
    name = f"{site.params['kecamatan']} ({site.slug})"
    return name + (" – " + label("compare.synthetic", lang) if site.synthetic else "")


def cases_figure(panel: pd.DataFrame, names: dict, lang: str):
    """Cases and suspects per year, one line per site, with exact intervals; the legend above the panels."""
    with plotting.style():
        fig, axes = plotting.pyplot().subplots(
            1, 2, figsize=(plotting.PRINT_WIDTH, 3.4), sharey=False, layout="constrained"
        )
        n = panel["site"].nunique()
        for ax, measure in zip(axes, case_stats.MEASURES):
            for i, (site, part) in enumerate(panel.groupby("site", sort=False)):
                x = part["year"] + (i - (n - 1) / 2) * 0.12
                y = part[measure]
                ax.errorbar(
                    x,
                    y,
                    yerr=[y - part[f"{measure}_low"], part[f"{measure}_high"] - y],
                    marker=plotting.MARKERS[i % 8],
                    linestyle=plotting.LINESTYLES[i % 4],
                    color=plotting.PALETTE[i % 8],
                    capsize=3,
                    label=names[site],
                )
            years = sorted(panel["year"].unique())
            ax.set_xticks(years, [str(y) for y in years])
            ax.set_title(label(f"figure.{measure}", lang), loc="left")
            ax.set_xlabel(label("figure.year", lang))
            ax.set_ylim(0, None)
        axes[0].set_ylabel(label("figure.count", lang))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=min(n, 3))
        return fig


def profile_figure(profiles: pd.DataFrame, names: dict, lang: str):
    """Share of each site's coded statements per stage, its count printed at the end of each bar."""

    with plotting.style():
        stages = list(dict.fromkeys(profiles["stage"]))
        sites = list(dict.fromkeys(profiles["site"]))
        fig, ax = plotting.pyplot().subplots(
            figsize=(plotting.PRINT_WIDTH, 0.55 * len(stages) + 1.4), layout="constrained"
        )
        height = 0.8 / len(sites)
        for i, site in enumerate(sites):
            part = profiles[profiles["site"] == site].set_index("stage").reindex(stages)
            y = [len(stages) - 1 - k - 0.4 + height * (i + 0.5) for k in range(len(stages))]
            shares = part["share"].fillna(0) * 100
            ax.barh(
                y,
                shares,
                height=height,
                color=plotting.PALETTE[i % 8],
                hatch=plotting.HATCHES[i % 8],
                edgecolor="black",
                linewidth=0.5,
                label=names[site],
            )
            for yi, share, count in zip(y, shares, part["segments"].fillna(0)):
                ax.text(share + 0.6, yi, f"{int(count)}", va="center", fontsize=8)
        ax.set_yticks(range(len(stages)), [plotting.wrap(s, 24) for s in stages][::-1])
        ax.set_xlabel(label("compare.share_axis", lang))
        ax.set_xlim(0, max(1.0, float(profiles["share"].max()) * 100) * 1.15)
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.02), ncols=min(len(sites), 3), borderaxespad=0)
        return fig


def _embed(fig, key: str, folder: Path, caption: str, alt: str, number: int, lang: str, synthetic: bool) -> str:
    saved = figures.save(
        fig, key, folder, caption=caption, alt=alt, source=label("compare.source", lang), inputs=[], synthetic=synthetic
    )
    return figure_html(
        key, f"{label('report.figure', lang)} {number}", saved.png, saved.record["alt"], saved.record["caption"], lang
    )


def check_sites(slugs: list[str], lang: str) -> None:
    """A comparison needs two sites or more, each named once: else a one-line error in ``lang``."""
    if len(slugs) < 2:
        raise UsageError(message("compare_two", lang), lang)
    twice = [slug for slug in dict.fromkeys(slugs) if slugs.count(slug) > 1]
    if twice:
        raise UsageError(message("compare_twice", lang, site=twice[0]), lang)


def comparison_fragment(
    slugs: list[str], lang: str, output_dir: str | Path | None = None, root: str | Path | None = None
) -> Fragment:
    """The whole comparison as one HTML fragment (the comparison notebook displays it), its figures saved in
    ``<output_dir>/figures`` (the compendium and the output folder found as ``context`` says when None)."""
    check_sites(slugs, lang)
    root = compendium_root(root)
    figures_dir = output_folder(root, comparison_name(slugs), output_dir) / "figures"
    sites = [load_site(root, s) for s in slugs]
    names = {s.slug: site_name(s, lang) for s in sites}
    panel = case_panel(sites)
    profiles = stage_profiles(sites, lang)
    t = labeller("compare", lang)
    head = [
        t("site"),
        label("report.col.year", lang),
        label("report.col.cases", lang),
        label("report.col.ci95", lang),
        label("report.col.suspects", lang),
        label("report.col.ci95", lang),
    ]
    rows = [
        [
            names[r.site],
            str(r.year),
            integer(r.cases, lang),
            interval(r.cases_low, r.cases_high, lang),
            integer(r.suspects, lang),
            interval(r.suspects_low, r.suspects_high, lang),
        ]
        for r in panel.itertuples()
    ]
    stage_head = [t("site")] + list(dict.fromkeys(profiles["stage"])) + [label("report.col.total", lang)]
    stage_rows = []
    for site in dict.fromkeys(profiles["site"]):
        part = profiles[profiles["site"] == site].set_index("stage")
        cells = [
            f"{integer(part.at[s, 'segments'], lang)} ({percent(part.at[s, 'share'], lang, 0, sign=False)})"
            if s in part.index
            else "–"
            for s in stage_head[1:-1]
        ]
        stage_rows.append([names[site]] + cells + [integer(part["segments"].sum(), lang)])
    number = lambda n: f"{label('report.table', lang)} {n}"
    synthetic = [names[s.slug] for s in sites if s.synthetic]
    parts = [f"<h1>{esc(t('title'))}</h1>", f"<p class='subtitle'>{esc(', '.join(names.values()))}</p>"]
    if synthetic:
        parts.append(f"<p class='synthetic'>{esc(t('synthetic_banner', sites=', '.join(synthetic)))}</p>")
    parts += [
        f"<h2>{esc(t('cases_heading'))}</h2>",
        table_html("compare_cases", number(1), head, rows, t("cases_table"), t("source"), lang, numeric_from=2),
        _embed(
            cases_figure(panel, names, lang),
            f"compare_cases.{lang}",
            figures_dir,
            t("cases_caption"),
            t("cases_alt"),
            1,
            lang,
            bool(synthetic),
        ),
        f"<h2>{esc(t('stages_heading'))}</h2>",
        table_html("compare_stages", number(2), stage_head, stage_rows, t("stages_table"), t("source"), lang),
        _embed(
            profile_figure(profiles, names, lang),
            f"compare_stages.{lang}",
            figures_dir,
            t("stages_caption"),
            t("stages_alt"),
            2,
            lang,
            bool(synthetic),
        ),
    ]
    return Fragment("".join(parts))


def comparison_name(slugs: list[str]) -> str:
    """The folder of a comparison's outputs: ``compare-<a>-<b>``."""
    return "compare-" + "-".join(slugs)


def build_comparison(root: Path, slugs: list[str]) -> Path:
    """Run the comparison notebook for each language and publish ``reports/compare-<a>-<b>/``."""
    # Imported here: the tables and figures above run in the comparison notebook's kernel, which
    # must not load papermill and jsonschema (up to 3.4 s and 38 MB measured) for nothing.
    import papermill

    check_sites(slugs, user_language())
    sites = [load_site(root, s) for s in slugs]
    for site in sites:
        validate_site(site).raise_if_errors()
    check_kernel(sites[0].lang)
    name = comparison_name(slugs)
    work = root / "build" / f"{name}.tmp"
    if work.exists():
        shutil.rmtree(work)
    (work / "executed").mkdir(parents=True)
    for lang in ("id", "en"):
        start = time.perf_counter()
        executed = work / "executed" / f"compare.{lang}.ipynb"
        papermill.execute_notebook(
            str(root / "notebooks" / "compare.ipynb"),
            str(executed),
            parameters={"sites": slugs, "lang": lang, "root": str(root), "output_dir": str(work)},
            kernel_name=KERNEL,
            cwd=str(root / "notebooks"),
            progress_bar=False,
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
        export_html(executed, work / f"comparison.{lang}.html", lang, label("compare.title", lang))
        seconds = f"{time.perf_counter() - start:.1f}"
        log(message("compare_done", sites[0].lang, language=lang, seconds=seconds))
    target = root / "reports" / name
    replace_folder(work, target)
    log(message("compare_written", sites[0].lang, folder=f"reports/{name}"))
    return target
