"""Sites: one folder ``data/<site>/`` per kecamatan, with its parameters in ``site.yaml``.

``site.yaml`` is data from someone else. It is read with a YAML loader that builds nothing but
text, numbers, true/false, lists and key-value maps (no tags, no anchors or aliases, no dates, at
most ``MAX_DEPTH`` levels, at most ``MAX_YAML_BYTES``), then checked against the JSON Schema
``collabgov/schemas/site.schema.json``: every key, its type and range. The schema is also the
documentation of site.yaml (``docs/site_yaml.md`` is generated from it). Problems are reported as
``site.yaml:line: key: what was expected`` in the site's language.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from .errors import DataError, Problem, Problems, UsageError, display_path, line_at
from .i18n import LANGUAGES, message, message_every_language
from .inputs import Refused, check_folder, read_bytes

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_YAML_BYTES = 1024 * 1024
MAX_DEPTH = 12
_PLAIN_TAGS = {"tag:yaml.org,2002:" + t for t in ("bool", "int", "float", "null")}


def is_compendium(folder: Path) -> bool:
    """Whether ``folder`` is a compendium: it holds ``data/`` and a Makefile."""
    return (folder / "data").is_dir() and (folder / "Makefile").is_file()


def project_root() -> Path:
    """The compendium folder: ``$COLLABGOV_ROOT``, else the nearest parent holding ``data/`` and a Makefile."""
    if os.environ.get("COLLABGOV_ROOT"):
        return Path(os.environ["COLLABGOV_ROOT"]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if is_compendium(folder):
            return folder
    lang = user_language()
    raise UsageError(message("no_project_root", lang), lang)


def user_language() -> str:
    """The language for messages that belong to no site: ``$COLLABGOV_LANG``, else the locale's, else English."""
    for value in (os.environ.get("COLLABGOV_LANG"), os.environ.get("LC_ALL"), os.environ.get("LANG")):
        if value and value[:2].lower() in LANGUAGES:
            return value[:2].lower()
    return "en"


def available_sites(root: Path) -> list[str]:
    data = root / "data"
    if not data.is_dir():
        return []
    return sorted(p.name for p in data.iterdir() if SLUG.match(p.name) and (p / "site.yaml").is_file())


@dataclass(frozen=True)
class Site:
    """One site: its folder and its validated parameters (``lines``: key path -> line in site.yaml)."""

    slug: str
    folder: Path
    params: dict
    lines: dict = field(default_factory=dict, compare=False, repr=False)

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

    @property
    def years(self) -> list[int]:
        return list(self.params["years"])

    @property
    def kind(self) -> str:
        return self.params["study"]["kind"]


def site_folder(root: Path, slug: str, lang: str | None = None) -> Path:
    """``data/<slug>`` after checking that ``slug`` is a safe name of an existing site."""
    lang = lang or user_language()
    if not SLUG.match(slug or ""):
        raise UsageError(message("site_name_invalid", lang, name=repr(slug)), lang)
    folder = root / "data" / slug
    if os.path.islink(folder) or not (folder / "site.yaml").is_file():
        raise UsageError(message("site_unknown", lang, name=slug, sites=" ".join(available_sites(root)) or "–"), lang)
    return folder


def load_site(root: Path, slug: str) -> Site:
    """The site ``slug``: its folder checked for links and special files, its site.yaml read and checked."""
    folder = site_folder(root, slug)
    params, lines = read_parameters(folder / "site.yaml", folder)
    problems = check_folder(folder, params["default_language"])
    if problems:
        raise DataError(problems)
    return Site(slug, folder, params, lines)


def peek_site(root: Path, slug: str) -> Site:
    """site.yaml read with the strict loader but not checked against the schema: enough to plan a build or
    to choose the language of a message, never to build from (``load_site`` checks everything)."""
    folder = site_folder(root, slug)
    value, declared = None, None
    try:
        data = read_bytes(folder / "site.yaml", folder, MAX_YAML_BYTES)
        declared = declared_language(data)
        value, _ = parse_yaml(data)
    except Refused as exc:
        declared = _head_language(folder / "site.yaml", folder, exc)
    except _Refusal:
        pass
    value = value if isinstance(value, dict) else {}
    lang = value.get("default_language") if value.get("default_language") in LANGUAGES else None
    lang = lang or declared or user_language()
    langs = value.get("languages") if isinstance(value.get("languages"), list) else []
    params = {"default_language": lang, "languages": [x for x in langs if x in LANGUAGES and isinstance(x, str)]}
    return Site(slug, folder, params)


# --- reading site.yaml ----------------------------------------------------------------------------


class _Refusal(Exception):
    def __init__(self, message_key: str, line: int | None, **values):
        self.key, self.line, self.values = message_key, line, values


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that composes only plain scalars, sequences and mappings, with string keys, each once."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag in _PLAIN_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refusal("yaml_alias", line)
        tag = getattr(event, "tag", None)
        if tag not in (None, "!"):
            raise _Refusal("yaml_tag", line, tag=tag)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refusal("yaml_too_deep", line, depth=MAX_DEPTH)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                raise _Refusal("yaml_key", key_node.start_mark.line + 1)
            if key_node.value in seen:
                raise _Refusal("yaml_duplicate", key_node.start_mark.line + 1, name=key_node.value)
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=True)


def _line_map(node, path=(), lines=None) -> dict:
    """key path (tuple) -> line number of the key (or of the list item) in the file."""
    lines = {} if lines is None else lines
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[path + (key.value,)] = key.start_mark.line + 1
            _line_map(value, path + (key.value,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _line_map(item, path + (i,), lines)
    return lines


def parse_yaml(data: bytes) -> tuple[object, dict]:
    """Bytes of a YAML file -> (value, line map); raises _Refusal for anything but plain data."""
    if len(data) > MAX_YAML_BYTES:
        raise _Refusal("yaml_too_large", None, limit=MAX_YAML_BYTES // 1024)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # named with the line of the first byte that is not UTF-8
        raise _Refusal("yaml_encoding", line_at(data, exc.start)) from None
    if "\x00" in text:
        raise _Refusal("yaml_encoding", None)
    loader = None
    try:
        loader = _StrictLoader(text)  # the reader refuses control characters here already
        node = loader.get_single_node()
        if node is None:
            return None, {}
        return loader.construct_document(node), _line_map(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        key = "yaml_tab" if "'\\t'" in str(exc.problem) else "yaml_invalid"
        raise _Refusal(key, mark.line + 1 if mark else None) from None
    except (yaml.YAMLError, RecursionError, TypeError, ValueError):
        raise _Refusal("yaml_invalid", None) from None
    finally:
        if loader is not None:
            loader.dispose()


@cache
def site_schema() -> dict:
    return json.loads(resources.files("collabgov").joinpath("schemas/site.schema.json").read_text("utf-8"))


def _schema_at(path) -> dict:
    """The schema node for a key path (list indexes step into ``items``)."""
    node = site_schema()
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            node = node.get("properties", {}).get(part, {})
    return node


def _dotted(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _shown(value) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def read_parameters(path: Path, folder: Path | None = None) -> tuple[dict, dict]:
    """Read and check ``site.yaml``: (parameters, line map), or DataError listing every problem."""
    shown = display_path(path)
    try:
        data = read_bytes(path, folder or path.parent, MAX_YAML_BYTES)
    except Refused as exc:
        said = _say(exc.key, _head_language(path, folder or path.parent, exc), **exc.values)
        raise DataError([Problem(shown, None, None, said)]) from None
    try:
        value, lines = parse_yaml(data)
    except _Refusal as exc:
        said = _say(exc.key, declared_language(data), **exc.values)
        raise DataError([Problem(shown, exc.line, None, said)]) from None
    if not isinstance(value, dict):
        raise DataError([Problem(shown, 1, None, message_every_language("yaml_not_mapping"))])
    lang = value.get("default_language") if value.get("default_language") in LANGUAGES else None
    problems = Problems()
    problems.add(schema_problems(value, lines, shown, lang))
    problems.raise_if_errors()
    return value, {_dotted(k): v for k, v in lines.items()}


_DECLARED = re.compile(r"""^default_language:[ \t]*["']?(id|en)["']?[ \t]*(?:#.*)?$""", re.M)


def declared_language(data: bytes) -> str | None:
    """The ``default_language: id`` line of a site.yaml that cannot be parsed as a whole: its messages then
    still speak the site's language (in every language only when that line is missing or broken too)."""
    found = _DECLARED.findall(data.decode("utf-8", errors="replace"))
    return found[0] if len(set(found)) == 1 else None


def _head_language(path: Path, folder: Path, refused: Refused) -> str | None:
    """The language a site.yaml too large to read declares in its first 64 KB (None for any other refusal)."""
    if refused.key != "file_too_large":
        return None
    try:
        return declared_language(read_bytes(path, folder, 64 * 1024, head=True))
    except Refused:
        return None


def _say(key: str, lang: str | None, **values) -> str:
    return message(key, lang, **values) if lang else message_every_language(key, **values)


@cache
def site_validator():
    """The site schema's validator. jsonschema is imported here, not at the top: with its format checkers it
    takes 0.2 s, which a build with nothing to do must not pay (measured with -X importtime)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(site_schema())


def schema_problems(value: dict, lines: dict, shown: str, lang: str | None) -> list[Problem]:
    """Every way ``value`` differs from the site schema, one problem per key, in the site's language."""

    def expected(node) -> str:
        return node.get(f"x-expected-{lang or 'en'}") or node.get("x-expected-en") or node.get("type", "")

    out: dict[tuple, Problem] = {}
    validator = site_validator()
    for error in sorted(
        validator.iter_errors(value), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path)))
    ):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            known = list(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - set(known)):
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                text = (
                    _say("param_unknown_close", lang, close=close[0])
                    if close
                    else _say("param_unknown", lang, expected=", ".join(known))
                )
                full = path + (key,)
                out.setdefault(full, Problem(shown, lines.get(full), _dotted(full), text))
        elif error.validator == "required":
            for key in error.validator_value:
                if isinstance(error.instance, dict) and key not in error.instance:
                    full = path + (key,)
                    node = _schema_at(full)
                    text = _say("param_missing", lang, expected=expected(node))
                    out.setdefault(full, Problem(shown, lines.get(path, 1), _dotted(full), text))
        else:
            # a list item's problem is told at the list, with what the list should hold
            while path and isinstance(path[-1], int):
                path = path[:-1]
            node = _schema_at(path)
            found = _shown(_get(value, path))
            text = _say("param_type", lang, expected=expected(node), found=found)
            out.setdefault(path, Problem(shown, lines.get(path), _dotted(path), text))
    study = value.get("study") if isinstance(value.get("study"), dict) else {}
    if study.get("kind") == "fieldwork":
        for key in ("published_informants", "published_totals"):
            if key in study:
                full = ("study", key)
                out.setdefault(full, Problem(shown, lines.get(full), _dotted(full), _say("only_reproduction", lang)))
    years = value.get("years")
    if isinstance(years, list) and all(isinstance(y, int) for y in years) and ("years",) not in out:
        if years != list(range(years[0], years[0] + len(years))):
            text = _say("param_years_consecutive", lang, found=_shown(years))
            out[("years",)] = Problem(shown, lines.get(("years",)), "years", text)
    return list(out.values())


def _get(value, path):
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value
