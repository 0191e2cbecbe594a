"""The case table (drug cases and suspects per year) and its statistics.

Counts per year are treated as Poisson counts. Per-year intervals are exact (Garwood):
``chi2.ppf(a/2, 2x)/2 .. chi2.ppf(1-a/2, 2x+2)/2``. Two years are compared with the exact
conditional test for a rate ratio with equal exposure: given ``x1 + x2`` events, ``x2`` is
binomial with p = 1/2 under no change; the Clopper-Pearson interval for p maps to the rate
ratio as ``p / (1 - p)``. (``scipy.stats.poisson_means_test`` is the E-test, a different test.)

The quantiles come from ``scipy.special`` rather than ``scipy.stats``, whose import alone takes about
a second in every process that needs it (the build and each kernel): ``chi2.ppf(q, 2x)/2`` is
``gammaincinv(x, q)``, the Clopper-Pearson bounds are ``betaincinv`` quantiles, and with p = 1/2 the
binomial distribution is symmetric, so the two-sided exact test is ``2 * bdtr(min(k, n - k), n, 1/2)``
(at most 1). ``tests/test_cases.py`` checks all three against ``scipy.stats`` over a grid of counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import DataError, Problem, display_path
from .i18n import message
from .tables import find_table, load_table

MEASURES = ("cases", "suspects")


def load_case_table(data_dir: Path | str, lang: str = "en", years: list[int] | None = None) -> pd.DataFrame:
    """Read and validate ``cases.csv`` (or ``.xlsx``): two or more consecutive years and counts >= 0."""
    folder = Path(data_dir)
    rows = load_table(folder, "cases", lang)
    path = display_path(find_table(folder, "cases"))
    problems = []
    for prev, row, n in zip(rows, rows[1:], range(3, len(rows) + 2)):
        if row["year"] <= prev["year"]:
            problems.append(
                Problem(
                    path, n, "year", message("years_not_increasing", lang, found=row["year"], previous=prev["year"])
                )
            )
        elif row["year"] != prev["year"] + 1:
            problems.append(
                Problem(path, n, "year", message("years_gap", lang, found=row["year"], expected=prev["year"] + 1))
            )
    table = pd.DataFrame(rows, columns=["year", "cases", "suspects", "source"])
    if years is not None and not problems and list(table["year"]) != list(years):
        problems.append(
            Problem(
                path,
                None,
                "year",
                message(
                    "years_mismatch",
                    lang,
                    found=", ".join(map(str, table["year"])),
                    expected=", ".join(map(str, years)),
                ),
            )
        )
    if len(rows) < 2:
        problems.append(Problem(path, None, "year", message("years_too_few", lang, found=len(rows))))
    if problems:
        raise DataError(problems)
    return table.astype({"year": "int64", "cases": "int64", "suspects": "int64"})


def garwood_interval(x: int, level: float = 0.95) -> tuple[float, float]:
    """Exact 95% (by default) interval for the mean of a Poisson count ``x``."""
    if x < 0:
        raise ValueError("a count cannot be negative")
    from scipy.special import gammaincinv

    a = 1 - level
    low = 0.0 if x == 0 else gammaincinv(x, a / 2)
    return float(low), float(gammaincinv(x + 1, 1 - a / 2))


@dataclass(frozen=True)
class Comparison:
    """One measure compared between two years."""

    measure: str
    year_from: int
    year_to: int
    count_from: int
    count_to: int
    rate_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    needed_at_most: int | None  # largest count in year_to that would have been a significant fall
    needed_at_least: int  # smallest count in year_to that would have been a significant rise

    @property
    def change(self) -> int:
        return self.count_to - self.count_from

    @property
    def relative_change(self) -> float:
        return self.change / self.count_from if self.count_from else math.nan

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05


def rate_ratio_test(x_from: int, x_to: int, level: float = 0.95) -> tuple[float, float, float, float]:
    """Rate ratio ``x_to / x_from`` with its exact conditional interval and two-sided p-value."""
    n = x_from + x_to
    if n == 0:
        return math.nan, 0.0, math.inf, 1.0
    from scipy.special import betaincinv

    a = 1 - level
    low = 0.0 if x_to == 0 else float(betaincinv(x_to, n - x_to + 1, a / 2))  # Clopper-Pearson
    high = 1.0 if x_to == n else float(betaincinv(x_to + 1, n - x_to, 1 - a / 2))
    to_ratio = lambda p: math.inf if p >= 1 else p / (1 - p)
    ratio = math.inf if x_from == 0 else x_to / x_from
    return ratio, to_ratio(low), to_ratio(high), exact_p_value(x_to, n)


def exact_p_value(k: int, n: int) -> float:
    """Two-sided exact binomial test of ``k`` events out of ``n`` against p = 1/2."""
    from scipy.special import bdtr

    if n == 0:
        return 1.0
    low = min(k, n - k)
    return 1.0 if 2 * low >= n else float(min(1.0, 2 * bdtr(low, n, 0.5)))


def significance_bounds(x_from: int, alpha: float = 0.05) -> tuple[int | None, int]:
    """Counts in the second year that the exact test would call a significant change from ``x_from``."""
    at_most = None
    for k in range(x_from, -1, -1):
        if exact_p_value(k, x_from + k) < alpha:
            at_most = k
            break
    k = x_from
    while exact_p_value(k, x_from + k) >= alpha:
        k += 1
    return at_most, k


def compare(table: pd.DataFrame, measure: str, first: int = 0, last: int = -1) -> Comparison:
    """One measure compared between two rows of the case table (by default its first and last year)."""
    a, b = table.iloc[first], table.iloc[last]
    x0, x1 = int(a[measure]), int(b[measure])
    ratio, lo, hi, p = rate_ratio_test(x0, x1)
    at_most, at_least = significance_bounds(x0)
    return Comparison(measure, int(a["year"]), int(b["year"]), x0, x1, ratio, lo, hi, p, at_most, at_least)


def compare_years(table: pd.DataFrame) -> list[Comparison]:
    """Each measure compared between consecutive years of the case table."""
    return [compare(table, measure, k, k + 1) for measure in MEASURES for k in range(len(table) - 1)]


def yearly_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per year: counts, their exact 95% intervals and suspects per case."""
    out = table[["year", "cases", "suspects"]].copy()
    for measure in MEASURES:
        bounds = [garwood_interval(int(x)) for x in out[measure]]
        out[f"{measure}_low"] = [b[0] for b in bounds]
        out[f"{measure}_high"] = [b[1] for b in bounds]
    out["suspects_per_case"] = [s / c if c else math.nan for s, c in zip(out["suspects"], out["cases"])]
    return out


def totals(table: pd.DataFrame) -> dict[str, int]:
    return {m: int(table[m].sum()) for m in MEASURES}
