"""Command line: ``python -m collabgov <command>`` (the Makefile calls these).

One small function per command; ``main`` turns every failure into one line in the user's language
and an exit code (``EXIT``), in one place: no input, however broken, ends in a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from pathlib import Path

from . import provenance
from .build import BuildFailed, build_sites, describe
from .errors import DataError, UsageError, os_error_key
from .i18n import message
from .scaffold import MADE_UP_REGION_CODE, new_site, write_templates
from .sites import available_sites, load_site, peek_site, project_root, site_folder, user_language
from .verify import verify

# validation, site_import and site_comparison are imported inside their commands: each brings pandas
# (0.5-0.8 s measured with `python -X importtime`), which `build` with nothing to do must not pay
# (0.2 s without them).

EXIT = {"ok": 0, "failed": 1, "data": 2, "internal": 70, "interrupted": 130, "pipe_closed": 141}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cmd_build(args, root: Path) -> int:
    slugs = available_sites(root) if args.all else args.sites
    if not slugs:
        lang = user_language()
        raise UsageError(message("name_a_site", lang), lang)
    for slug in slugs:
        site_folder(root, slug)  # unknown or unsafe names stop here, before anything runs
    failed = build_sites(root, slugs, args.jobs or os.cpu_count() or 1, force=args.force, draft=args.draft)
    if failed:
        say(message("build_failed_sites", peek_site(root, failed[0]).lang, sites=", ".join(failed)))
        return EXIT["failed"]
    return EXIT["ok"]


def cmd_verify(args, root: Path) -> int:
    return verify(root, args.site)


def cmd_validate(args, root: Path) -> int:
    from .validation import validate_folder  # pandas: see the note at the top

    lang, problems = validate_folder(root, args.site, draft=args.draft)
    for problem in problems.items:
        say(problem.line(lang))
    errors, warnings = len(problems.errors), len(problems.warnings)
    if errors:
        say(message("validate_errors", lang, site=args.site, errors=errors, warnings=warnings))
        return EXIT["data"]
    print(message("validate_ok_draft" if args.draft else "validate_ok", lang, site=args.site, warnings=warnings))
    return EXIT["ok"]


def cmd_new_site(args, root: Path) -> int:
    years = [int(y) for y in args.years.replace(",", " ").split()] if args.years.strip() else None
    folder = new_site(root, args.site, args.kecamatan, args.kabupaten, years, args.format, args.synthetic)
    if load_site(root, args.site).params["region_code"] == MADE_UP_REGION_CODE:
        print(message("region_made_up", "id", kecamatan=args.kecamatan, kabupaten=args.kabupaten))
    print(message("site_created", "id", folder=folder.relative_to(root).as_posix(), site=args.site))
    return EXIT["ok"]


def cmd_import(args, root: Path) -> int:
    from .site_import import import_into_site  # pandas: see the note at the top

    lang = peek_site(root, args.site).lang
    report = import_into_site(root, args.site, args.source, replace=args.replace)
    for line in report:
        print(line)
    print(message("import_next", lang, site=args.site))
    return EXIT["ok"]


def cmd_templates(args, root: Path) -> int:
    write_templates(root / "templates")
    print(message("templates_written", user_language()))
    return EXIT["ok"]


def cmd_compare(args, root: Path) -> int:
    from .site_comparison import build_comparison  # pandas: see the note at the top

    build_comparison(root, args.sites)
    return EXIT["ok"]


def cmd_release(args, root: Path) -> int:
    from .release import release  # builds every site: imported only for this command

    archives = release(root, args.jobs or os.cpu_count() or 1)
    commit = provenance.revision(root, "")["commit"]
    shown = ", ".join(f"{p.relative_to(root).as_posix()} ({p.stat().st_size / 1e6:.1f} MB)" for p in archives)
    print(message("release_written", user_language(), commit=commit, files=shown))
    return EXIT["ok"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="collabgov", description="Build and check the research compendium.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="check a site's data, run its notebooks and export its report")
    b.add_argument("sites", nargs="*", help="site names")
    b.add_argument("--all", action="store_true", help="build every site under data/")
    b.add_argument(
        "--jobs",
        type=int,
        default=0,
        help="notebooks to run at once (default: number of cores)",
    )
    b.add_argument("--force", action="store_true", help="rerun every notebook even if nothing changed")
    b.add_argument("--draft", action="store_true", help="build although parts are unfilled; every page says DRAFT")
    b.set_defaults(run=cmd_build)
    f = sub.add_parser("verify", help="rebuild a site in a temporary folder and compare with its MANIFEST.json")
    f.add_argument("site")
    f.set_defaults(run=cmd_verify)
    v = sub.add_parser("validate", help="check a site's data and list every problem")
    v.add_argument("site")
    v.add_argument("--draft", action="store_true", help="unfilled parts are warnings, as a draft build treats them")
    v.set_defaults(run=cmd_validate)
    n = sub.add_parser("new-site", help="create data/<site>/ from templates")
    n.add_argument("site")
    n.add_argument("--kecamatan", required=True)
    n.add_argument("--kabupaten", required=True)
    n.add_argument("--years", default="", help="years, e.g. '2022 2023 2024'")
    n.add_argument("--format", default="csv", choices=["csv", "xlsx"])
    n.add_argument("--synthetic", action="store_true", help="a made-up site: no lookup, labelled synthetic")
    n.set_defaults(run=cmd_new_site)
    i = sub.add_parser("import", help="import coded data from a .qdpx project or a Taguette export")
    i.add_argument("site")
    i.add_argument("source")
    i.add_argument("--replace", action="store_true", help="replace coded tables that hold data (a backup is kept)")
    i.set_defaults(run=cmd_import)
    t = sub.add_parser("templates", help="rewrite templates/ (every table as CSV and XLSX, and the data dictionary)")
    t.set_defaults(run=cmd_templates)
    c = sub.add_parser("compare", help="build a comparison report of several sites")
    c.add_argument("sites", nargs="+")
    c.set_defaults(run=cmd_compare)
    r = sub.add_parser("release", help="pack the committed source and every committed site's outputs into dist/")
    r.add_argument("--jobs", type=int, default=0, help="notebooks to run at once (default: number of cores)")
    r.set_defaults(run=cmd_release)
    return p


def _language(args, root: Path | None) -> str:
    """The language of the failure's message: the site's, else the user's."""
    names = [getattr(args, "site", None)] + list(getattr(args, "sites", None) or [])
    for name in names:
        if name and root is not None:
            try:
                return peek_site(root, name).lang
            except Exception:  # an unknown or broken site: the user's language then
                pass
    return user_language()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    root = None
    try:
        root = project_root()
        return args.run(args, root)
    except DataError as exc:
        lang = _language(args, root)
        for line in exc.lines(lang):
            say(line)
        return EXIT["data"]
    except UsageError as exc:
        say(f"{message('error_word', exc.lang or _language(args, root))}: {exc}")
        return EXIT["data"]
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopping already: another Ctrl-C must not cut this short
        say(message("interrupted", _language(args, root)))
        return EXIT["interrupted"]
    except BrokenPipeError:  # the reader of its output went away (`| head`): nothing to report, as a shell would
        return EXIT["pipe_closed"]
    except BaseException as exc:  # the one place where every other failure becomes one line
        lang = _language(args, root)
        if isinstance(exc, BuildFailed):
            say(f"{message('error_word', lang)}: {exc}")
            return EXIT["failed"]
        if os_error_key(exc) or getattr(exc, "ename", None):
            say(f"{message('error_word', lang)}: {describe(exc, lang)}; {message('outputs_kept', lang)}")
            return EXIT["failed"]
        log = _write_traceback(root)
        say(message("internal_error", lang, detail=f"{type(exc).__name__}: {exc}"[:200], log=log))
        return EXIT["internal"]


def _write_traceback(root: Path | None) -> str:
    """Keep the details of an unexpected failure in a file for a bug report; return where."""
    try:
        folder = (root or Path.cwd()) / "build"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "last-error.txt"
        path.write_text(traceback.format_exc(), "utf-8")
        return str(path.relative_to(root)) if root else str(path)
    except OSError:
        return "-"
