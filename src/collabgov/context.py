"""What a notebook knows about its site: the parameters papermill injected, as one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .i18n import LANGUAGES


@dataclass
class SiteContext:
    site: str
    lang: str
    data_dir: Path
    output_dir: Path
    kecamatan: str
    kabupaten: str
    provinsi: str
    region_code: str
    years: list[int]
    study: dict
    languages: list[str] = field(default_factory=lambda: list(LANGUAGES))
    synthetic: bool = False

    def __post_init__(self):
        self.data_dir = Path(self.data_dir)
        self.output_dir = Path(self.output_dir)
        if self.lang not in LANGUAGES:
            raise ValueError(f"lang must be one of {LANGUAGES}, not {self.lang!r}")

    @property
    def figures_dir(self) -> Path:
        return self.output_dir / "figures"

    @property
    def period(self) -> str:
        return f"{self.years[0]}–{self.years[-1]}" if len(self.years) > 1 else str(self.years[0])

    def note(self, key: str) -> str | None:
        """The site's own wording for ``key`` in this language (``study.notes.<key>.<lang>`` in site.yaml)."""
        return ((self.study.get("notes") or {}).get(key) or {}).get(self.lang)

    def input_file(self, name: str) -> Path:
        from .tables import find_table

        return find_table(self.data_dir, name) or self.data_dir / f"{name}.csv"
