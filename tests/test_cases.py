"""The case-table statistics against values computed independently (../shared/NOTES.md, scipy 1.17)."""

import math

import pandas as pd
import pytest

from collabgov import cases
from collabgov.errors import DataError
from conftest import write


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
    for x_from in range(0, 40, 3):
        for x_to in range(0, 40):
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
