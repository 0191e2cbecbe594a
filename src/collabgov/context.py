"""What a notebook knows about its site and run.

Notebooks receive only what names the run (site, language, output folder, and the folder holding
``data/``), never site text: ``open_site`` loads the site through the package, with every check that
``make validate`` makes, and returns a ``SiteContext``. A notebook opened in JupyterLab or run by papermill
passes no folders: the compendium and the output folder are found as ``compendium_root`` and
``output_folder`` say, from wherever it is run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import coding, figures
from .errors import UsageError
from .i18n import LANGUAGES, label, message
from .inputs import INPUT_ROOT_ENV, OUTPUT_DIR_ENV
from .sites import Site, is_compendium, load_site, project_root
from .tables import find_table


@dataclass
class SiteContext:
    site: Site
    lang: str
    output_dir: Path
    built: bool = False  # figures and provenance from the site's last build, not from ``output_dir``
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        self.output_dir = Path(self.output_dir)
        if self.lang not in LANGUAGES:
            raise ValueError(f"lang must be one of {LANGUAGES}, not {self.lang!r}")

    def in_language(self, lang: str) -> SiteContext:
        return replace(self, lang=lang, _cache={})

    # --- the site's parameters, as the report uses them --------------------------------------
    @property
    def slug(self) -> str:
        return self.site.slug

    @property
    def data_dir(self) -> Path:
        return self.site.folder

    @property
    def params(self) -> dict:
        return self.site.params

    @property
    def kecamatan(self) -> str:
        return self.params["kecamatan"]

    @property
    def kabupaten(self) -> str:
        return self.params["kabupaten"]

    @property
    def kabupaten_kind(self) -> str:
        return self.params["kabupaten_kind"]

    @property
    def provinsi(self) -> str:
        return self.params["provinsi"]

    @property
    def region_code(self) -> str:
        return self.params["region_code"]

    @property
    def years(self) -> list[int]:
        return self.site.years

    @property
    def languages(self) -> list[str]:
        return self.site.languages

    @property
    def synthetic(self) -> bool:
        return self.site.synthetic

    @property
    def study(self) -> dict:
        return self.params["study"]

    @property
    def kind(self) -> str:
        return self.site.kind

    @property
    def figures_dir(self) -> Path:
        """Where the figures are: ``<output_dir>/figures``, or ``figures/<site>/`` of a site's build."""
        return self.site.folder.parents[1] / "figures" / self.slug if self.built else self.output_dir / "figures"

    @property
    def report_dir(self) -> Path:
        """Where the report's ``provenance.json`` is: ``<output_dir>/report``, or ``reports/<site>/`` of a build."""
        return self.site.folder.parents[1] / "reports" / self.slug if self.built else self.output_dir / "report"

    def with_saved_figures(self) -> SiteContext:
        """The context whose figures the report shows: this one when the analysis notebooks saved every figure in
        its output folder; else the site's last build (``make``), when there is one; else a one-line error, in
        the site's language, naming the notebooks to run first."""
        stages = coding.load_codebook(self.data_dir, self.lang).stages
        unsaved = figures.unsaved(self.figures_dir, self.lang, stages)
        if not unsaved:
            return self
        lang, built = self.lang, replace(self, built=True, _cache={})  # (the run's language: -p lang en)
        made = (built.report_dir / "provenance.json").is_file()
        if made and not figures.unsaved(built.figures_dir, self.lang, stages):
            print(message("report_from_build", lang, site=self.slug))
            return built
        notebooks = ", ".join(f"{name}.ipynb" for name in unsaved)
        raise UsageError(message("report_needs_figures", lang, site=self.slug, notebooks=notebooks), lang)

    @property
    def period(self) -> str:
        return f"{self.years[0]}–{self.years[-1]}" if len(self.years) > 1 else str(self.years[0])

    def words(self) -> dict[str, str]:
        """The site's names as the report's sentences use them, in this language (Kota or Kabupaten ...)."""
        kind = label(f"report.region.{self.kabupaten_kind}", self.lang)
        return {
            "kecamatan": self.kecamatan,
            "kabupaten": self.kabupaten,
            "kabupaten_full": f"{kind} {self.kabupaten}",
            "provinsi": self.provinsi,
            "region": f"Kecamatan {self.kecamatan}, {kind} {self.kabupaten}",
            "region_code": self.region_code,
            "period": self.period,
            "year_first": str(self.years[0]),
            "year_last": str(self.years[-1]),
        }

    def note(self, key: str) -> str | None:
        """The site's own wording for ``key`` in this language (``study.notes.<key>.<lang>`` in site.yaml)."""
        return ((self.study.get("notes") or {}).get(key) or {}).get(self.lang)

    def citation(self) -> str:
        citation = self.study["citation"]
        return citation if isinstance(citation, str) else citation[self.lang]

    def input_file(self, name: str) -> Path:
        return find_table(self.data_dir, name) or self.data_dir / f"{name}.csv"


def compendium_root(root: str | Path | None = None) -> Path:
    """The folder holding ``data/<site>/``: ``root`` when given; else ``$COLLABGOV_INPUT_ROOT`` (the build's
    snapshot); else the compendium holding the current folder (a notebook's own folder in JupyterLab, the
    folder papermill runs in, whether the repository or its notebooks/); else the checkout the package is
    installed from (``pip install -e``), so that a notebook run from anywhere else still finds its data."""
    if root is not None:
        return Path(root)
    if os.environ.get(INPUT_ROOT_ENV):
        return Path(os.environ[INPUT_ROOT_ENV])
    try:
        return project_root()
    except UsageError:
        checkout = Path(__file__).resolve().parents[2]
        if is_compendium(checkout):
            return checkout
        raise


def output_folder(root: Path, name: str, output_dir: str | Path | None = None) -> Path:
    """Where a run writes: ``output_dir`` when given; else ``$COLLABGOV_OUTPUT_DIR`` (the build's); else
    ``build/interactive/<name>`` of the compendium, so that a run for one site never shows another's figures."""
    if output_dir is not None:
        return Path(output_dir)
    if os.environ.get(OUTPUT_DIR_ENV):
        return Path(os.environ[OUTPUT_DIR_ENV])
    return root / "build" / "interactive" / name


def open_site(
    site: str, lang: str, output_dir: str | Path | None = None, root: str | Path | None = None
) -> SiteContext:
    """The run's context: site ``site`` of the compendium at ``root``, loaded and checked, in language ``lang``,
    writing to ``output_dir`` (each found as ``compendium_root`` and ``output_folder`` say when None)."""
    root = compendium_root(root)
    return SiteContext(load_site(root, site), lang, output_folder(root, site, output_dir))
