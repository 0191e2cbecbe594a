"""The case-table statistics against values computed independently (../shared/NOTES.md, scipy 1.17)."""

import math

import pandas as pd
import pytest

from collabgov import cases
from collabgov.errors import DataError
from conftest import FAST, examples, write


@pytest.mark.parametrize("x, low, high", [(14, 7.65, 23.49), (15, 8.40, 24.74), (23, 14.58, 34.51)])
def test_garwood_interval_matches_published_values(x, low, high):
    lo, hi = cases.garwood_interval(x)
    assert round(lo, 2) == low and round(hi, 2) == high


def test_garwood_interval_of_zero_starts_at_zero():
    lo, hi = cases.garwood_interval(0)
    assert lo == 0 and hi == pytest.approx(3.689, abs=1e-3)


def test_rate_ratio_for_cases_and_suspects():
    rr, lo, hi, p = cases.rate_ratio_test(14, 15)
    assert (round(rr, 3), round(lo, 3), round(hi, 3), round(p, 3)) == (1.071, 0.482, 2.396, 1.0)
    rr, lo, hi, p = cases.rate_ratio_test(23, 23)
    assert (round(rr, 3), round(lo, 3), round(hi, 3), round(p, 3)) == (1.0, 0.536, 1.865, 1.0)


def test_rate_ratio_detects_a_real_change():
    rr, lo, hi, p = cases.rate_ratio_test(14, 40)
    assert p < 0.01 and lo > 1


def test_rate_ratio_with_no_events_is_undefined_not_an_error():
    rr, lo, hi, p = cases.rate_ratio_test(0, 0)
    assert math.isnan(rr) and p == 1.0


def test_smallest_significant_change_from_14():
    assert cases.significance_bounds(14) == (4, 28)
    # and the bounds really are the edges: one step inside is not significant
    assert cases.rate_ratio_test(14, 5)[3] >= 0.05 and cases.rate_ratio_test(14, 27)[3] >= 0.05


def test_summary_and_comparisons_of_the_pujud_table():
    table = pd.DataFrame({"year": [2021, 2022], "cases": [14, 15], "suspects": [23, 23], "source": ["s", "s"]})
    assert cases.totals(table) == {"cases": 29, "suspects": 46}
    summary = cases.yearly_summary(table)
    assert list(summary["suspects_per_case"].round(2)) == [1.64, 1.53]
    by_measure = {c.measure: c for c in cases.compare_years(table)}
    assert by_measure["cases"].change == 1 and round(by_measure["cases"].relative_change, 3) == 0.071
    assert by_measure["suspects"].change == 0 and not by_measure["suspects"].significant


def test_statistics_agree_with_scipy_stats_over_a_grid_of_counts():
    from scipy import stats

    for x in range(0, 80):
        lo, hi = cases.garwood_interval(x)
        assert lo == pytest.approx(stats.chi2.ppf(0.025, 2 * x) / 2 if x else 0.0, rel=1e-9)
        assert hi == pytest.approx(stats.chi2.ppf(0.975, 2 * x + 2) / 2, rel=1e-9)
    for x_from in range(0, 40, 9 if FAST else 3):  # test-fast: a third of the first counts, a quarter of the second
        for x_to in range(0, 40, 40 // examples(40)):
            n = x_from + x_to
            if n == 0:
                continue
            result = stats.binomtest(x_to, n, 0.5)
            ci = result.proportion_ci(confidence_level=0.95, method="exact")
            rr, lo, hi, p = cases.rate_ratio_test(x_from, x_to)
            assert p == pytest.approx(min(1.0, result.pvalue), rel=1e-6), (x_from, x_to)
            ratio = lambda q: math.inf if q >= 1 else q / (1 - q)
            assert lo == pytest.approx(ratio(ci.low), rel=1e-6, abs=1e-12), (x_from, x_to)
            assert hi == pytest.approx(ratio(ci.high), rel=1e-6), (x_from, x_to)


def load_errors(folder, lang="en", years=None) -> list[str]:
    with pytest.raises(DataError) as exc:
        cases.load_case_table(folder, lang, years)
    return [str(p) for p in exc.value.problems]


def test_years_must_follow_each_other_without_gaps(tmp_path):
    write(tmp_path / "cases.csv", "year,cases,suspects,source\n2020,1,1,P\n2021,1,1,P\n2023,1,1,P\n2024,1,1,P\n")
    assert load_errors(tmp_path) == [
        f"{tmp_path}/cases.csv:4: year: years must follow each other without gaps: expected 2022, found 2023"
    ]
    assert load_errors(tmp_path, "id") == [
        f"{tmp_path}/cases.csv:4: year: tahun harus berurutan tanpa celah: seharusnya 2022, tertulis 2023"
    ]


def test_consecutive_years_load(tmp_path):
    write(tmp_path / "cases.csv", "year,cases,suspects,source\n2020,1,2,P\n2021,3,4,P\n2022,5,6,P\n")
    assert list(cases.load_case_table(tmp_path)["year"]) == [2020, 2021, 2022]


def test_a_single_year_is_too_few(tmp_path):
    write(tmp_path / "cases.csv", "year,cases,suspects,source\n2021,14,23,P\n")
    assert load_errors(tmp_path) == [
        f"{tmp_path}/cases.csv: year: at least two years are needed to compare counts between years; the table has 1"
    ]
    assert load_errors(tmp_path, "id") == [
        f"{tmp_path}/cases.csv: year: paling sedikit dua tahun diperlukan untuk membandingkan jumlah antartahun; tabel ini berisi 1"
    ]


def test_a_table_without_rows_names_both_problems(tmp_path):
    write(tmp_path / "cases.csv", "year,cases,suspects,source\n")
    assert load_errors(tmp_path, years=[2021, 2022]) == [
        f"{tmp_path}/cases.csv: year: the case table's years () differ from the site's years in site.yaml (2021, 2022)",
        f"{tmp_path}/cases.csv: year: at least two years are needed to compare counts between years; the table has 0",
    ]


def trend(counts, first_year=2020, level=0.95):
    table = pd.DataFrame(
        {"year": range(first_year, first_year + len(counts)), "cases": counts, "suspects": counts, "source": "s"}
    )
    return cases.trend_test(table, "cases", level)


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b or a == pytest.approx(b, rel=1e-9, abs=1e-300)


def test_trend_over_two_years_is_the_rate_ratio_test():
    pairs = [(x_from, x_to) for x_from in range(0, 30, 2) for x_to in range(0, 30)]
    pairs += [(1, 39), (39, 1), (40000, 41000), (45000, 55000), (20000, 19000)]  # the last three by FFT
    for x_from, x_to in pairs:
        t = trend([x_from, x_to])
        expected = cases.rate_ratio_test(x_from, x_to)
        found = (t.rate_ratio, t.ci_low, t.ci_high, t.p_value)
        assert all(same(a, b) for a, b in zip(found, expected)), (x_from, x_to, found, expected)


def exact_tails(counts, b):
    """P_b(T >= t_obs) and P_b(T <= t_obs), from the exact number of ways to draw each total T."""
    n, t_obs = sum(counts), sum(t * x for t, x in enumerate(counts))
    ways = [1]
    for _ in range(n):  # multiply by the polynomial 1 + z + ... + z^(K-1), in integers
        ways = [
            sum(ways[s - t] for t in range(len(counts)) if 0 <= s - t < len(ways))
            for s in range(len(ways) + len(counts) - 1)
        ]
    weights = [c * math.exp(b * s) for s, c in enumerate(ways)]
    total = sum(weights)
    return sum(weights[t_obs:]) / total, sum(weights[: t_obs + 1]) / total


@pytest.mark.parametrize("counts", [[3, 5, 9, 8], [6, 2, 1], [0, 4, 1, 0, 2], [2, 0, 0, 1]])
def test_trend_interval_and_p_value_invert_the_exact_tails(counts):
    t = trend(counts)
    assert exact_tails(counts, math.log(t.ci_low))[0] == pytest.approx(0.025, rel=1e-8)
    assert exact_tails(counts, math.log(t.ci_high))[1] == pytest.approx(0.025, rel=1e-8)
    assert t.p_value == pytest.approx(min(1.0, 2 * min(exact_tails(counts, 0.0))), rel=1e-9)


def poisson_regression_slope(x) -> float:
    """The maximum-likelihood b of the (unconditional) Poisson regression log(mu_t) = a + b t."""
    import numpy as np
    from scipy.optimize import root

    x, t = np.asarray(x), np.arange(len(x))

    def score(ab):  # and its derivative
        mu = np.exp(ab[0] + ab[1] * t)
        return [(x - mu).sum(), (x - mu) @ t], -np.array([[mu.sum(), mu @ t], [mu @ t, mu @ t**2]])

    fit = root(score, [math.log(x.mean()), 0.0], jac=True, tol=1e-12)
    assert fit.success, fit.message
    return fit.x[1]


def test_conditional_estimate_is_the_poisson_regression_estimate():
    import numpy as np

    rng = np.random.default_rng(20240607)
    for k in (3, 4, 6, 9, 12):
        x = list(rng.poisson(rng.uniform(2, 40) * np.exp(rng.uniform(-0.3, 0.3) * np.arange(k))))
        assert math.log(trend(x).rate_ratio) == pytest.approx(poisson_regression_slope(x), abs=1e-8), x


def test_trend_interval_covers_the_true_trend_at_the_nominal_rate():
    import numpy as np

    rng = np.random.default_rng(7)
    b, years = 0.2, list(range(2020, 2025))
    covered = []
    for _ in range(400):
        x = rng.poisson(6 * np.exp(b * np.arange(len(years))))
        _, low, high, _ = cases.poisson_trend_test(years, list(x))
        covered.append(low <= math.exp(b) <= high)
    assert 0.93 <= np.mean(covered) <= 0.99  # exact intervals are conservative, but not without limit


def test_rising_table_is_a_trend_and_flat_one_is_not():
    rising = trend([10, 15, 22, 30, 41])
    assert rising.p_value < 0.05 and rising.significant and 1 < rising.ci_low < rising.rate_ratio < rising.ci_high
    flat = trend([20, 20, 20, 20])
    assert flat.rate_ratio == pytest.approx(1) and flat.p_value == 1.0 and not flat.significant


def test_trend_with_every_event_in_one_end_year():
    first = trend([12, 0, 0])
    assert (first.rate_ratio, first.ci_low) == (0.0, 0.0)
    r = first.ci_high  # the bound where all 12 events falling in the first year has probability 2.5%
    assert (1 / (1 + r + r**2)) ** 12 == pytest.approx(0.025, rel=1e-9)
    assert first.p_value == pytest.approx(2 * 3.0**-12, rel=1e-12)
    last = trend([0, 0, 0, 7])
    assert (last.rate_ratio, last.ci_high) == (math.inf, math.inf)
    r = last.ci_low
    assert (r**3 / (1 + r + r**2 + r**3)) ** 7 == pytest.approx(0.025, rel=1e-9)


def test_trend_without_events_is_undefined_not_an_error():
    t = trend([0, 0, 0])
    assert math.isnan(t.rate_ratio) and (t.ci_low, t.ci_high, t.p_value) == (0.0, math.inf, 1.0)


def test_trend_needs_two_years():
    with pytest.raises(ValueError):
        trend([5])


def test_trend_of_large_counts_finishes():
    counts = [4000 + 150 * k for k in range(10)]  # about 50 000 events
    t = trend(counts)
    assert t.ci_low < t.rate_ratio < t.ci_high and t.p_value < 1e-10


def test_trend_tests_cover_each_measure():
    table = pd.DataFrame(
        {"year": [2021, 2022, 2023], "cases": [4, 6, 9], "suspects": [9, 7, 5], "source": ["s", "s", "s"]}
    )
    found = cases.trend_tests(table)
    assert [t.measure for t in found] == ["cases", "suspects"]
    assert found[0].years == [2021, 2022, 2023] and found[1].counts == [9, 7, 5]
    assert found[0].rate_ratio > 1 > found[1].rate_ratio and found[0].method == "exact_conditional_poisson_trend"
