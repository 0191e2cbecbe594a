"""Build sites: check each, run the notebooks that must run, export the report, publish.

For each site, under its lock (``publish.site_lock``): a publish that was cut off is rolled back,
leftovers of a killed build are removed, and the site is up to date when no step's fingerprint
changed (``scheduler.stale``). Otherwise the site folder is copied into ``build/<site>.tmp/input/``
(the snapshot: notebooks read it, not ``data/``, so an edit during a build cannot mix into it),
checked in full (``validation.validate_site``). The stale steps of every site that passed then run in
a pool of worker processes (``scheduler.run_all``); a report's step exports it to HTML, PDF and DOCX.
When all of a site's steps have run, the manifest and gallery are written, and both output folders are
published together (``publish.publish``); the stamps that record what was built are written last."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import export, provenance, publish, scheduler
from .errors import ERROR, DataError, Problem, UsageError, display_path, os_error_key
from .gallery import gallery
from .html_parts import DRAFT_MARK
from .i18n import label, message
from .inputs import site_files
from .sites import Site, load_site, peek_site


class BuildFailed(Exception):
    """A notebook or an export failed; the message says which and where its partial output is."""


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def check_kernel(lang: str) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if scheduler.KERNEL not in KernelSpecManager().find_kernel_specs():
        raise UsageError(message("kernel_missing", lang, kernel=scheduler.KERNEL), lang)


@dataclass
class SiteBuild:
    """One site's build in progress."""

    site: Site  # as ``peek_site`` read it until the site is checked, then as read from the snapshot
    work: Path
    steps: list[scheduler.Step]
    todo: list[scheduler.Step]
    stamps: dict
    rev: dict  # the commit and uncommitted changes (``provenance.revision``)
    code: str  # the package, lock and Python the steps run with, as they were when the build was planned
    extra: str
    env: dict
    done: set = field(default_factory=set)
    record: dict = field(default_factory=dict)  # provenance, once checked
    checked: bool = False

    @property
    def input_root(self) -> Path:
        return self.work / "input"


def _stamps_path(out: Path, slug: str) -> Path:
    return out / "build" / f"{slug}.stamps.json"


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text("utf-8"))
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def _published_build(out: Path, slug: str) -> tuple[str | None, str | None]:
    """The build ids that the published manifest and provenance record (equal when the site is whole)."""
    manifest = _read_json(out / "figures" / slug / "MANIFEST.json").get("build")
    record = _read_json(out / "reports" / slug / "provenance.json").get("build")
    return manifest, record


def snapshot(root: Path, site: Site, work: Path) -> Site:
    """Copy the site's input files into ``work/input/data/<site>/`` and the notebooks into ``work/input/notebooks/``
    (the steps run these copies: a file saved during the build changes neither what runs nor what is recorded as
    having run), and load the site's copy."""
    target = work / "input" / "data" / site.slug
    for path in site_files(site.folder):
        dest = target / path.relative_to(site.folder)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest, follow_symlinks=False)
    (work / "input" / "notebooks").mkdir()
    for step in scheduler.plan(site):
        shutil.copyfile(root / "notebooks" / step.notebook, work / "input" / "notebooks" / step.notebook)
    return load_site(work / "input", site.slug)


def as_live(problems: list[Problem], snapshot_folder: Path, live_folder: Path) -> list[Problem]:
    """Problems found in the snapshot, told with the paths of the site folder the user edits."""
    copy, real = display_path(snapshot_folder), display_path(live_folder)
    return [replace(p, file=real + p.file[len(copy) :]) if p.file.startswith(copy) else p for p in problems]


def _extra(rev: dict, draft: bool) -> str:
    """What the exports depend on beyond the data and the code: the commit, uncommitted changes, draft.
    (The package versions are pinned by requirements.lock, which the code digest covers.)"""
    return scheduler.digest(json.dumps(rev | {"draft": draft}, sort_keys=True))


def plan_site(root: Path, out: Path, live: Site, force: bool, draft: bool) -> SiteBuild | None:
    """Which steps of one site must run (under its lock; ``live`` as ``peek_site`` read it), with its build
    folder made; None when it is up to date. Nothing of the site is checked yet (``check_site``)."""
    slug, lang = live.slug, live.lang
    if publish.repair(out, slug):
        log(message("publish_repaired", lang, site=slug))
    publish.clear_leftovers(out, slug)
    steps = scheduler.plan(live)
    code = scheduler.code_digest()
    rev = provenance.revision(root, slug)
    extra = _extra(rev, draft)
    stamps = {} if force else _read_json(_stamps_path(out, slug))
    whole = stamps.get("build") and _published_build(out, slug) == (stamps["build"], stamps["build"])
    todo = scheduler.stale(steps, stamps if whole else {}, live.folder, root, code, extra)
    if not todo:
        return None
    env = {"SOURCE_DATE_EPOCH": str(provenance.source_date_epoch(root)), "COLLABGOV_DRAFT": "1" if draft else "0"}
    work = out / "build" / f"{slug}.tmp"
    (work / "report").mkdir(parents=True)
    return SiteBuild(live, work, steps, todo, stamps, rev, code, extra, env)


def check_site(root: Path, out: Path, b: SiteBuild, draft: bool) -> None:
    """Snapshot a planned site into its build folder and check it in full; raises DataError when it has errors
    (its warnings are told). The report notebook reads the provenance written here."""
    # Imported here, not at the top: the checks bring pandas (0.5 s measured with -X importtime),
    # which a build that finds nothing to do must not pay (it takes 0.2 s without them).
    from .validation import validate_site

    live = load_site(root, b.site.slug)  # checked in full only when something must run
    publish.check_writable(out, live.slug, live.lang)
    site = snapshot(root, live, b.work)
    problems = as_live(validate_site(site, draft).items, site.folder, live.folder)
    if any(p.level == ERROR for p in problems):
        raise DataError(problems)  # shown with its warnings, each once, by the command line
    for warning in problems:
        log(warning.line(site.lang))
    seed(out, b)
    b.record = provenance.collect(root, site, b.rev) | {"draft": draft}  # a draft says so in every output
    provenance.write_json(b.work / "report" / "provenance.json", b.record)  # the report notebook shows it
    b.site, b.checked = site, True


def seed(out: Path, b: SiteBuild) -> None:
    """Copy into the build folder the published outputs of the steps that do not run this time (their figures,
    as the published manifest attributes them, their executed notebooks and, for a report, its exports): what
    the steps that run made last time is not carried over, so that an output they no longer make (the figures
    of a stage renamed in the codebook, say) is not published again."""
    kept = {s.name for s in b.steps} - {s.name for s in b.todo}
    figures, reports = out / "figures" / b.site.slug, out / "reports" / b.site.slug
    manifest = _read_json(figures / "MANIFEST.json")
    copies = []
    for fig in manifest.get("figures", []):
        if Path(fig.get("notebook") or "").stem in kept:
            names = [entry["path"] for entry in fig["files"].values()] + [f"{fig['id']}.json"]
            copies += [(figures / name, b.work / "figures" / name) for name in names if Path(name).name == name]
    for step in (s for s in b.steps if s.name in kept):
        names = [f"executed/{step.name}.ipynb"] + [f"{step.name}.{kind}" for kind in EXPORTS if step.exports]
        copies += [(reports / name, b.work / "report" / name) for name in names]
    for src, dst in copies:
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)


def _finish(root: Path, out: Path, b: SiteBuild, draft: bool) -> None:
    """Export, write manifest and provenance, publish, stamp."""
    slug = b.site.slug
    reads = {s.name: b.stamps.get("steps", {}).get(s.name, {}).get("reads", []) for s in b.steps}
    for step in b.todo:
        reads[step.name] = [list(r) for r in scheduler.inputs.recorded(scheduler.reads_file(b.work, step))]
    prints = scheduler.fingerprints(b.steps, reads, b.site.folder, b.input_root, b.code, b.extra)
    build_id = scheduler.digest(*(prints[s.name] for s in b.steps))
    record = b.record | {"build": build_id}
    provenance.write_json(b.work / "report" / "provenance.json", record)
    write_manifest(b.work, record, b.site)
    shutil.rmtree(b.work / "input", ignore_errors=True)
    shutil.rmtree(b.work / "reads", ignore_errors=True)
    publish.publish(b.work, out, slug)
    shutil.rmtree(b.work, ignore_errors=True)
    stamps = {
        "build": build_id,
        "steps": {s.name: {"fingerprint": prints[s.name], "reads": reads[s.name]} for s in b.steps},
    }
    _stamps_path(out, slug).write_text(json.dumps(stamps, indent=1, sort_keys=True) + "\n")


EXPORTS = ("html", "pdf", "docx")  # what a report's step makes of its executed notebook (``export_report``)


def export_report(step: scheduler.Step, slug: str, work: Path, input_root: Path) -> None:
    """The executed report notebook of ``step`` -> HTML, PDF, DOCX in the build folder (in the step's worker)."""
    import tempfile

    from .report import title_text  # in the worker, after the notebook: report brings pandas (0.5 s)

    site = load_site(input_root, slug)
    executed = work / "report" / "executed" / f"{step.name}.ipynb"
    html = work / "report" / f"report.{step.lang}.html"
    draft = os.environ.get("COLLABGOV_DRAFT") == "1"
    export.export_html(executed, html, step.lang, title_text(site, step.lang), draft)
    marks = ([label("compare.synthetic", step.lang)] if site.synthetic else []) + ([DRAFT_MARK] if draft else [])
    epoch = int(os.environ["SOURCE_DATE_EPOCH"])
    with tempfile.TemporaryDirectory(prefix=".export-", dir=work) as scratch:
        (Path(scratch) / "pdf").mkdir()
        (Path(scratch) / "docx").mkdir()
        export.export_pdf(html, html.with_suffix(".pdf"), Path(scratch) / "pdf", marks, epoch)
        export.export_docx(html, html.with_suffix(".docx"), Path(scratch) / "docx")
    if draft:
        export.mark_docx_draft(html.with_suffix(".docx"))


def write_manifest(work: Path, record: dict, site: Site) -> None:
    from .report import figure_numbers  # as above: pandas only when a site was built

    (work / "figures").mkdir(exist_ok=True)  # a build that drew no figure still has its (empty) gallery
    man = provenance.manifest(work / "figures", work / "report" / "executed", record, figure_numbers(site))
    report = work / "report"
    made = sorted(report.glob("report.*.*")) + sorted(report.glob("executed/*.ipynb"))
    man["reports"] = {p.relative_to(report).as_posix(): provenance.sha256(p) for p in made}
    man["build"] = record["build"]
    provenance.write_json(work / "figures" / "MANIFEST.json", man)
    (work / "figures" / "index.html").write_text(gallery(man, site.lang), "utf-8")


def build_sites(
    root: Path, slugs: list[str], jobs: int = 1, out: Path | None = None, force: bool = False, draft: bool = False
) -> list[str]:
    """Build sites, running independent notebooks ``jobs`` at a time; returns the slugs that failed."""
    out = out or root
    failed: list[str] = []
    with ExitStack() as locks:
        peeked = {slug: peek_site(root, slug) for slug in slugs}
        for slug in sorted(peeked):
            locks.enter_context(publish.site_lock(out, slug, peeked[slug].lang))
        builds: dict[str, SiteBuild] = {}
        try:
            for slug in slugs:
                b = plan_site(root, out, peeked[slug], force, draft)
                if b is None:
                    log(message("up_to_date", peeked[slug].lang, site=slug))
                else:
                    builds[slug] = b
            if builds:  # before anything is checked or said of a site: without a kernel, nothing can run
                check_kernel(next(iter(builds.values())).site.lang)
            for slug, b in builds.items():
                if _checked(root, out, b, draft, alone=len(slugs) == 1):
                    log(message("building", b.site.lang, site=slug, todo=len(b.todo), steps=len(b.steps), jobs=jobs))
                else:
                    failed.append(slug)
            ready = [b for b in builds.values() if b.checked]
            if ready:
                _run(root, out, ready, jobs, draft, failed)
        finally:  # every step has ended: a failed (or interrupted) site keeps only its executed notebooks
            for slug, b in builds.items():
                if b.work.exists() and b.checked:
                    kept = publish.keep_failed(out, slug, b.work)
                    if kept:  # told once every step has ended: only then is it known what ran
                        log(message("failed_kept", b.site.lang, site=slug, folder=publish.shown(kept, out)))
                else:  # its data had problems (or it was cut short before being checked): no step ran
                    shutil.rmtree(b.work, ignore_errors=True)
    return failed


def _checked(root: Path, out: Path, b: SiteBuild, draft: bool, alone: bool) -> bool:
    """Check and snapshot a planned site. In a batch, a site whose data has problems is told and skipped
    (False); alone, its problems are raised."""
    try:
        check_site(root, out, b, draft)
    except DataError as exc:
        if alone:
            raise
        *lines, summary = exc.lines(b.site.lang)
        for line in lines + [f"[{b.site.slug}] {summary}"]:
            log(line)
        return False
    return True


def _run(root: Path, out: Path, ready: list[SiteBuild], jobs: int, draft: bool, failed: list[str]) -> None:
    """Run the stale steps of checked sites; each site is finished (exported, published) when its last step is."""
    by_slug = {b.site.slug: b for b in ready}
    started = time.perf_counter()

    def on_start(job: scheduler.Job) -> None:
        log(f"[{job.site}] {job.step.name} ...")

    def on_done(job: scheduler.Job, seconds: float) -> None:
        b = by_slug[job.site]
        b.done.add(job.step.name)
        log(f"[{job.site}] {job.step.name}: {seconds:.1f} s")
        if all(s.name in b.done for s in b.todo):
            _finish(root, out, b, draft)
            where = "" if out == root else f"{out}/"
            log(
                message(
                    "built",
                    b.site.lang,
                    site=job.site,
                    seconds=f"{time.perf_counter() - started:.1f}",
                    figures=f"{where}figures/{job.site}/",
                    reports=f"{where}reports/{job.site}/",
                )
            )

    def on_fail(job: scheduler.Job, exc: BaseException) -> None:
        lang = by_slug[job.site].site.lang
        if job.site not in failed:
            failed.append(job.site)
        log(message("step_failed", lang, site=job.site, step=job.step.name, detail=describe(exc, lang)))

    jobs_list = [
        scheduler.Job(
            b.site.slug,
            step,
            (b.site.slug, b.input_root, b.work, b.env, export_report if step.exports else None),
        )
        for b in ready
        for step in b.todo
    ]
    scheduler.run_all(jobs_list, jobs, on_start, on_done, on_fail)


def describe(exc: BaseException, lang: str) -> str:
    """A failure in one line: an operating-system failure in the user's words, else the notebook's error."""
    key = os_error_key(exc)
    if key:
        return message(f"os_{key}", lang)
    if isinstance(exc, scheduler.StepProcessDied):
        return message("step_process_died", lang)
    if isinstance(exc, scheduler.KernelDied):
        return message("kernel_died", lang)
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    text = f"{ename}: {evalue}" if ename else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:300]


def build(
    root: Path, slug: str, jobs: int | None = None, out: Path | None = None, force: bool = False, draft: bool = False
) -> None:
    """Build one site; raise if it failed."""
    failed = build_sites(root, [slug], jobs or os.cpu_count() or 1, out, force, draft)
    if failed:
        raise BuildFailed(message("build_failed", load_site(root, slug).lang, site=slug))
