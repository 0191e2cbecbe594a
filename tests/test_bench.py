"""make bench's floor: the work no build can skip, summed over the cores or along the longest chain of steps."""

from collabgov.bench import floor

KERNEL = {"01_case_table": 2.0, "02_stage_findings": 1.5, "report": 1.0}
FIGS = {"01_case_table": {"trend.id": 1.0}, "02_stage_findings": {"process.id": 6.0}}
EXPORTS = {"id": {"html": 0.5, "pdf": 4.0, "docx": 0.5}, "en": {"html": 0.5, "pdf": 5.0, "docx": 0.5}}
ALL = ["01_case_table", "02_stage_findings", "report.id", "report.en"]


def test_on_two_cores_the_longest_chain_is_the_slowest_notebook_then_the_slowest_export():
    best, pieces, chain = floor(KERNEL, FIGS, EXPORTS, ALL, ["id", "en"], cores=2)
    assert pieces == 3.0 + 7.5 + 2 * 1.0 + 5.0 + 6.0
    assert chain == 7.5 + 1.0 + 6.0  # 02, then report.en: its kernel with its imports, and its exports
    assert best == max(pieces / 2, chain)


def test_on_one_core_every_piece_is_on_the_way():
    best, pieces, chain = floor(KERNEL, FIGS, EXPORTS, ALL, ["id", "en"], cores=1)
    assert best == pieces == 23.5
    assert chain == 7.5 + 1.0 + 6.0


def test_a_rebuild_of_one_notebook_counts_only_its_pieces():
    best, pieces, chain = floor(KERNEL, FIGS, EXPORTS, ["01_case_table", "report.id", "report.en"], ["id", "en"], 2)
    assert pieces == 3.0 + 2 * 1.0 + 5.0 + 6.0
    assert chain == 3.0 + 1.0 + 6.0 and best == max(pieces / 2, chain)


def test_with_many_short_pieces_the_floor_is_their_sum_over_the_cores():
    langs = ["id", "en", "fr", "de"]  # four reports, each short
    exports = {lang: {"html": 0.5, "pdf": 4.0, "docx": 0.5} for lang in langs}
    steps = ["01_case_table", "02_stage_findings"] + [f"report.{lang}" for lang in langs]
    best, pieces, chain = floor(KERNEL, FIGS, exports, steps, langs, cores=2)
    assert chain == 7.5 + 1.0 + 5.0 and pieces == 3.5 + 7.0 + 4 * 1.0 + 4 * 5.0
    assert best == pieces / 2


def test_the_export_pieces_are_timed_as_a_build_exports(built, tmp_path):
    from collabgov.bench import export_pieces

    times = export_pieces(built / "reports" / "pujud" / "executed" / "report.id.ipynb", "id", tmp_path)
    assert set(times) == {"html", "pdf", "docx"} and all(t > 0 for t in times.values())
    assert all((tmp_path / f"report.id.{kind}").stat().st_size > 0 for kind in times)
