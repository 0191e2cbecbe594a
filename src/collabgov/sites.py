"""Sites: one folder ``data/<site>/`` per kecamatan, with its parameters in ``site.yaml``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import DataError, Problem, UsageError, display_path
from .i18n import LANGUAGES, message, message_every_language

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
REGION_CODE = re.compile(r"^\d{2}(\.\d{2}){0,2}(\.\d{4})?$")

# name -> (required, expected type, description of what is expected)
PARAMETERS = {
    "kecamatan": (True, str, "text"),
    "kabupaten": (True, str, "text"),
    "provinsi": (True, str, "text"),
    "region_code": (True, str, "a Kemendagri code such as '14.07.08' (quoted)"),
    "years": (True, list, "a list of years such as [2021, 2022]"),
    "default_language": (True, str, "'id' or 'en'"),
    "languages": (False, list, "a list of languages such as [id, en]"),
    "study": (True, dict, "the study's metadata (title, year, citation, url)"),
    "synthetic": (False, bool, "true or false"),
}


def project_root() -> Path:
    """The compendium folder: ``$COLLABGOV_ROOT``, else the nearest parent holding ``data/`` and a Makefile."""
    if os.environ.get("COLLABGOV_ROOT"):
        return Path(os.environ["COLLABGOV_ROOT"]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "data").is_dir() and (folder / "Makefile").is_file():
            return folder
    raise UsageError("cannot find the compendium folder (one holding data/ and a Makefile); run from inside it")


def available_sites(root: Path) -> list[str]:
    data = root / "data"
    return sorted(p.name for p in data.iterdir() if (p / "site.yaml").is_file()) if data.is_dir() else []


@dataclass(frozen=True)
class Site:
    slug: str
    folder: Path
    params: dict

    @property
    def lang(self) -> str:
        return self.params["default_language"]

    @property
    def languages(self) -> list[str]:
        langs = self.params.get("languages") or [self.lang]
        return [self.lang] + [x for x in langs if x != self.lang]

    @property
    def synthetic(self) -> bool:
        return bool(self.params.get("synthetic", False))


def site_folder(root: Path, slug: str) -> Path:
    """``data/<slug>`` after checking that ``slug`` is a safe name of an existing site."""
    if not SLUG.match(slug or ""):
        raise UsageError(f"site name {slug!r} is not allowed: use lower-case letters, digits, '-' and '_' (at most 40)")
    folder = root / "data" / slug
    if not (folder / "site.yaml").is_file():
        raise UsageError(f"unknown site '{slug}'; sites here: {' '.join(available_sites(root)) or '(none)'}")
    return folder


def load_site(root: Path, slug: str) -> Site:
    folder = site_folder(root, slug)
    path = folder / "site.yaml"
    params = read_parameters(path)
    return Site(slug, folder, params)


def read_parameters(path: Path) -> dict:
    """Read and check ``site.yaml`` (safe YAML: no tags, no code)."""
    shown = display_path(path)
    lang = "en"
    try:
        params = yaml.safe_load(path.read_text("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            [
                Problem(
                    shown,
                    getattr(getattr(exc, "problem_mark", None), "line", -1) + 1 or None,
                    None,
                    message_every_language("yaml_invalid") + f": {detail}",
                )
            ]
        ) from None
    if not isinstance(params, dict):
        raise DataError([Problem(shown, None, None, message_every_language("yaml_not_mapping"))])
    if params.get("default_language") in LANGUAGES:
        lang = params["default_language"]
    problems = []
    for key in params:
        if key not in PARAMETERS:
            problems.append(
                Problem(shown, None, str(key), message("param_unknown", lang, expected=", ".join(PARAMETERS)))
            )
    for key, (required, kind, expected) in PARAMETERS.items():
        if key not in params:
            if required:
                problems.append(Problem(shown, None, key, message("param_missing", lang)))
            continue
        value = params[key]
        ok = isinstance(value, kind) and not (kind is str and not value.strip())
        if key == "region_code":
            ok = ok and bool(REGION_CODE.match(value))
        elif key == "years":
            ok = (
                ok
                and bool(value)
                and all(isinstance(y, int) and not isinstance(y, bool) for y in value)
                and value == sorted(set(value))
            )
        elif key in ("default_language",):
            ok = ok and value in LANGUAGES
        elif key == "languages":
            ok = ok and bool(value) and all(v in LANGUAGES for v in value)
        elif key == "study":
            ok = ok and isinstance(value.get("title"), str) and isinstance(value.get("citation"), str)
        if not ok:
            problems.append(Problem(shown, None, key, message("param_type", lang, expected=expected, found=value)))
    if problems:
        raise DataError(problems)
    return params


def notebook_parameters(site: Site, lang: str, output_dir: Path) -> dict:
    """What papermill injects into every notebook: the site's parameters as plain literals."""
    return {
        "site": site.slug,
        "data_dir": str(site.folder),
        "output_dir": str(output_dir),
        "lang": lang,
        **{k: site.params[k] for k in PARAMETERS if k in site.params and k != "default_language"},
        "languages": site.languages,  # as the build plans them: the default language first
        "synthetic": site.synthetic,
    }
