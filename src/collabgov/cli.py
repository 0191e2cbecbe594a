"""Command line: ``python -m collabgov build <site>`` and friends (the Makefile calls these)."""
from __future__ import annotations

import argparse
import sys

from .errors import DataError, UsageError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collabgov", description="Build and check the research compendium.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="validate a site's data, run its notebooks and export its report")
    b.add_argument("site")
    v = sub.add_parser("validate", help="check a site's data and list every problem")
    v.add_argument("site")
    args = parser.parse_args(argv)

    from .sites import load_site, project_root

    try:
        root = project_root()
        if args.command == "build":
            from .build import build

            build(root, args.site)
        elif args.command == "validate":
            from .build import validate

            validate(load_site(root, args.site))
            print(f"site '{args.site}': no problems found")
    except DataError as exc:
        print(f"error: the data of site '{args.site}' has {len(exc.problems)} problem(s); nothing was built or changed:", file=sys.stderr)
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

        if isinstance(exc, PapermillExecutionError):
            print(f"error: a notebook failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}", file=sys.stderr)
            print("  the partly executed notebooks are in build/<site>.failed/; earlier outputs are unchanged", file=sys.stderr)
            return 1
        raise
    return 0
