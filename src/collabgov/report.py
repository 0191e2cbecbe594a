"""Assemble the report, in the study's own order, as HTML fragments the report notebook displays.

Every number shown comes from the site's data through the functions of this package; the site's
own narrative (``data/<site>/text/<lang>/<section>.md``) refers to them by placeholders such as
``{{ cases_total }}`` or ``{{ table:cases }}``. Placeholders are looked up, never evaluated, and all
text from the data is escaped (Markdown is rendered with raw HTML switched off).
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from markdown_it import MarkdownIt

from . import cases as case_stats
from . import claims as claim_checks
from . import coding
from .context import SiteContext
from .errors import DataError, Problem, display_path
from .i18n import LANGUAGES, family_label, integer, interval, label, message, number, p_value, percent, signed

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_:.-]+)\s*\}\}")
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")

# The narrative files every site has, in each of its languages (text/<lang>/<name>.md).
TEXTS = [
    "abstract",
    "background",
    "background_cases",
    "theory",
    "method",
    "coded_data",
    "results",
    "conclusions",
    "recommendations",
    "references",
]

# The study's structure; each entry is one top-level heading of the report, in order.
SECTIONS = [
    "abstrak",
    "abstract",
    "background",
    "theory",
    "method",
    "results",
    "conclusions",
    "recommendations",
    "references",
    "appendix_claims",
    "appendix_codebook",
    "appendix_provenance",
]


def title_text(study: dict, kecamatan: str, lang: str) -> str:
    """The report's title: the site's own (``study.notes.report_title``) or the generic one."""
    own = ((study.get("notes") or {}).get("report_title") or {}).get(lang)
    return own or label("report.title", lang, kecamatan=kecamatan)


class Fragment(str):
    """HTML that Jupyter displays as HTML (and nbconvert copies into the exported page)."""

    def _repr_html_(self) -> str:
        return str(self)


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def table_html(
    key: str,
    number: str,
    head: list[str],
    rows: list[list[str]],
    title: str,
    source: str,
    lang: str,
    numeric_from: int = 1,
    widths: list[int] | None = None,
) -> str:
    """A numbered table (``number`` such as "Tabel 3"): title above, source below; ``widths`` (percent)
    fix the columns of text-heavy tables; columns from ``numeric_from`` on are right-aligned numbers."""
    cells = "".join(f"<th scope='col'>{esc(h)}</th>" for h in head)
    cols = "<colgroup>" + "".join(f"<col style='width:{w}%'>" for w in widths) + "</colgroup>" if widths else ""
    body = "".join(
        "<tr>"
        + "".join(f"<td class='{'num' if i >= numeric_from else 'txt'}'>{esc(v)}</td>" for i, v in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return (
        f"<div class='table-block' id='table-{esc(key)}'><table class='{'fixed' if widths else 'auto'}'>"
        f"<caption>{esc(number)}. {esc(title)}</caption>{cols}"
        f"<thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"
        f"<p class='source'>{esc(label('report.source', lang))}: {esc(source)}</p></div>"
    )


def figure_html(key: str, number: str, png: Path, alt: str, caption: str, lang: str, source: str | None = None) -> str:
    """A numbered figure embedded as PNG (a data URI, so the page stands alone), alt text, caption below."""
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    source_text = f" {esc(label('report.source', lang))}: {esc(source)}" if source is not None else ""
    return (
        f"<figure id='figure-{esc(key)}'><img src='data:image/png;base64,{data}' alt='{esc(alt)}'/>"
        f"<figcaption>{esc(number)}. {esc(caption)}{source_text}</figcaption></figure>"
    )


class Report:
    def __init__(self, ctx: SiteContext, case_table=None, coded: coding.CodedData | None = None):
        """The report of ``ctx``'s site; ``case_table`` and ``coded`` when they are loaded already."""
        self.ctx = ctx
        self.lang = ctx.lang
        self.case_table = (
            case_stats.load_case_table(ctx.data_dir, ctx.lang, ctx.years) if case_table is None else case_table
        )
        self.summary = case_stats.yearly_summary(self.case_table)
        self.comparisons = case_stats.compare_years(self.case_table)
        self.coded = coding.load_coded_data(ctx.data_dir, ctx.lang) if coded is None else coded
        self.stages = self.coded.codebook.stages
        self.claims = claim_checks.check_claims(ctx, self.case_table, self.coded)
        from .agreement import agreement_table

        self.agreement = agreement_table(self.coded, ctx.lang)
        self.facts = {lang: self._facts(lang) for lang in LANGUAGES}
        # Numbering follows the order in which tables and figures appear in the report.
        self.tables = (
            ["cases", "case_intervals", "case_comparison", "stages", "informants", "segments_per_stage"]
            + (["agreement"] if len(self.agreement) else [])
            + [f"findings_{s}" for s in self.stages]
            + ["claims", "codebook", "parameters", "inputs", "versions"]
        )
        self.figures = ["trend", "process", "stage_counts", "actor_stage", "triangulation"] + [
            f"stage_{s}" for s in self.stages
        ]

    def _facts(self, lang: str) -> dict[str, str]:
        ctx = self.ctx
        facts = case_facts(ctx, self.case_table, self.summary, lang) | coding_facts(self.coded, lang)
        counts = {v: sum(c.verdict == v for c in self.claims) for v in claim_checks.VERDICTS}
        facts |= {f"claims_{v}": integer(n, lang) for v, n in counts.items()}
        facts["claims_total"] = integer(len(self.claims), lang)
        return facts

    def check_texts(self) -> None:
        """Render every narrative file in every language, listing each missing file or unknown placeholder."""
        problems = []
        for lang in self.ctx.languages:
            names = TEXTS + [p.stem for p in sorted((self.ctx.data_dir / "text" / lang).glob("stage_*.md"))]
            for name in names:
                try:
                    self.text(name, lang)
                except DataError as exc:
                    problems += exc.problems
        if problems:
            raise DataError(problems)

    # --- numbering and building blocks ----------------------------------------------------
    def ref(self, kind: str, key: str) -> str:
        order = self.tables if kind == "table" else self.figures
        return f"{label('report.' + kind, self.lang)} {order.index(key) + 1}"

    def t(self, key: str, **values) -> str:
        return label(f"report.{key}", self.lang, **values)

    def source_of(self, key: str) -> str:
        """The source line for tables of one kind: the site's own wording, else the generic one."""
        return self.ctx.note(key) or self.t(key)

    def heading(self, key: str, level: int = 2, lang: str | None = None) -> str:
        return f"<h{level} id='{esc(key)}'>{esc(label('report.sections.' + key, lang or self.lang))}</h{level}>"

    def text(self, section: str, lang: str | None = None) -> str:
        """The site's narrative for ``section`` (in ``lang``, by default the report's), placeholders filled in."""
        lang = lang or self.lang
        path = self.ctx.data_dir / "text" / lang / f"{section}.md"
        if not path.is_file():
            raise DataError([Problem(display_path(path), None, None, message("text_missing", lang))])
        source = path.read_text("utf-8-sig")
        facts, problems = self.facts[lang], []

        def fill(match: re.Match) -> str:
            key = match.group(1)
            if key.startswith(("table:", "figure:")):
                kind, name = key.split(":", 1)
                if name in (self.tables if kind == "table" else self.figures):
                    order = self.tables if kind == "table" else self.figures
                    return f"{label('report.' + kind, lang)} {order.index(name) + 1}"
            elif key in facts:
                return facts[key]
            line = source[: match.start()].count("\n") + 1
            problems.append(
                Problem(
                    display_path(path), line, key, message("placeholder_unknown", lang, known=", ".join(sorted(facts)))
                )
            )
            return ""

        filled = _PLACEHOLDER.sub(fill, source)
        if problems:
            raise DataError(problems)
        return f"<div class='narrative' lang='{lang}'>{_MARKDOWN.render(filled)}</div>"

    def table(
        self,
        key: str,
        head: list[str],
        rows: list[list[str]],
        title: str,
        source: str,
        numeric_from: int = 1,
        widths: list[int] | None = None,
    ) -> str:
        return table_html(key, self.ref("table", key), head, rows, title, source, self.lang, numeric_from, widths)

    def figure(self, key: str) -> str:
        """A figure saved by an analysis notebook, with the caption and source of its sidecar."""
        folder = self.ctx.figures_dir
        record = json.loads((folder / f"{key}.{self.lang}.json").read_text("utf-8"))
        return figure_html(
            key,
            self.ref("figure", key),
            folder / f"{key}.{self.lang}.png",
            record["alt"],
            record["caption"],
            self.lang,
            record["source"],
        )

    # --- the report, section by section -----------------------------------------------------
    def title(self) -> Fragment:
        c = self.ctx
        lines = [
            f"<h1>{esc(title_text(c.study, c.kecamatan, self.lang))}</h1>",
            "<p class='subtitle'>"
            + esc(
                self.t(
                    "subtitle",
                    kecamatan=c.kecamatan,
                    kabupaten=c.kabupaten,
                    provinsi=c.provinsi,
                    code=c.region_code,
                    period=c.period,
                )
            )
            + "</p>",
        ]
        if c.synthetic:
            lines.append(f"<p class='synthetic'>{esc(self.t('synthetic_banner'))}</p>")
        lines.append(f"<p class='study'>{esc(c.note('based_on') or self.t('based_on'))} {esc(c.study['citation'])}</p>")
        if c.note("coded_note"):
            lines.append(f"<p class='study'>{esc(c.note('coded_note'))}</p>")
        return Fragment("<header class='title-block'>" + "".join(lines) + "</header>")

    def abstracts(self) -> Fragment:
        """Abstrak (Indonesian) and Abstract (English), in both reports, as in the study."""
        return Fragment(
            self.heading("abstrak", lang="id")
            + self.text("abstract", "id")
            + self.heading("abstract", lang="en")
            + self.text("abstract", "en")
        )

    def background(self) -> Fragment:
        return Fragment(
            self.heading("background")
            + self.text("background")
            + self.case_table_block()
            + self.text("background_cases")
            + self.case_intervals_block()
            + self.case_comparison_block()
            + self.figure("trend")
        )

    def theory(self) -> Fragment:
        return Fragment(self.heading("theory") + self.text("theory") + self.stages_block() + self.figure("process"))

    def method(self) -> Fragment:
        return Fragment(
            self.heading("method")
            + self.text("method")
            + self.informants_block()
            + self.heading("coded_data", 3)
            + self.text("coded_data")
            + self.segments_per_stage_block()
            + (self.agreement_block() if len(self.agreement) else "")
            + self.figure("stage_counts")
            + self.figure("actor_stage")
            + self.figure("triangulation")
        )

    def results(self) -> Fragment:
        return Fragment(
            self.heading("results") + self.text("results") + "".join(self.stage_section(s) for s in self.stages)
        )

    def conclusions(self) -> Fragment:
        return Fragment(self.heading("conclusions") + self.text("conclusions"))

    def recommendations(self) -> Fragment:
        return Fragment(self.heading("recommendations") + self.text("recommendations"))

    def references(self) -> Fragment:
        return Fragment(self.heading("references") + self.text("references"))

    def appendices(self, provenance: dict | None) -> Fragment:
        return Fragment(self.appendix_claims() + self.appendix_codebook() + self.appendix_provenance(provenance))

    # --- tables ---------------------------------------------------------------------------
    def case_table_block(self) -> str:
        t, L = self.case_table, self.lang
        head = [self.t("col.year"), self.t("col.cases"), self.t("col.suspects")]
        rows = [[str(y), integer(c, L), integer(s, L)] for y, c, s in zip(t["year"], t["cases"], t["suspects"])]
        rows.append([self.t("col.total"), self.facts[L]["cases_total"], self.facts[L]["suspects_total"]])
        sources = "; ".join(dict.fromkeys(t["source"]))
        return self.table(
            "cases", head, rows, self.t("tables.cases", kecamatan=self.ctx.kecamatan, period=self.ctx.period), sources
        )

    def case_intervals_block(self) -> str:
        L = self.lang
        head = [
            self.t("col.year"),
            self.t("col.cases"),
            self.t("col.ci95"),
            self.t("col.suspects"),
            self.t("col.ci95"),
            self.t("col.suspects_per_case"),
        ]
        rows = [
            [
                str(int(r["year"])),
                integer(r["cases"], L),
                interval(r["cases_low"], r["cases_high"], L),
                integer(r["suspects"], L),
                interval(r["suspects_low"], r["suspects_high"], L),
                number(r["suspects_per_case"], L),
            ]
            for _, r in self.summary.iterrows()
        ]
        return self.table("case_intervals", head, rows, self.t("tables.case_intervals"), self.t("stats_source"))

    def case_comparison_block(self) -> str:
        L = self.lang
        head = [
            self.t("col.measure"),
            self.t("col.years"),
            self.t("col.change"),
            self.t("col.change_pct"),
            self.t("col.rate_ratio"),
            self.t("col.ci95"),
            "p",
            self.t("col.needed"),
        ]
        rows = []
        for c in self.comparisons:
            needed = self.t(
                "needed_cell",
                low=integer(c.needed_at_most, L) if c.needed_at_most is not None else "–",
                high=integer(c.needed_at_least, L),
            )
            rows.append(
                [
                    self.t(f"col.{c.measure}"),
                    f"{c.year_from}→{c.year_to}",
                    signed(c.change, L),
                    percent(c.relative_change, L),
                    number(c.rate_ratio, L),
                    interval(c.ci_low, c.ci_high, L),
                    p_value(c.p_value, L),
                    needed,
                ]
            )
        return self.table("case_comparison", head, rows, self.t("tables.case_comparison"), self.t("stats_source"))

    def stages_block(self) -> str:
        L, book = self.lang, self.coded.codebook
        head = [self.t("col.number"), self.t("col.stage"), self.t("col.definition"), self.t("col.subcodes")]
        rows = [
            [
                str(i),
                book.label(s, L),
                book.codes.at[s, f"definition_{L}"] or "",
                ", ".join(book.label(c, L) for c in book.subcodes(s)) or "–",
            ]
            for i, s in enumerate(self.stages, 1)
        ]
        return self.table(
            "stages",
            head,
            rows,
            self.t("tables.stages"),
            self.t("codebook_source"),
            numeric_from=99,
            widths=[6, 20, 44, 30],
        )

    def informants_block(self) -> str:
        L = self.lang
        head = [self.t("col.informant"), self.t("col.role"), self.t("col.role_status"), self.t("col.basis")]
        rows = [
            [r["informant_id"], r[f"role_{L}"] or "–", self.t("role_status." + r["role_status"]), r[f"basis_{L}"] or ""]
            for _, r in self.coded.informants.iterrows()
        ]
        return self.table(
            "informants",
            head,
            rows,
            self.t("tables.informants"),
            self.source_of("informants_source"),
            numeric_from=99,
            widths=[10, 16, 18, 56],
        )

    def segments_per_stage_block(self) -> str:
        L = self.lang
        table = coding.segments_per_stage(self.coded, L)
        head = [self.t("col.stage"), self.t("col.segments"), self.t("col.share"), self.t("col.findings")]
        rows = [
            [r.label, integer(r.segments, L), percent(r.share, L, 0, sign=False), integer(r.findings, L)]
            for r in table.itertuples()
        ]
        rows.append(
            [
                self.t("col.total"),
                integer(table["segments"].sum(), L),
                percent(1.0, L, 0, sign=False),
                integer(table["findings"].sum(), L),
            ]
        )
        return self.table(
            "segments_per_stage", head, rows, self.t("tables.segments_per_stage"), self.source_of("coding_source")
        )

    def agreement_block(self) -> str:
        """Agreement between coders per code (characters as units), with Krippendorff's reading of alpha."""
        L = self.lang
        head = [self.t("col.code"), self.t("col.units"), "%", "κ", "α", self.t("col.reading")]
        rows = [
            [
                r.label,
                integer(r.units, L),
                percent(r.percent_agreement, L, 1, sign=False),
                number(r.kappa, L),
                number(r.alpha, L),
                self.t("agreement_reading." + r.reading),
            ]
            for r in self.agreement.itertuples()
        ]
        return (
            f"<p>{esc(self.t('agreement_intro', coders=integer(int(self.agreement['coders'].iloc[0]), L)))}</p>"
            + self.table("agreement", head, rows, self.t("tables.agreement"), self.t("agreement_source"))
        )

    def stage_section(self, stage: str) -> str:
        """One stage: heading, a sentence of counts, the site's text if any, findings table, figure."""
        L, book = self.lang, self.coded.codebook
        name = book.label(stage, L)
        table = coding.findings(self.coded, stage, L)
        kinds = table["statement"].value_counts()
        summary = self.t(
            "stage_summary",
            findings=integer(kinds.get("finding", 0), L),
            conclusions=integer(kinds.get("conclusion", 0), L),
            framing=integer(kinds.get("framing", 0), L),
            documents=integer(kinds.get("documentation", 0), L),
            table=self.ref("table", "findings_" + stage),
            figure=self.ref("figure", "stage_" + stage),
        )
        parts = [f"<h3 id='stage-{esc(stage)}'>{esc(name)}</h3>", f"<p>{esc(summary)}</p>"]
        if (self.ctx.data_dir / "text" / L / f"stage_{stage}.md").is_file():
            parts.append(self.text(f"stage_{stage}"))
        head = [
            self.t("col.segment"),
            self.t("col.statement"),
            self.t("col.codes"),
            self.t("col.locator"),
            self.t("col.informant"),
        ]
        rows = [
            [f"{r.segment} ({self.t('kinds.' + r.statement)})", r.text, r.codes, r.locator, r.informant]
            for r in table.itertuples()
        ]
        parts.append(
            self.table(
                f"findings_{stage}",
                head,
                rows,
                self.t("tables.findings", stage=name),
                self.source_of("coding_source"),
                numeric_from=99,
                widths=[14, 34, 20, 16, 16],
            )
        )
        parts.append(self.figure(f"stage_{stage}"))
        return "".join(parts)

    def appendix_claims(self) -> str:
        head = [
            self.t("col.claim"),
            self.t("col.claim_text"),
            self.t("col.locator"),
            self.t("col.recomputed"),
            self.t("col.verdict"),
        ]
        rows = [
            [c.claim_id, c.claim, c.locator, c.evidence, self.t("claims.verdicts." + c.verdict)] for c in self.claims
        ]
        return (
            self.heading("appendix_claims")
            + f"<p>{esc(self.t('claims_intro'))}</p>"
            + self.table(
                "claims",
                head,
                rows,
                self.t("tables.claims"),
                self.t("claims_source"),
                numeric_from=99,
                widths=[6, 28, 16, 36, 14],
            )
        )

    def appendix_codebook(self) -> str:
        L, book = self.lang, self.coded.codebook
        head = [
            self.t("col.code"),
            self.t("col.family"),
            self.t("col.parent"),
            self.t("col.label"),
            self.t("col.definition"),
            self.t("col.segments"),
        ]

        frequencies = coding.code_frequencies(self.coded, L)
        used = dict(zip(frequencies["code"], frequencies["segments"]))
        rows = [
            [
                code,
                family_label(r["family"], L),
                r["parent"] if isinstance(r["parent"], str) else "–",
                r[f"label_{L}"],
                r[f"definition_{L}"] if isinstance(r[f"definition_{L}"], str) else "",
                integer(used.get(code, 0), L),
            ]
            for code, r in book.codes.iterrows()
        ]
        return self.heading("appendix_codebook") + self.table(
            "codebook",
            head,
            rows,
            self.t("tables.codebook"),
            self.t("codebook_source"),
            numeric_from=5,
            widths=[20, 10, 16, 17, 27, 10],
        )

    def appendix_provenance(self, provenance: dict | None) -> str:
        parts = [self.heading("appendix_provenance")]
        if not provenance:
            return "".join(parts) + f"<p>{esc(self.t('no_provenance'))}</p>"
        commit = provenance.get("commit") or "–"
        if provenance.get("dirty"):
            commit += " " + self.t("dirty")
        parts.append(f"<p>{esc(self.t('provenance_intro', commit=commit, python=provenance.get('python', '–')))}</p>")
        params = [
            [key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)]
            for key, value in sorted(provenance.get("parameters", {}).items())
        ]
        parts.append(
            self.table(
                "parameters",
                [self.t("col.parameter"), self.t("col.value")],
                params,
                self.t("tables.parameters"),
                self.t("provenance_source"),
                numeric_from=99,
                widths=[22, 78],
            )
        )
        inputs = [[name, digest] for name, digest in sorted(provenance.get("inputs", {}).items())]
        parts.append(
            self.table(
                "inputs",
                [self.t("col.file"), "SHA-256"],
                inputs,
                self.t("tables.inputs"),
                self.t("provenance_source"),
                numeric_from=99,
                widths=[42, 58],
            )
        )
        versions = [[name, version] for name, version in sorted(provenance.get("versions", {}).items())]
        parts.append(
            self.table(
                "versions",
                [self.t("col.package"), self.t("col.version")],
                versions,
                self.t("tables.versions"),
                self.t("provenance_source"),
                numeric_from=99,
                widths=[50, 50],
            )
        )
        return "".join(parts)


def coding_facts(data: coding.CodedData, lang: str) -> dict[str, str]:
    """Counts from the coded data that the narrative may cite."""
    seg, book = data.segments, data.codebook
    unnamed = coding.unnamed_diagram_actors(data)
    with_findings = sum(1 for s in book.stages if ((seg["stage"] == s) & (seg["statement"] == "finding")).any())
    return {
        "segments_total": integer(len(seg), lang),
        "findings_total": integer(int((seg["statement"] == "finding").sum()), lang),
        "conclusions_total": integer(int((seg["statement"] == "conclusion").sum()), lang),
        "framing_total": integer(int((seg["statement"] == "framing").sum()), lang),
        "documents_total": integer(len(data.documents), lang),
        "stages_total": integer(len(book.stages), lang),
        "stages_with_findings": integer(with_findings, lang),
        "informants_total": integer(len(data.informants), lang),
        "unattributed_total": integer(int((seg["informant"] == coding.UNATTRIBUTED).sum()), lang),
        "codes_total": integer(len(book.codes), lang),
        "diagram_actors_total": integer(len(book.diagram_actors()), lang),
        "diagram_actors_unnamed": integer(len(unnamed), lang),
        "actors_without_segments": ", ".join(book.label(a, lang) for a in unnamed) or "–",
    }


def case_facts(ctx: SiteContext, table, summary, lang: str) -> dict[str, str]:
    """Every case-table number the narrative may cite, formatted in ``lang``."""
    L = lang
    facts = {
        "kecamatan": ctx.kecamatan,
        "kabupaten": ctx.kabupaten,
        "provinsi": ctx.provinsi,
        "region_code": ctx.region_code,
        "period": ctx.period,
        "year_first": str(ctx.years[0]),
        "year_last": str(ctx.years[-1]),
    }
    tot = case_stats.totals(table)
    published = ctx.study.get("published_totals") or {}
    for m in case_stats.MEASURES:
        facts[f"{m}_total"] = integer(tot[m], L)
        if m in published:
            facts[f"{m}_total_published"] = integer(published[m], L)
    if all(m in published for m in case_stats.MEASURES):
        same = all(published[m] == tot[m] for m in case_stats.MEASURES)
        facts["totals_check"] = label("report.total_matches" if same else "report.total_differs", L)
    for _, r in summary.iterrows():
        y = int(r["year"])
        for m in case_stats.MEASURES:
            facts[f"{m}_{y}"] = integer(r[m], L)
            facts[f"{m}_{y}_ci"] = interval(r[f"{m}_low"], r[f"{m}_high"], L)
        facts[f"suspects_per_case_{y}"] = number(r["suspects_per_case"], L)
    for m in case_stats.MEASURES:
        c = case_stats.compare(table, m)  # first year against last
        facts[f"{m}_change"] = signed(c.change, L)
        facts[f"{m}_change_pct"] = percent(c.relative_change, L) if c.count_from else "–"
        facts[f"{m}_rate_ratio"] = number(c.rate_ratio, L)
        facts[f"{m}_rate_ratio_ci"] = interval(c.ci_low, c.ci_high, L)
        facts[f"{m}_p"] = p_value(c.p_value, L)
        facts[f"{m}_needed_at_most"] = integer(c.needed_at_most, L) if c.needed_at_most is not None else "–"
        facts[f"{m}_needed_at_least"] = integer(c.needed_at_least, L)
    return facts
