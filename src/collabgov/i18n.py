"""Words and numbers in the report's language (Indonesian ``id`` or English ``en``).

Labels and messages live in ``collabgov/i18n/<lang>.yaml``. Numbers are formatted with Babel,
which carries its own locale data, so the decimal comma and thousands dot of Indonesian work
even where the system has no ``id_ID`` locale.
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources

import yaml

LANGUAGES = ("id", "en")
_BABEL_LOCALE = {"id": "id_ID", "en": "en_GB"}


@cache
def catalog(lang: str) -> dict:
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    text = resources.files("collabgov").joinpath("i18n/" + f"{lang}.yaml").read_text("utf-8")
    # The catalogues are the package's own files: libyaml's safe loader reads them in 6 ms, where the
    # pure-Python one took 210 ms, most of a build that has nothing to do.
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def label(key: str, lang: str, **values) -> str:
    """A label such as an axis title or a heading; ``{name}`` fields are filled from ``values``."""
    node = catalog(lang)
    for part in key.split("."):
        node = node[part]
    return str(node).format(**values) if values else str(node)


def labeller(prefix: str, lang: str):
    """``labeller("gallery", "id")("title", site=x)`` is ``label("gallery.title", "id", site=x)``: the one way a
    module names the labels of its own part of the catalogue."""
    return lambda key, **values: label(f"{prefix}.{key}", lang, **values)


def family_label(family: str, lang: str) -> str:
    """A code family's name in the report language (its own name when the catalog has none)."""
    return catalog(lang)["families"].get(family, family)


def message(key: str, lang: str, **values) -> str:
    """An error message for users (``messages.<key>`` in the catalog)."""
    return label(f"messages.{key}", lang if lang in LANGUAGES else "en", **values)


def missing(value, lang: str) -> str:
    """A cell's text, or the report's word for a value that is not there (never 'nan' or 'None')."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ == "NAType":
        return label("report.missing", lang)
    text = str(value).strip()
    return text if text else label("report.missing", lang)


def message_every_language(key: str, **values) -> str:
    """An error message in every language, for files whose language cannot be read (a broken site.yaml)."""
    return " / ".join(message(key, lang, **values) for lang in LANGUAGES)


def number(x: float | int | None, lang: str, digits: int = 2) -> str:
    """``1234.5`` -> ``1.234,50`` (id) or ``1,234.50`` (en); ``None``/NaN -> an en dash."""
    from babel.numbers import format_decimal

    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(x, format=pattern, locale=_BABEL_LOCALE[lang])


def integer(x: int, lang: str) -> str:
    return number(int(x), lang, 0)


def signed(x: float, lang: str, digits: int = 0) -> str:
    """A change with its sign: ``+1``, ``−2`` (true minus sign), ``0``."""
    text = number(abs(x), lang, digits)
    return text if x == 0 else ("+" if x > 0 else "−") + text


def percent(x: float, lang: str, digits: int = 1, sign: bool = True) -> str:
    """``0.0714`` -> ``+7,1%`` (id) or ``+7.1%`` (en)."""
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "–"
    return (signed(100 * x, lang, digits) if sign else number(100 * x, lang, digits)) + "%"


def interval(lo: float, hi: float, lang: str, digits: int = 2) -> str:
    """A confidence interval written ``0,48–2,40``."""
    return f"{number(lo, lang, digits)}–{number(hi, lang, digits)}"


def p_value(p: float, lang: str) -> str:
    return "< " + number(0.001, lang, 3) if p < 0.001 else number(p, lang, 3 if p < 0.01 else 2)
