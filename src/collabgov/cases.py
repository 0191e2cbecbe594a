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

All years at once (two or more) are tested for a trend with the exact conditional test for a log-linear
trend in Poisson counts (see e.g. Agresti, Categorical Data Analysis, on exact conditional inference): counts
``x_i ~ Poisson(mu * exp(b * t_i))`` with ``t_i`` the year minus the first year and equal exposure, and
``exp(b)`` the rate ratio per year. Given the total ``N``, the sufficient statistic ``T = sum(t_i * x_i)``
is the sum of N independent draws of ``t`` with probabilities proportional to ``exp(b * t)``, free of
``mu``: ``P_b(T = s) = P_0(T = s) exp(b s) / normaliser``, and under b = 0 the draws are uniform. The
estimate is the conditional maximum-likelihood one, which solves ``E_b[T] = T_obs``, i.e.
``N * mean_b(t) = T_obs``: the equation of the Poisson regression with an intercept, so the two estimates
are the same. The interval inverts the two tails (``P_b(T >= T_obs) = alpha/2`` at the lower bound,
``P_b(T <= T_obs) = alpha/2`` at the upper) and the p-value doubles the smaller tail at b = 0 (at most 1).
With two years T is the second year's count and each draw is a Bernoulli trial with p = e^b / (1 + e^b),
so the trend test is the two-year test above: the same ratio, interval and p-value.

The distribution of T is computed once, by convolution powers (exponentiation by squaring; FFT for long
arrays; values below 1e-14 of the peak, where FFT rounding noise lies, are dropped), under the estimate,
where it is centred on ``T_obs``. Any other b follows by reweighting with ``exp((b - b_hat) s)`` and the
closed-form normaliser ``M(b)^N``, ``M(b) = sum(exp(b * t_i))``, in logarithms, and each tail is summed on
the side where the weights shrink (the other side is one minus it), so tail probabilities of 1e-200 stay
exact for N in the hundred thousands. When all events fall in the first (last) year, T is at the end of
its support: the estimate is 0 (infinite), the lower (upper) bound 0 (infinite), and ``P_b(T = T_obs)`` is
``(exp(b * T_obs / N) / M(b))^N`` in closed form. The roots are found with ``scipy.optimize.brentq``,
imported (about 0.3 s) only when a trend is computed. ``tests/test_cases.py`` checks the trend test
against the two-year test, the Poisson regression's estimate and tails counted exactly in integers.
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


TREND_METHOD = "exact_conditional_poisson_trend"
_NEGLIGIBLE = 1e-14  # share of a distribution's peak below which convolution results are rounding noise


@dataclass(frozen=True)
class Trend:
    """One measure's log-linear trend over all years of the case table."""

    measure: str
    years: list[int]
    counts: list[int]
    rate_ratio: float  # estimated multiplicative change per year, exp(b)
    ci_low: float
    ci_high: float
    p_value: float  # two-sided, against no trend (b = 0)
    level: float = 0.95
    method: str = TREND_METHOD

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def significant(self) -> bool:
        return self.p_value < 1 - self.level


def trend_test(table: pd.DataFrame, measure: str, level: float = 0.95) -> Trend:
    """The exact conditional test for a log-linear trend in one measure over all years of the case table."""
    years = [int(y) for y in table["year"]]
    counts = [int(x) for x in table[measure]]
    ratio, low, high, p = poisson_trend_test(years, counts, level)
    return Trend(measure, years, counts, ratio, low, high, p, level)


def trend_tests(table: pd.DataFrame, level: float = 0.95) -> list[Trend]:
    """The trend test for each measure of the case table."""
    return [trend_test(table, measure, level) for measure in MEASURES]


def poisson_trend_test(years: list[int], counts: list[int], level: float = 0.95) -> tuple[float, float, float, float]:
    """Rate ratio per year ``exp(b)`` of Poisson counts with means ``mu * exp(b * t)``, its exact conditional
    interval and the two-sided p-value against b = 0 (``t`` is the year minus the first year).

    Given the total ``N``, ``T = sum(t * x)`` is the sum of N independent draws of ``t`` with probabilities
    proportional to ``exp(b * t)``; the module docstring explains how its tails are computed.
    """
    import numpy as np

    if len(years) < 2 or len(years) != len(counts):
        raise ValueError("a trend needs a count for each of two or more years")
    t = np.asarray(years, dtype=np.int64) - int(years[0])
    x = np.asarray(counts, dtype=np.int64)
    if np.any(np.diff(t) <= 0):
        raise ValueError("years must increase")
    if np.any(x < 0):
        raise ValueError("a count cannot be negative")
    n = int(x.sum())
    if n == 0:
        return math.nan, 0.0, math.inf, 1.0
    t_obs, t_max = int(t @ x), int(t[-1])
    log_half_alpha = math.log((1 - level) / 2)
    tilted = _TiltedSum(t, n)
    if t_obs in (0, n * t_max):
        # All events in the first (or last) year: the estimate is 0 (or infinite), T sits at the end of its
        # support, and the one finite bound solves P_b(T = t_obs) = alpha/2, with P_b(T = t_obs) in closed form.
        p = min(1.0, 2 * math.exp(-n * math.log(len(t))))
        log_p_end = lambda b: tilted.log_point(b, t_obs) - log_half_alpha
        if t_obs == 0:
            return 0.0, 0.0, _ratio(_root(lambda b: -log_p_end(b))), p
        return math.inf, _ratio(_root(log_p_end)), math.inf, p
    b_hat = _root(lambda b: tilted.mean(b) - t_obs)
    tilted.centre(b_hat)
    b_low = _root(lambda b: tilted.log_upper(b, t_obs) - log_half_alpha, b_hat)
    b_high = _root(lambda b: log_half_alpha - tilted.log_lower(b, t_obs), b_hat)
    p = min(1.0, 2 * math.exp(min(tilted.log_upper(0.0, t_obs), tilted.log_lower(0.0, t_obs))))
    return _ratio(b_hat), _ratio(b_low), _ratio(b_high), p


def _ratio(b: float) -> float:
    return math.exp(b) if b < 709 else math.inf


def _root(f, start: float = 0.0) -> float:
    """The root of an increasing function ``f``, bracketed by steps that double away from ``start``."""
    from scipy.optimize import brentq

    step, low, high = 1.0, start, start
    if f(start) > 0:
        while f(low) > 0:
            low, high, step = low - step, low, _wider(step)
    else:
        while f(high) <= 0:
            low, high, step = high, high + step, _wider(step)
    return brentq(f, low, high, xtol=1e-13)


def _wider(step: float) -> float:
    if step > 1e4:  # exp(b) would be far beyond floating point: the function has no root
        raise ArithmeticError("no root found")
    return 2 * step


class _TiltedSum:
    """The distribution of ``T``, the sum of ``n`` draws of ``t`` with probabilities proportional to
    ``exp(b * t)``, for every ``b`` at once.

    ``P_b(T = s) = c(s) exp(b * s) / M(b)^n`` with ``M(b) = sum(exp(b * t))`` and ``c(s)`` the number of
    ways to draw a total of ``s``. ``centre(b0)`` computes ``P_b0`` once, by convolution; any other ``b``
    follows from ``P_b(s) = P_b0(s) exp((b - b0) s) (M(b0) / M(b))^n``, in logarithms. With ``b0`` the
    estimate, ``P_b0`` is centred on the observed total, so the tails there are accurate to full precision
    however small they are under another ``b``.
    """

    def __init__(self, t, n: int):
        self.t, self.n = t.astype(float), n

    def log_m(self, b: float) -> float:
        return _log_sum_exp(b * self.t)

    def mean(self, b: float) -> float:
        """``E_b[T]``."""
        import numpy as np

        w = np.exp(b * self.t - np.max(b * self.t))
        return self.n * float(w @ self.t / w.sum())

    def log_point(self, b: float, s: int) -> float:
        """``log P_b(T = s)`` for ``s`` at either end of the support, reached by one sequence of draws only."""
        return b * s - self.n * self.log_m(b)

    def centre(self, b0: float) -> None:
        import numpy as np

        self.b0, self.log_m0 = b0, self.log_m(b0)
        support = np.zeros(int(self.t[-1]) + 1)
        support[self.t.astype(np.int64)] = np.exp(b0 * self.t - self.log_m0)
        offset, probabilities = _convolution_power(support, self.n)
        with np.errstate(divide="ignore"):
            self.log_p = np.log(probabilities)
        self.s = np.arange(offset, offset + len(probabilities), dtype=float)

    def _log_sum(self, b: float, mask) -> float:
        terms = self.log_p[mask] + (b - self.b0) * self.s[mask]
        return _log_sum_exp(terms) - self.n * (self.log_m(b) - self.log_m0)

    def log_upper(self, b: float, s: int) -> float:
        """``log P_b(T >= s)``: summed directly for ``b <= b0``, else as one minus the other tail."""
        if b <= self.b0:
            return self._log_sum(b, self.s >= s)
        return math.log1p(-min(1.0, math.exp(self._log_sum(b, self.s <= s - 1))))

    def log_lower(self, b: float, s: int) -> float:
        """``log P_b(T <= s)``: summed directly for ``b >= b0``, else as one minus the other tail."""
        if b >= self.b0:
            return self._log_sum(b, self.s <= s)
        return math.log1p(-min(1.0, math.exp(self._log_sum(b, self.s >= s + 1))))


def _log_sum_exp(a) -> float:
    """``log(sum(exp(a)))`` without overflow (``scipy.special.logsumexp`` costs ten times as long here)."""
    import numpy as np

    peak = np.max(a) if len(a) else -math.inf
    if not np.isfinite(peak):
        return float(peak)
    return float(peak + np.log(np.sum(np.exp(a - peak))))


def _convolution_power(p, n: int):
    """``(offset, q)``: the distribution of the sum of ``n`` independent draws from ``p`` (probabilities at
    0, 1, ...), as ``q[k] = P(sum = offset + k)``; exponentiation by squaring, values below ``_NEGLIGIBLE``
    of the peak dropped."""
    import numpy as np

    result_offset, result = 0, np.ones(1)
    base_offset, base = _trimmed(0, p)
    while True:
        if n & 1:
            result_offset, result = _trimmed(result_offset + base_offset, _convolve(result, base))
        n >>= 1
        if not n:
            return result_offset, result
        base_offset, base = _trimmed(2 * base_offset, _convolve(base, base))


def _convolve(a, b):
    """``numpy.convolve`` for short arrays (exact to rounding), FFT for long ones (rounding noise near 1e-16
    of the peak, which ``_trimmed`` removes)."""
    import numpy as np

    if min(len(a), len(b)) <= 64 or len(a) * len(b) <= 200_000:
        return np.convolve(a, b)
    size = len(a) + len(b) - 1
    nfft = 1 << (size - 1).bit_length()
    fa = np.fft.rfft(a, nfft)
    fb = fa if b is a else np.fft.rfft(b, nfft)
    return np.fft.irfft(fa * fb, nfft)[:size]


def _trimmed(offset: int, q):
    """``q`` with values below ``_NEGLIGIBLE`` of its peak (and negative FFT noise) set to zero, the zero
    ends cut off (``offset`` moved to match) and the rest rescaled to sum to one."""
    import numpy as np

    keep = q > q.max() * _NEGLIGIBLE
    first, last = np.flatnonzero(keep)[[0, -1]]
    q = np.where(keep, q, 0.0)[first : last + 1]
    return offset + int(first), q / q.sum()


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
