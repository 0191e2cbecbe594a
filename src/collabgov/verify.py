"""``make verify``: are the figures and reports on disk the ones the data make, byte for byte?

Checks the files in ``figures/<site>/`` and ``reports/<site>/`` against ``MANIFEST.json``, then
rebuilds the site from scratch into a temporary folder and compares the rebuilt files too.
Every file that differs is named."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from .errors import UsageError
from .provenance import sha256


def compare(manifest: dict, figures: Path, reports: Path) -> list[str]:
    """Names of the files that are missing or whose SHA-256 is not the manifest's."""
    differ = []
    for fig in manifest["figures"]:
        for entry in fig["files"].values():
            path = figures / entry["path"]
            if not path.is_file() or sha256(path) != entry["sha256"]:
                differ.append(f"figures/{figures.name}/{entry['path']}")
    for name, digest in manifest.get("reports", {}).items():
        path = reports / name
        if not path.is_file() or sha256(path) != digest:
            differ.append(f"reports/{reports.name}/{name}")
    return differ


def verify(root: Path, slug: str) -> int:
    from .build import build
    from .sites import site_folder

    site_folder(root, slug)
    manifest_path = root / "figures" / slug / "MANIFEST.json"
    if not manifest_path.is_file():
        raise UsageError(f"figures/{slug}/MANIFEST.json is missing: build the site first (make SITE={slug})")
    manifest = json.loads(manifest_path.read_text("utf-8"))
    on_disk = compare(manifest, root / "figures" / slug, root / "reports" / slug)
    for name in on_disk:
        print(f"differs from MANIFEST.json (on disk): {name}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix=f"verify-{slug}-") as scratch:
        out = Path(scratch)
        print(f"rebuilding '{slug}' from scratch in {out} ...", file=sys.stderr)
        build(root, slug, out=out, force=True)
        rebuilt = compare(manifest, out / "figures" / slug, out / "reports" / slug)
    for name in rebuilt:
        print(f"differs from MANIFEST.json (rebuilt): {name}", file=sys.stderr)
    total = len(manifest["figures"]) * 2 + len(manifest.get("reports", {}))
    if on_disk or rebuilt:
        print(f"verify: {len(set(on_disk) | set(rebuilt))} of {total} files differ", file=sys.stderr)
        return 1
    print(f"verify: all {total} figure and report files of '{slug}' match MANIFEST.json, on disk and rebuilt")
    return 0
