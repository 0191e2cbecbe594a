"""Build a site: validate its data, run the notebooks through papermill, export the report,
and move the outputs into ``figures/<site>/`` and ``reports/<site>/`` only when all of it worked."""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .errors import UsageError
from .sites import Site, load_site, notebook_parameters


class BuildFailed(Exception):
    """A notebook or an export failed; the message says which and where its partial output is."""


KERNEL = os.environ.get("COLLABGOV_KERNEL", "collabgov")


@dataclass(frozen=True)
class Step:
    """One papermill run of one notebook (in one language): what it reads and what it waits for."""

    name: str
    notebook: str
    lang: str
    tables: tuple[str, ...] = ()  # the site's tables it reads; () with ``exports`` means every file of the site
    after: tuple[str, ...] = field(default=())
    exports: bool = False  # True for the report: exported to HTML, PDF and DOCX afterwards


CODED_TABLES = ("codebook", "informants", "segments", "documents", "sources")


def plan(site: Site) -> list[Step]:
    """The site's notebooks and the order their dependencies allow; independent steps may run at once."""
    steps = [
        Step("01_case_table", "01_case_table.ipynb", site.lang, ("cases",)),
        Step("02_stage_findings", "02_stage_findings.ipynb", site.lang, CODED_TABLES),
    ]
    analysis = tuple(s.name for s in steps)
    steps += [Step(f"report.{lang}", "report.ipynb", lang, after=analysis, exports=True) for lang in site.languages]
    return steps


def validate(site: Site) -> None:
    """Load every input the notebooks will read, so that bad data stops the build before it starts."""
    from .cases import load_case_table
    from .coding import load_coded_data
    from .errors import DataError

    problems, loaded = [], {}
    for name, load in (
        ("case_table", lambda: load_case_table(site.folder, site.lang, site.params["years"])),
        ("coded", lambda: load_coded_data(site.folder, site.lang)),
    ):
        try:
            loaded[name] = load()
        except DataError as exc:
            problems += exc.problems
    if problems:
        raise DataError(problems)
    import tempfile

    from .context import SiteContext
    from .report import Report

    with tempfile.TemporaryDirectory() as scratch:  # every narrative file renders with what the data give
        Report(SiteContext(**notebook_parameters(site, site.lang, Path(scratch))), **loaded).check_texts()


def check_kernel() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL not in KernelSpecManager().find_kernel_specs():
        raise UsageError(f"the Jupyter kernel '{KERNEL}' is not registered; run `make setup` first")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_step(step: Step, site: Site, root: Path, work: Path) -> float:
    """Execute one step into ``work`` (runs in a worker process); returns its duration in seconds."""
    import papermill

    start = time.perf_counter()
    executed = work / "report" / "executed" / f"{step.name}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    from papermill.exceptions import PapermillExecutionError

    for attempt in range(3):
        try:
            papermill.execute_notebook(
                str(root / "notebooks" / step.notebook),
                str(executed),
                parameters=notebook_parameters(site, step.lang, work),
                kernel_name=KERNEL,
                cwd=str(root / "notebooks"),
                progress_bar=False,
                log_output=False,
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],  # quiet kernels; notebook errors still surface
            )
            break
        except PapermillExecutionError:
            raise  # the notebook itself failed: no retry
        except Exception:
            # A kernel that dies while starting (two kernels started at once can pick the same free
            # port) is started again; a third failure is reported.
            if attempt == 2:
                raise
            time.sleep(0.5 + attempt)
    if step.exports:
        html = work / "report" / f"report.{step.lang}.html"
        from .report import title_text

        export_html(executed, html, step.lang, title_text(site.params["study"], site.params["kecamatan"], step.lang))
        import tempfile

        export_pdf(html, html.with_suffix(".pdf"))
        with tempfile.TemporaryDirectory(prefix=".export-", dir=work) as scratch:
            export_docx(link_images(html, Path(scratch)), html.with_suffix(".docx"))
    return time.perf_counter() - start


_DATA_URI = re.compile(r'src="data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)"')


def link_images(html: Path, folder: Path) -> Path:
    """A copy of the self-contained report whose images are files in ``folder`` rather than data URIs.

    The DOCX is made from this copy: pandoc reads a 1.5 MB attribute of base64 slowly (about 2 s
    against 0.4 s for the same report with linked images, measured on Pujud). The images are the same
    bytes. The PDF is not: WeasyPrint names each image in the PDF after its URL, so a linked image in a
    temporary folder would give a different PDF on every build."""
    count = 0

    def write(match: re.Match) -> str:
        nonlocal count
        count += 1
        name = f"image-{count:03d}.{match.group(1)}"
        (folder / name).write_bytes(base64.b64decode(match.group(2)))
        return f'src="{name}"'

    target = folder / html.name
    target.write_text(_DATA_URI.sub(write, html.read_text("utf-8")), "utf-8")
    return target


def export_html(executed: Path, target: Path, lang: str, title: str) -> None:
    """Executed report notebook -> self-contained HTML: no code, no prompts, nothing fetched online."""
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

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
    nb.metadata["title"] = title
    css = resources.files("collabgov").joinpath("static/report.css").read_text("utf-8")
    body, _ = HTMLExporter(config=config).from_notebook_node(nb, resources={"report_css": css, "report_lang": lang})
    target.write_text(body, "utf-8")


def export_pdf(html: Path, target: Path) -> None:
    """HTML -> A4 PDF with page numbers (WeasyPrint: offline, deterministic for the same input)."""
    _import_weasyprint().HTML(filename=str(html)).write_pdf(str(target))


def _import_weasyprint():
    import logging
    import warnings

    warnings.filterwarnings(
        "ignore", message="HarfBuzz-Subset", category=DeprecationWarning
    )  # fontTools subsets instead
    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return weasyprint


def export_docx(html: Path, target: Path) -> None:
    """HTML -> DOCX with pandoc (bundled by pypandoc_binary), for journals that ask for Word."""
    import pypandoc

    pypandoc.convert_file(
        str(html), "docx", format="html", outputfile=str(target), extra_args=["--resource-path", str(html.parent)]
    )


def write_manifest(work: Path, record: dict, lang: str) -> None:
    from . import provenance

    man = provenance.manifest(work / "figures", work / "report" / "executed", record)
    man["reports"] = {p.name: provenance.sha256(p) for p in sorted((work / "report").glob("report.*.*"))}
    provenance.write_json(work / "figures" / "MANIFEST.json", man)
    (work / "figures" / "index.html").write_text(provenance.gallery(man, lang), "utf-8")


def publish(work: Path, out: Path, slug: str) -> None:
    """Swap the new outputs in, folder by folder, keeping the old ones until the new are in place."""
    swap(work / "figures", out / "figures" / slug)
    swap(work / "report", out / "reports" / slug)


def swap(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``: the old folder is moved aside first and removed only afterwards."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    if old.exists():
        shutil.rmtree(old)


# --- incremental, parallel, failure-safe ---------------------------------------------------------


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def _files_digest(paths) -> str:
    from .provenance import sha256

    return _digest(*(f"{p.name}:{sha256(p)}" for p in sorted(paths)))


def code_digest() -> str:
    """The package's own files and the pinned environment: a change to either reruns every step."""
    package = Path(__file__).parent
    files = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    lock = [p for p in [package.parents[1] / "requirements.lock"] if p.is_file()]
    return _files_digest(files + lock) + KERNEL


def fingerprints(site: Site, root: Path, steps: list[Step], extra: str) -> dict[str, str]:
    """What each step's outputs depend on: notebook, site.yaml, the inputs it reads, upstream steps, the code."""
    from . import provenance
    from .tables import TABLE_SUFFIXES

    common = _digest(code_digest(), (site.folder / "site.yaml").read_bytes())
    out: dict[str, str] = {}
    for step in steps:
        if step.exports:
            inputs = provenance.site_files(site.folder)
        else:
            inputs = [
                site.folder / f"{t}{s}"
                for t in step.tables
                for s in TABLE_SUFFIXES
                if (site.folder / f"{t}{s}").is_file()
            ]
        out[step.name] = _digest(
            common,
            step.lang,
            (root / "notebooks" / step.notebook).read_bytes(),
            _files_digest(inputs),
            *(out[a] for a in step.after),
            extra if step.exports else "",
        )
    return out


def _stamps_path(out: Path, slug: str) -> Path:
    return out / "build" / f"{slug}.stamps.json"


def _outputs_present(out: Path, site: Site, steps: list[Step]) -> bool:
    report = out / "reports" / site.slug
    return (out / "figures" / site.slug / "MANIFEST.json").is_file() and all(
        (report / "executed" / f"{s.name}.ipynb").is_file() for s in steps
    )


def _prepare(root: Path, out: Path, slug: str, force: bool):
    """Plan one site; return (site, steps to run, all steps, fingerprints, provenance record) or None if up to date."""
    site = load_site(root, slug)
    steps = plan(site)
    from . import provenance

    record = provenance.collect(root, site)
    extra = _digest(json.dumps({k: record[k] for k in ("commit", "dirty", "versions")}, sort_keys=True))
    prints = fingerprints(site, root, steps, extra)
    stamps_file = _stamps_path(out, slug)
    old = json.loads(stamps_file.read_text()) if stamps_file.is_file() and not force else {}
    if not _outputs_present(out, site, steps):
        old = {}
    todo = [s for s in steps if old.get(s.name) != prints[s.name]]
    return site, todo, steps, prints, record


def _worker(args):
    step, site, root, work = args
    return step.name, run_step(step, site, root, work)


def build_sites(root: Path, slugs: list[str], jobs: int = 1, out: Path | None = None, force: bool = False) -> list[str]:
    """Build sites, running independent notebooks ``jobs`` at a time; returns the slugs that failed.

    Only steps whose fingerprint changed run. Each site is built in ``build/<site>.tmp`` (seeded with
    its current outputs) and swapped into ``figures/`` and ``reports/`` only when all of it worked."""
    out = out or root
    from . import provenance

    os.environ.setdefault("SOURCE_DATE_EPOCH", str(provenance.source_date_epoch(root)))
    plans = {}
    for slug in slugs:
        site, todo, steps, prints, record = _prepare(root, out, slug, force)
        if not todo:
            log(f"'{slug}' is up to date: no notebook to run")
            stale = out / "build" / f"{slug}.tmp"  # left by a build that was killed
            if stale.exists():
                shutil.rmtree(stale)
            continue
        validate(site)
        plans[slug] = (site, todo, steps, prints, record)
    if not plans:
        return []
    check_kernel()
    _preload()
    works = {}
    for slug, (_site, todo, steps, _prints, record) in plans.items():
        work = out / "build" / f"{slug}.tmp"
        if work.exists():
            shutil.rmtree(work)
        (work / "report").mkdir(parents=True)
        for src, dst in ((out / "figures" / slug, work / "figures"), (out / "reports" / slug, work / "report")):
            if src.is_dir() and len(todo) < len(steps):
                shutil.copytree(src, dst, dirs_exist_ok=True)
        provenance.write_json(work / "report" / "provenance.json", record)
        works[slug] = work
        log(f"building site '{slug}': {len(todo)} of {len(steps)} notebooks to run ({jobs} at a time)")
    failed, started = [], time.perf_counter()
    pending = {(slug, s.name): s for slug, p in plans.items() for s in p[1]}
    done: set[tuple[str, str]] = set()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
        running = {}
        try:
            while pending or running:
                for key, step in list(pending.items()):
                    slug = key[0]
                    if slug in failed:
                        del pending[key]
                        continue
                    todo_names = {s.name for s in plans[slug][1]}
                    if all((slug, a) in done or a not in todo_names for a in step.after) and len(running) < max(
                        1, jobs
                    ):
                        site = plans[slug][0]
                        log(f"[{slug}] {step.name} ...")
                        running[pool.submit(_worker, (step, site, root, works[slug]))] = key
                        del pending[key]
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    slug, name = running.pop(future)
                    try:
                        _, seconds = future.result()
                    except Exception as exc:  # keep building the other sites; report this one
                        failed.append(slug)
                        _keep_failed(out, slug, works[slug])
                        log(
                            f"[{slug}] {name} FAILED: {_describe(exc)}; partly executed notebooks in "
                            f"build/{slug}.failed/; earlier outputs of '{slug}' are unchanged"
                        )
                        continue
                    done.add((slug, name))
                    log(f"[{slug}] {name} done in {seconds:.1f} s")
                    site, todo, steps, prints, record = plans[slug]
                    if all((slug, s.name) in done for s in todo):
                        write_manifest(works[slug], record, site.lang)
                        publish(works[slug], out, slug)
                        shutil.rmtree(works[slug])
                        stamps = _stamps_path(out, slug)
                        stamps.write_text(json.dumps(prints, indent=1, sort_keys=True) + "\n")
                        where = "" if out == root else f"{out}/"
                        seconds = time.perf_counter() - started
                        log(f"built '{slug}' in {seconds:.1f} s: {where}figures/{slug}/ and {where}reports/{slug}/")
        except BaseException:
            for future in running:
                future.cancel()
            for slug in plans:
                if works[slug].exists():
                    _keep_failed(out, slug, works[slug])
            raise
    return failed


def _keep_failed(out: Path, slug: str, work: Path) -> None:
    failed = out / "build" / f"{slug}.failed"
    if failed.exists():
        shutil.rmtree(failed)
    if work.exists():
        os.replace(work, failed)


def _describe(exc: Exception) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    return f"{ename}: {evalue}" if ename else f"{type(exc).__name__}: {exc}"


def _preload() -> None:
    """Import what every worker needs once, before forking, so workers do not pay for it again.

    jsonschema (used by nbformat) imports ``rfc3987_syntax`` when it is installed, which compiles
    dozens of grammars (measured here: 2-5 s per process) to check an 'iri' string format that
    notebooks never use; it is kept out of this process on purpose."""
    sys.modules.setdefault("rfc3987_syntax", None)
    import nbformat  # noqa: F401
    import papermill  # noqa: F401
    import pypandoc  # noqa: F401
    from nbconvert import HTMLExporter  # noqa: F401

    _import_weasyprint()


def build(root: Path, slug: str, jobs: int | None = None, out: Path | None = None, force: bool = False) -> None:
    """Build one site; raise if it failed."""
    failed = build_sites(root, [slug], jobs or os.cpu_count() or 1, out, force)
    if failed:
        raise BuildFailed(f"the build of '{slug}' failed; earlier outputs are unchanged")
