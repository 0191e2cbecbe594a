"""``make import``: read a QDA file, write the site's coded tables, and keep them only if they validate."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import qda
from .coding import load_coded_data
from .sites import load_site
from .tables import remove_other_formats


def import_into_site(root: Path, slug: str, source: str | Path, replace: bool = False) -> list[str]:
    site = load_site(root, slug)
    imported = qda.read_any(Path(source), site.lang)
    with tempfile.TemporaryDirectory(dir=root / "data", prefix=f".{slug}.import-") as scratch:
        staging = Path(scratch) / slug
        shutil.copytree(site.folder, staging)
        tables = qda.site_tables(imported, staging, site.lang)
        written = qda.write_site_tables(staging, tables)
        load_coded_data(staging, site.lang)  # the imported tables must validate before they replace anything
        for path in written:
            remove_other_formats(site.folder, path.stem, path.suffix)
            shutil.copy2(path, site.folder / path.name)
    return [f"data/{slug}/{p.name}" for p in written]
