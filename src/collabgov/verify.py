"""``make verify``: are the figures and reports on disk the ones the data make, byte for byte?

Checks the files in ``figures/<site>/`` and ``reports/<site>/`` against ``MANIFEST.json``, then
rebuilds the site from scratch into a temporary folder and compares the rebuilt files too.
Every file that differs is named."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from .build import build
from .errors import UsageError
from .i18n import message
from .provenance import sha256
from .sites import load_site


def differing_files(manifest: dict, figures: Path, reports: Path) -> list[str]:
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
    lang = load_site(root, slug).lang
    manifest_path = root / "figures" / slug / "MANIFEST.json"
    if not manifest_path.is_file():
        raise UsageError(message("verify_no_manifest", lang, site=slug), lang)
    manifest = json.loads(manifest_path.read_text("utf-8"))
    on_disk = differing_files(manifest, root / "figures" / slug, root / "reports" / slug)
    for name in on_disk:
        print(message("verify_differs_disk", lang, file=name), file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix=f"verify-{slug}-") as scratch:
        out = Path(scratch)
        print(message("verify_rebuilding", lang, site=slug, folder=out), file=sys.stderr)
        build(root, slug, out=out, force=True)
        rebuilt = differing_files(manifest, out / "figures" / slug, out / "reports" / slug)
    for name in rebuilt:
        print(message("verify_differs_rebuilt", lang, file=name), file=sys.stderr)
    total = len(manifest["figures"]) * 2 + len(manifest.get("reports", {}))
    if on_disk or rebuilt:
        print(message("verify_failed", lang, n=len(set(on_disk) | set(rebuilt)), total=total), file=sys.stderr)
        return 1
    print(message("verify_ok", lang, total=total, site=slug))
    return 0
