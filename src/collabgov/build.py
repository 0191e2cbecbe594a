"""Build a site: validate its data, run the notebooks through papermill, export the report,
and move the outputs into ``figures/<site>/`` and ``reports/<site>/`` only when all of it worked."""
from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .errors import UsageError
from .sites import Site, load_site, notebook_parameters

KERNEL = os.environ.get("COLLABGOV_KERNEL", "collabgov")


@dataclass(frozen=True)
class Step:
    """One papermill run of one notebook (in one language), and what it waits for."""

    name: str
    notebook: str
    lang: str
    after: tuple[str, ...] = field(default=())
    exports: bool = False  # True for the report: exported to HTML afterwards


def plan(site: Site) -> list[Step]:
    """The site's notebooks in an order that respects their dependencies."""
    steps = [Step("01_case_table", "01_case_table.ipynb", site.lang),
             Step("02_stage_findings", "02_stage_findings.ipynb", site.lang)]
    analysis = tuple(s.name for s in steps)
    steps += [Step(f"report.{lang}", "report.ipynb", lang, after=analysis, exports=True) for lang in site.languages]
    return steps


def validate(site: Site) -> None:
    """Load every input the notebooks will read, so that bad data stops the build before it starts."""
    from .cases import load_case_table
    from .coding import load_coded_data
    from .errors import DataError

    problems = []
    for load in (lambda: load_case_table(site.folder, site.lang, site.params["years"]),
                 lambda: load_coded_data(site.folder, site.lang)):
        try:
            load()
        except DataError as exc:
            problems += exc.problems
    if problems:
        raise DataError(problems)
    import tempfile

    from .context import SiteContext
    from .report import Report

    p = site.params
    with tempfile.TemporaryDirectory() as scratch:
        ctx = SiteContext(site=site.slug, lang=site.lang, data_dir=site.folder, output_dir=Path(scratch), kecamatan=p["kecamatan"],
                          kabupaten=p["kabupaten"], provinsi=p["provinsi"], region_code=p["region_code"], years=p["years"],
                          study=p["study"], languages=site.languages, synthetic=site.synthetic)
        Report(ctx).check_texts()


def check_kernel() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL not in KernelSpecManager().find_kernel_specs():
        raise UsageError(f"the Jupyter kernel '{KERNEL}' is not registered; run `make setup` first")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_step(step: Step, site: Site, root: Path, work: Path) -> float:
    import papermill

    start = time.perf_counter()
    executed = work / "report" / "executed" / f"{step.name}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(root / "notebooks" / step.notebook), str(executed),
        parameters=notebook_parameters(site, step.lang, work),
        kernel_name=KERNEL, cwd=str(root / "notebooks"), progress_bar=False, log_output=False,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # quiet kernels; notebook errors still surface
    )
    if step.exports:
        html = work / "report" / f"report.{step.lang}.html"
        export_html(executed, html, step.lang, site.params["kecamatan"])
        export_pdf(html, html.with_suffix(".pdf"))
        export_docx(html, html.with_suffix(".docx"))
    return time.perf_counter() - start


def export_html(executed: Path, target: Path, lang: str, kecamatan: str) -> None:
    """Executed report notebook -> self-contained HTML: no code, no prompts, nothing fetched online."""
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    from .i18n import label

    config = Config()
    config.HTMLExporter.extra_template_basedirs = [str(resources.files("collabgov").joinpath("nbtemplates"))]
    config.HTMLExporter.template_name = "report"
    config.HTMLExporter.exclude_input = True
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.HTMLExporter.exclude_markdown = True  # the notebook's own notes are for readers of the notebook
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = ("parameters", "injected-parameters")
    nb = nbformat.read(executed, as_version=4)
    nb.metadata["title"] = label("report.title", lang, kecamatan=kecamatan)
    css = resources.files("collabgov").joinpath("static/report.css").read_text("utf-8")
    body, _ = HTMLExporter(config=config).from_notebook_node(nb, resources={"report_css": css, "report_lang": lang})
    target.write_text(body, "utf-8")


def export_pdf(html: Path, target: Path) -> None:
    """HTML -> A4 PDF with page numbers (WeasyPrint: offline, deterministic for the same input)."""
    import logging

    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    weasyprint.HTML(filename=str(html)).write_pdf(str(target))


def export_docx(html: Path, target: Path) -> None:
    """HTML -> DOCX with pandoc (bundled by pypandoc_binary), for journals that ask for Word."""
    import pypandoc

    pypandoc.convert_file(str(html), "docx", format="html", outputfile=str(target),
                          extra_args=["--resource-path", str(html.parent)])


def write_manifest(work: Path, record: dict, lang: str) -> None:
    from . import provenance

    man = provenance.manifest(work / "figures", work / "report" / "executed", record)
    provenance.write_json(work / "figures" / "MANIFEST.json", man)
    (work / "figures" / "index.html").write_text(provenance.gallery(man, lang), "utf-8")


def publish(work: Path, root: Path, slug: str) -> None:
    """Swap the new outputs in, folder by folder, keeping the old ones until the new are in place."""
    for src, dst in ((work / "figures", root / "figures" / slug), (work / "report", root / "reports" / slug)):
        dst.parent.mkdir(parents=True, exist_ok=True)
        old = dst.with_name(f".{slug}.old")
        if old.exists():
            shutil.rmtree(old)
        if dst.exists():
            os.replace(dst, old)
        os.replace(src, dst)
        if old.exists():
            shutil.rmtree(old)


def build(root: Path, slug: str) -> None:
    site = load_site(root, slug)
    validate(site)
    check_kernel()
    steps = plan(site)
    work = root / "build" / f"{slug}.tmp"
    if work.exists():
        shutil.rmtree(work)
    (work / "report").mkdir(parents=True)
    from . import provenance

    os.environ.setdefault("SOURCE_DATE_EPOCH", str(provenance.source_date_epoch(root)))
    record = provenance.collect(root, site)
    provenance.write_json(work / "report" / "provenance.json", record)
    log(f"building site '{slug}' ({len(steps)} notebooks)")
    total = time.perf_counter()
    try:
        for i, step in enumerate(steps, 1):
            log(f"[{i}/{len(steps)}] {step.name} ...")
            seconds = run_step(step, site, root, work)
            log(f"[{i}/{len(steps)}] {step.name} done in {seconds:.1f} s")
        write_manifest(work, record, site.lang)
        publish(work, root, slug)
        shutil.rmtree(work)
    except BaseException:
        failed = root / "build" / f"{slug}.failed"
        if failed.exists():
            shutil.rmtree(failed)
        if work.exists():
            os.replace(work, failed)
        raise
    log(f"built '{slug}' in {time.perf_counter() - total:.1f} s: figures/{slug}/ and reports/{slug}/")
