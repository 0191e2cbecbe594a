"""Assemble the report, in the study's own order, as HTML fragments the report notebook displays.

Every number shown comes from the site's data through the functions of this package; the site's
own narrative (``data/<site>/text/<lang>/<section>.md``, see ``texts``) refers to numbers only by
placeholders such as ``{{ cases_total }}`` or ``{{ table:cases }}``, and every placeholder names a
number that stands in a table or figure of the report. All text from the data is escaped.

Wording follows the site: its region (kabupaten or kota), and whether the study is the student's
own fieldwork or the reproduction of a published study (``study.kind``).
"""

from __future__ import annotations

import base64
import json
import posixpath

from . import cases as case_stats
from . import claims as claim_checks
from . import coding, figures, texts
from .agreement import agreement_table
from .context import SiteContext
from .errors import DataError, Problem, display_path
from .facts import CODING_FACTS, case_facts, coding_facts
from .html_parts import Fragment, esc, figure_html, placeholder_figure_html, table_html
from .i18n import (
    LANGUAGES,
    family_label,
    integer,
    interval,
    label,
    labeller,
    message,
    missing,
    number,
    p_value,
    percent,
    signed,
)

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


def title_text(site, lang: str) -> str:
    """The report's title: the site's own (``study.notes.report_title``), else the title of a fieldwork study
    (the student's own research), else the generic one (a reproduction names the study it reproduces below)."""
    study = site.params["study"]
    own = ((study.get("notes") or {}).get("report_title") or {}).get(lang)
    if not own and study.get("kind") == "fieldwork":
        own = study.get("title")
    return own or label("report.title", lang, kecamatan=site.params["kecamatan"])


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
        self.trends = case_stats.trend_tests(self.case_table) if len(self.case_table) >= 3 else []
        self.coded = coding.load_coded_data(ctx.data_dir, ctx.lang) if coded is None else coded
        self.stages = self.coded.codebook.stages
        self.claims = claim_checks.check_claims(ctx, self.case_table, self.coded)
        self.agreement = agreement_table(self.coded, ctx.lang)
        self.tables, self.figures = self.order(
            len(self.case_table), bool(len(self.agreement)), self.stages, self.coded.documents, bool(self.claims)
        )
        self.facts = {lang: self._facts(lang) for lang in LANGUAGES}

    # --- what the report holds, in order ---------------------------------------------------
    @staticmethod
    def order(
        years: int, agreement: bool, stages: list[str], documents, claims: bool = True
    ) -> tuple[list[str], list[str]]:
        """Table keys and figure keys in the order the report shows them (their numbers)."""
        tables = ["cases", "case_intervals", "case_comparison"] + (["case_trend"] if years >= 3 else [])
        tables += ["stages", "informants", "segments_per_stage"] + (["agreement"] if agreement else [])
        tables += [f"findings_{s}" for s in stages] + (["claims"] if claims else [])
        tables += ["codebook", "parameters", "inputs", "versions"]
        figs = figures.section_keys("background") + figures.section_keys("background_process")
        figs += figures.section_keys("method")
        for stage in stages:
            figs += [f"document_{d}" for d in documents.loc[documents["stage"] == stage, "document_id"]]
            figs += figures.section_keys("stage", stage)
        return tables, figs

    def _facts(self, lang: str) -> dict[str, str]:
        ctx = self.ctx.in_language(lang)
        facts = ctx.words() | case_facts(ctx, self.case_table, self.summary, self.trends, lang)
        facts |= coding_facts(self.coded, lang)
        counts = {v: sum(c.verdict == v for c in self.claims) for v in claim_checks.VERDICTS}
        facts |= {f"claims_{v}": integer(n, lang) for v, n in counts.items()}
        facts["claims_total"] = integer(len(self.claims), lang)
        return facts

    @classmethod
    def fact_names(cls, ctx: SiteContext, stages: list[str] | None = None) -> set[str]:
        """Every placeholder the texts of ``ctx``'s site may use, known without its data (from site.yaml and the
        codebook's ``stages``, read here when not given)."""
        import pandas as pd

        zeros = pd.DataFrame({"year": ctx.years, "cases": 0, "suspects": 0, "source": "-"})
        summary = case_stats.yearly_summary(zeros)
        trends = case_stats.trend_tests(zeros) if len(ctx.years) >= 3 else []
        names = set(ctx.words()) | set(case_facts(ctx, zeros, summary, trends, ctx.lang)) | set(CODING_FACTS)
        names |= {f"claims_{v}" for v in claim_checks.VERDICTS} | {"claims_total"}
        if stages is None:
            try:
                stages = coding.load_codebook(ctx.data_dir, ctx.lang).stages
            except DataError:
                stages = []
        tables, _ = cls.order(len(ctx.years), True, stages, coding.frame([], "documents"))
        names |= {f"table:{t}" for t in tables}
        names |= {f"figure:{f.key}" for f in figures.REGISTRY if f.section != "stage"}
        names |= {f"figure:{k}" for s in stages for k in figures.section_keys("stage", s)}
        return names

    # --- numbering and building blocks ----------------------------------------------------
    def ref(self, kind: str, key: str, lang: str | None = None) -> str:
        order = self.tables if kind == "table" else self.figures
        return f"{label('report.' + kind, lang or self.lang)} {order.index(key) + 1}"

    def t(self, key: str, **values) -> str:
        return labeller("report", self.lang)(key, **values)

    def kind_t(self, key: str, **values) -> str:
        """Wording that depends on whether the study is fieldwork or a reproduction."""
        return label(f"report.kind.{self.ctx.kind}.{key}", self.lang, **values)

    def source_of(self, key: str) -> str:
        """The source line for tables of one kind: the site's own wording, else the wording for its kind of study."""
        return self.ctx.note(key) or self.kind_t(key)

    def heading(self, key: str, level: int = 2, lang: str | None = None) -> str:
        return f"<h{level} id='{esc(key)}'>{esc(label('report.sections.' + key, lang or self.lang))}</h{level}>"

    def text(self, section: str, lang: str | None = None) -> str:
        """The site's narrative for ``section`` (in ``lang``, by default the report's), placeholders filled in."""
        lang = lang or self.lang
        facts = self.facts[lang]
        unknown = []

        def fill(key: str) -> str:
            if key.startswith(("table:", "figure:")):
                kind, name = key.split(":", 1)
                if name in (self.tables if kind == "table" else self.figures):
                    return self.ref(kind, name, lang)
            elif key in facts:
                return facts[key]
            unknown.append(key)
            return ""

        try:
            html = texts.render(self.ctx.data_dir, lang, section, fill, self.lang)
        except texts.TextProblem as exc:
            raise DataError([exc.problem]) from None
        if unknown:
            path = display_path(texts.path_of(self.ctx.data_dir, lang, section))
            raise DataError(
                [Problem(path, None, k, message("placeholder_unknown", self.lang, known="…")) for k in unknown]
            )
        return html

    def table(
        self,
        key: str,
        head: list[str],
        rows: list[list[str]],
        title: str,
        source: str,
        numeric_from: int = 1,
        widths: list[int] | None = None,
        code_columns: tuple[int, ...] = (),
    ) -> str:
        return table_html(
            key, self.ref("table", key), head, rows, title, source, self.lang, numeric_from, widths, code_columns
        )

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

    def figures_of(self, section: str, stage: str | None = None) -> str:
        return "".join(self.figure(k) for k in figures.section_keys(section, stage))

    # --- the report, section by section -----------------------------------------------------
    def title(self) -> Fragment:
        c, w = self.ctx, self.ctx.words()
        lines = [
            f"<h1>{esc(title_text(c.site, self.lang))}</h1>",
            f"<div class='subtitle'>{esc(self.t('subtitle', **w))}</div>",
        ]
        if c.synthetic:
            lines.append(f"<div class='synthetic'>{esc(self.t('synthetic_banner'))}</div>")
        lines.append(
            f"<div class='study'>{esc(c.note('based_on') or self.kind_t('based_on'))} {esc(c.citation())}</div>"
        )
        if c.note("coded_note"):
            lines.append(f"<div class='study'>{esc(c.note('coded_note'))}</div>")
        return Fragment("<header class='title-block'>" + "".join(lines) + "</header>")

    def abstracts(self) -> Fragment:
        """Abstrak (Indonesian) and Abstract (English), in the languages the site has: the report's own first.
        The study's order is Abstrak, then Abstract; a report that changes it says so."""
        both = (("id", "abstrak"), ("en", "abstract"))
        study_order = [(lang, key) for lang, key in both if lang in self.ctx.languages]
        order = sorted(study_order, key=lambda pair: pair[0] != self.lang)
        parts = [self.heading(key, lang=lang) + self.text("abstract", lang) for lang, key in order]
        if order != study_order:
            parts.insert(1, f"<div class='data-note'>{esc(self.t('abstract_first'))}</div>")
        return Fragment("".join(parts))

    def background(self) -> Fragment:
        """Latar Belakang: the case table and its statistics, who takes part (the process diagram), the aim."""
        return Fragment(
            self.heading("background")
            + self.text("background")
            + self.case_table_block()
            + self.data_notes()
            + self.text("background_cases")
            + self.case_intervals_block()
            + self.case_comparison_block()
            + self.case_trend_block()
            + self.figures_of("background")
            + self.text("background_process")
            + self.figures_of("background_process")
            + self.text("aim")
        )

    def theory(self) -> Fragment:
        return Fragment(self.heading("theory") + self.text("theory") + self.stages_block())

    def method(self) -> Fragment:
        return Fragment(
            self.heading("method")
            + self.text("method")
            + self.informants_block()
            + self.heading("coded_data", 3)
            + self.text("coded_data")
            + self.segments_per_stage_block()
            + (self.agreement_block() if len(self.agreement) else "")
            + self.figures_of("method")
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
        source = self.ctx.note("cases_source") or "; ".join(dict.fromkeys(t["source"]))
        title = self.t("tables.cases", region=self.ctx.words()["region"], period=self.ctx.period)
        return self.table("cases", head, rows, title, source)

    def data_notes(self) -> str:
        """Notes on the case table that a reader should know (e.g. fewer suspects than cases in a year)."""
        L = self.lang
        notes = [
            self.t("note_suspects_fewer", year=int(r.year), cases=integer(r.cases, L), suspects=integer(r.suspects, L))
            for r in self.case_table.itertuples()
            if r.suspects < r.cases
        ]
        return "".join(f"<div class='data-note'>{esc(n)}</div>" for n in notes)

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
            low = integer(c.needed_at_most, L) if c.needed_at_most is not None else "–"
            needed = self.t("needed_cell", low=low, high=integer(c.needed_at_least, L))
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

    def case_trend_block(self) -> str:
        """With three or more years: the exact conditional test for a trend over all of them."""
        if not self.trends:
            return ""
        L = self.lang
        head = [
            self.t("col.measure"),
            self.t("col.years"),
            self.t("col.total"),
            self.t("col.trend_rr"),
            self.t("col.ci95"),
            "p",
        ]
        rows = [
            [
                self.t(f"col.{tr.measure}"),
                f"{tr.years[0]}–{tr.years[-1]}",
                integer(tr.total, L),
                number(tr.rate_ratio, L),
                interval(tr.ci_low, tr.ci_high, L),
                p_value(tr.p_value, L),
            ]
            for tr in self.trends
        ]
        return f"<p>{esc(self.t('trend_intro', n=len(self.ctx.years)))}</p>" + self.table(
            "case_trend", head, rows, self.t("tables.case_trend"), self.t("stats_source")
        )

    def stages_block(self) -> str:
        L, book = self.lang, self.coded.codebook
        head = [self.t("col.number"), self.t("col.stage"), self.t("col.definition"), self.t("col.subcodes")]
        rows = [
            [
                str(i),
                book.label(s, L),
                missing(book.codes.at[s, f"definition_{L}"], L),
                ", ".join(book.label(c, L) for c in book.subcodes(s)) or "–",
            ]
            for i, s in enumerate(self.stages, 1)
        ]
        title = self.t("tables.stages", n=integer(len(self.stages), L))
        return self.table(
            "stages", head, rows, title, self.t("codebook_source"), numeric_from=99, widths=[7, 22, 43, 28]
        )

    def informants_block(self) -> str:
        L = self.lang
        head = [self.t("col.informant"), self.t("col.role"), self.t("col.role_status"), self.t("col.basis")]
        rows = [
            [
                r["informant_id"],
                missing(r[f"role_{L}"], L),
                self.kind_t("role_status." + r["role_status"]),
                missing(r[f"basis_{L}"], L),
            ]
            for _, r in self.coded.informants.iterrows()
        ]
        title = self.t("tables.informants", n=integer(len(rows), L))
        return self.table(
            "informants",
            head,
            rows,
            title,
            self.source_of("informants_source"),
            numeric_from=99,
            widths=[13, 17, 20, 50],
        )

    def segments_per_stage_block(self) -> str:
        L = self.lang
        table = coding.segments_per_stage(self.coded, L)
        head = [
            self.t("col.stage"),
            self.t("col.findings"),
            self.t("col.conclusions"),
            self.t("col.theory"),
            self.t("col.documents"),
            self.t("col.segments"),
        ]
        cols = ["finding", "conclusion", "theory", "documents", "segments"]
        rows = [[r["label"]] + [integer(r[c], L) for c in cols] for _, r in table.iterrows()]
        rows.append([self.t("col.total")] + [integer(table[c].sum(), L) for c in cols])
        return self.table(
            "segments_per_stage",
            head,
            rows,
            self.t("tables.segments_per_stage"),
            self.source_of("coding_source"),
            widths=[30, 14, 14, 14, 14, 14],
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
        intro = self.t("agreement_intro", coders=integer(int(self.agreement["coders"].iloc[0]), L))
        return f"<p>{esc(intro)}</p>" + self.table(
            "agreement",
            head,
            rows,
            self.t("tables.agreement"),
            self.t("agreement_source"),
            widths=[34, 14, 12, 10, 10, 20],
        )

    def stage_summary(self, stage: str, kinds) -> str:
        """One sentence: what the coded data hold for this stage, zero counts left out."""
        L = self.lang
        parts = [
            self.t(f"stage_parts.{k}_{'one' if kinds.get(k, 0) == 1 else 'other'}", n=integer(kinds.get(k, 0), L))
            for k in ("finding", "conclusion", "theory", "documentation")
            if kinds.get(k, 0)
        ]
        refs = self.ref("table", f"findings_{stage}")
        if not parts:
            return self.t("stage_summary_none", table=refs)
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" {self.t('and')} " + parts[-1]
        return self.t("stage_summary", parts=listed, table=refs)

    def stage_section(self, stage: str) -> str:
        """One stage: heading, a sentence of counts, the site's text if any, findings table, documentation, figure."""
        L, book = self.lang, self.coded.codebook
        name = book.label(stage, L)
        table = coding.findings(self.coded, stage, L)
        parts = [
            f"<h3 id='stage-{esc(stage)}'>{esc(name)}</h3>",
            f"<p>{esc(self.stage_summary(stage, table['statement'].value_counts()))}</p>",
        ]
        if texts.exists(self.ctx.data_dir, L, f"stage_{stage}"):
            parts.append(self.text(f"stage_{stage}"))
        head = [
            self.t("col.segment"),
            self.t("col.statement"),
            self.t("col.codes"),
            self.t("col.locator"),
            self.t("col.informant"),
        ]
        rows = [
            [
                f"{r.segment} ({self.t('kinds.' + r.statement)})",
                missing(r.text, L),
                r.codes or "–",
                missing(r.locator, L),
                self.informant_label(r.informant),
            ]
            for r in table.itertuples()
        ]
        parts.append(
            self.table(
                f"findings_{stage}",
                head,
                rows,
                self.t("tables.findings", stage=name.lower()),
                self.source_of("coding_source"),
                numeric_from=99,
                widths=[13, 42, 17, 16, 12],
            )
        )
        parts += [self.document_figure(d) for _, d in self.coded.documents.iterrows() if d["stage"] == stage]
        parts.append(self.figures_of("stage", stage))
        return "".join(parts)

    def informant_label(self, informant: str) -> str:
        if informant == coding.UNATTRIBUTED:
            return self.t("unattributed")
        return "–" if informant == "–" else missing(informant, self.lang)

    def document_figure(self, doc) -> str:
        """A documentation item as a figure: its image if the site has it, else a placeholder saying it is not
        reproduced, with the source's caption and source either way."""
        L = self.lang
        key = f"document_{doc['document_id']}"
        title = missing(doc.get(f"title_{L}") or doc.get("title_id"), L)
        where = f" ({self.t('in_source', figure=doc['figure'])})" if isinstance(doc.get("figure"), str) else ""
        caption = f"{title}{where}"
        image = doc.get("image")
        if isinstance(image, str) and image:
            try:
                kind, data = texts.site_image(self.ctx.data_dir, image, L)
            except texts.TextProblem as exc:
                raise DataError([exc.problem]) from None
            uri = f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"
            return figure_html(key, self.ref("figure", key), None, caption, caption, L, doc["source"], uri=uri)
        note = self.kind_t("document_not_reproduced")
        return placeholder_figure_html(key, self.ref("figure", key), caption, note, L, doc["source"])

    def appendix_claims(self) -> str:
        if not self.claims:  # validation refuses texts that cite claims while there are none
            return self.heading("appendix_claims") + f"<p>{esc(self.t('claims_none'))}</p>"
        head = [
            self.t("col.claim"),
            self.t("col.claim_text"),
            self.t("col.locator"),
            self.t("col.recomputed"),
            self.t("col.verdict"),
        ]
        rows = [
            [c.claim_id, c.claim, c.locator, c.evidence, f"{self.t('claims.verdicts.' + c.verdict)}: {c.reason}"]
            for c in self.claims
        ]
        verdicts = "; ".join(
            f"{self.t('claims.verdicts.' + v)} ({self.t('claims.meaning.' + v)})" for v in claim_checks.VERDICTS
        )
        return (
            self.heading("appendix_claims")
            + f"<p>{esc(self.kind_t('claims_intro'))} {esc(verdicts)}.</p>"
            + self.table(
                "claims",
                head,
                rows,
                self.t("tables.claims", n=integer(len(rows), self.lang)),
                self.t("claims_source"),
                numeric_from=99,
                widths=[8, 24, 13, 25, 30],
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
                missing(r[f"definition_{L}"], L),
                integer(used.get(code, 0), L),
            ]
            for code, r in book.codes.iterrows()
        ]
        title = self.t("tables.codebook", n=integer(len(rows), L))
        return self.heading("appendix_codebook") + self.table(
            "codebook",
            head,
            rows,
            title,
            self.t("codebook_source"),
            numeric_from=5,
            widths=[16, 9, 14, 17, 34, 10],
            code_columns=(0, 2),
        )

    def appendix_provenance(self, provenance: dict | None) -> str:
        parts = [self.heading("appendix_provenance")]
        if not provenance:
            return "".join(parts) + f"<p>{esc(self.t('no_provenance'))}</p>"
        commit = provenance.get("commit") or "–"
        if provenance.get("dirty"):
            commit += " " + self.t("dirty")
        version = provenance.get("versions", {}).get("collabgov", "–")
        intro = self.t("provenance_intro", commit=commit, version=version, python=provenance.get("python", "–"))
        parts.append(f"<p>{esc(intro)}</p>")
        other = "en" if self.lang == "id" else "id"  # the other language's wording stays in provenance.json
        params = [
            [key, value]
            for key, value in flatten(provenance.get("parameters", {}), self.lang)
            if not key.endswith("." + other)
        ]
        parts.append(
            self.table(
                "parameters",
                [self.t("col.parameter"), self.t("col.value")],
                params,
                self.t("tables.parameters"),
                self.t("provenance_source"),
                numeric_from=99,
                widths=[32, 68],
                code_columns=(0,),
            )
        )
        # the site's files, named within the site's folder (the caption names it): a checksum and a path
        # then fit one line each in print
        digests = provenance.get("inputs", {})
        folder = posixpath.commonpath(list(digests)) if len(digests) > 1 else posixpath.dirname(next(iter(digests), ""))
        inputs = [[posixpath.relpath(name, folder or "."), digest] for name, digest in sorted(digests.items())]
        parts.append(
            self.table(
                "inputs",
                [self.t("col.file"), "SHA-256"],
                inputs,
                self.t("tables.inputs", folder=(folder or ".") + "/"),
                self.t("provenance_source"),
                numeric_from=99,
                widths=[34, 66],
                code_columns=(0, 1),
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
                code_columns=(0,),
            )
        )
        return "".join(parts)


def figure_numbers(site) -> dict[str, int]:
    """Figure key -> its number in the report of ``site`` (the gallery shows the same numbers)."""
    data = coding.load_coded_data(site.folder, site.lang)
    _, order = Report.order(len(site.years), False, data.codebook.stages, data.documents)
    return {key: n for n, key in enumerate(order, start=1)}


def flatten(value, lang: str, prefix: str = "") -> list[tuple[str, str]]:
    """site.yaml's parameters as (key path, value in words) rows: nested keys joined by dots, lists by commas."""
    if isinstance(value, dict):
        return [row for k, v in sorted(value.items()) for row in flatten(v, lang, f"{prefix}.{k}" if prefix else k)]
    if isinstance(value, list):
        return [(prefix, ", ".join(str(v) for v in value) or "–")]
    if isinstance(value, bool):
        return [(prefix, label("report.yes" if value else "report.no", lang))]
    return [(prefix, missing(value, lang))]
