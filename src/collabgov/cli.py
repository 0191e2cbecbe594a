"""Command line: ``python -m collabgov <command>`` (the Makefile calls these)."""

from __future__ import annotations

import argparse
import sys

from .errors import DataError, UsageError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collabgov", description="Build and check the research compendium.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="validate a site's data, run its notebooks and export its report")
    b.add_argument("sites", nargs="*", help="site names (default: every site with --all)")
    b.add_argument("--all", action="store_true", help="build every site under data/")
    b.add_argument("--jobs", type=int, default=0, help="notebooks to run at once (default: number of cores)")
    b.add_argument("--force", action="store_true", help="rerun every notebook even if nothing changed")
    f = sub.add_parser("verify", help="rebuild a site in a temporary folder and compare with its MANIFEST.json")
    f.add_argument("site")
    v = sub.add_parser("validate", help="check a site's data and list every problem")
    v.add_argument("site")
    n = sub.add_parser("new-site", help="create data/<site>/ from templates")
    n.add_argument("site")
    n.add_argument("--kecamatan", required=True)
    n.add_argument("--kabupaten", required=True)
    n.add_argument("--years", default="", help="years, e.g. '2023 2024'")
    n.add_argument("--format", default="csv", choices=["csv", "xlsx"])
    n.add_argument("--synthetic", action="store_true", help="a made-up site: no lookup, labelled synthetic")
    i = sub.add_parser("import", help="import coded data from a .qdpx project or a Taguette export")
    i.add_argument("site")
    i.add_argument("source")
    sub.add_parser("templates", help="rewrite templates/ (every table as CSV and XLSX, and the data dictionary)")
    c = sub.add_parser("compare", help="build a comparison report of several sites")
    c.add_argument("sites", nargs="+")
    args = parser.parse_args(argv)

    from .sites import load_site, project_root

    site = getattr(args, "site", None) or " ".join(getattr(args, "sites", []) or [])
    try:
        root = project_root()
        if args.command == "build":
            import os

            from .build import build_sites
            from .sites import available_sites, site_folder

            slugs = available_sites(root) if args.all else args.sites
            if not slugs:
                raise UsageError("name a site, or use --all")
            for slug in slugs:
                site_folder(root, slug)  # unknown or unsafe names stop here, before anything runs
            failed = build_sites(root, slugs, args.jobs or os.cpu_count() or 1, force=args.force)
            if failed:
                print(
                    f"error: the build failed for {', '.join(failed)}; their earlier outputs are unchanged",
                    file=sys.stderr,
                )
                return 1
        elif args.command == "verify":
            from .verify import verify

            return verify(root, args.site)
        elif args.command == "validate":
            from .build import validate

            validate(load_site(root, args.site))
            print(f"site '{args.site}': no problems found")
        elif args.command == "new-site":
            from .scaffold import new_site

            years = [int(y) for y in args.years.replace(",", " ").split()] if args.years.strip() else None
            folder = new_site(root, args.site, args.kecamatan, args.kabupaten, years, args.format, args.synthetic)
            print(
                f"created {folder.relative_to(root)}/: fill in its tables and texts, "
                f"then `make validate SITE={args.site}`"
            )
        elif args.command == "import":
            from .importer import import_into_site

            written = import_into_site(root, args.site, args.source)
            print(f"imported {args.source} into data/{args.site}/: " + ", ".join(p.name for p in written))
        elif args.command == "templates":
            from .scaffold import write_templates

            write_templates(root / "templates")
            print("wrote templates/")
        elif args.command == "compare":
            from .compare import build_comparison

            build_comparison(root, args.sites)
    except DataError as exc:
        where = f"the data of site '{site}'" if site else "the input"
        print(f"error: {where} has {len(exc.problems)} problem(s); nothing was built or changed:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: earlier outputs are unchanged", file=sys.stderr)
        return 130
    except Exception as exc:  # a failing notebook: say where, briefly; the executed copy has the details
        from papermill.exceptions import PapermillExecutionError

        from .build import BuildFailed

        if isinstance(exc, BuildFailed):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if isinstance(exc, PapermillExecutionError):
            print(f"error: a notebook failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}", file=sys.stderr)
            print(
                "  the partly executed notebooks are in build/<site>.failed/; earlier outputs are unchanged",
                file=sys.stderr,
            )
            return 1
        raise
    return 0
