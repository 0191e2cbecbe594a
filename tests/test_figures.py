"""The figure registry: every entry complete, in both languages; drawing functions keep to the print style."""

import string

import pytest

from collabgov import figures, plotting

SECTIONS = {"background", "background_process", "method", "stage"}


def test_every_registry_entry_is_complete_in_both_languages():
    keys = [f.key for f in figures.REGISTRY]
    assert len(keys) == len(set(keys))
    for f in figures.REGISTRY:
        assert f.data in ("cases", "coded") and f.section in SECTIONS and callable(f.draw), f.key
        assert f.source in ("cases", "coding", "process"), f.key
        for text in (f.caption, f.alt):
            assert set(text) == {"id", "en"} and all(text.values()), f.key
            fields = [{n for _, n, _, _ in string.Formatter().parse(text[lang]) if n} for lang in ("id", "en")]
            assert fields[0] == fields[1], f"{f.key}: the two languages use different fields"


@pytest.mark.parametrize("figure", [f for f in figures.REGISTRY if f.data == "cases"], ids=lambda f: f.key)
def test_case_table_figures_fit_the_column_and_fill_their_captions(figure, root):
    from collabgov.cases import load_case_table
    from collabgov.context import open_site

    ctx = open_site("pujud", "id", "/tmp", root)
    table = load_case_table(ctx.data_dir, "id", ctx.years)
    fig, values = figure.draw(table, ctx)
    fields = ctx.words() | values
    assert figure.caption["id"].format(**fields) and figure.alt["en"].format(**fields)
    assert plotting.min_font_size(fig) >= plotting.MIN_FONT
    assert fig.get_size_inches()[0] <= plotting.PRINT_WIDTH
    plotting.pyplot().close(fig)


def test_a_label_is_broken_between_words_never_inside_one():
    assert plotting.wrap("Membangun kepercayaan", 10) == "Membangun\nkepercayaan"
    assert plotting.wrap("Pemahaman-bersama yang tumbuh", 8).split("\n")[0] == "Pemahaman-bersama"


@pytest.mark.parametrize("lang", ["id", "en"])
def test_heatmap_labels_keep_whole_stage_names_and_cells_are_vector(lang, root):
    """The stage names over the heatmap's columns are whole words (printed 'kepercayaa / n' once); the cells are
    drawn as vector quads, so the SVG has no embedded bitmap."""
    import io

    from collabgov.coding import load_coded_data
    from collabgov.context import open_site

    ctx = open_site("pujud", lang, "/tmp", root)
    coded = load_coded_data(ctx.data_dir, lang)
    actor_stage = next(f for f in figures.REGISTRY if f.key == "actor_stage")
    fig, _ = actor_stage.draw(coded, ctx)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    stages = [coded.codebook.label(s, lang) for s in coded.codebook.stages]
    assert [t.replace("\n", " ") for t in ticks] == stages
    words = {w for s in stages for w in s.split()}
    assert all(part in words for t in ticks for line in t.split("\n") for part in line.split())
    svg = io.BytesIO()
    fig.savefig(svg, format="svg")
    assert b"<image" not in svg.getvalue()
    # the axis title stands apart from the column labels (2 px above them, it read as the middle label's first line)
    fig.canvas.draw()
    ax = fig.axes[0]
    title = ax.xaxis.label.get_window_extent()
    assert title.y0 - max(t.get_window_extent().y1 for t in ax.get_xticklabels()) >= 0.5 * title.height
    plotting.pyplot().close(fig)


@pytest.mark.parametrize("lang, point, other", [("id", ",", "."), ("en", ".", ",")])
def test_tick_numbers_are_written_as_the_report_writes_numbers(root, lang, point, other):
    """Suspects per case has fractional ticks (0.5 steps): Indonesian figures write 0,5, as their bar labels do."""
    from collabgov.cases import load_case_table
    from collabgov.context import open_site

    ctx = open_site("pujud", lang, "/tmp", root)
    figure = next(f for f in figures.REGISTRY if f.key == "suspects_per_case")
    fig, _ = figure.draw(load_case_table(ctx.data_dir, lang, ctx.years), ctx)
    plotting.numbers_in_language(fig, lang)
    fig.canvas.draw()
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert any(point in t for t in ticks) and not any(other in t for t in ticks), ticks
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2021", "2022"]  # an axis of words is left alone
    plotting.pyplot().close(fig)


def test_draw_all_leaves_no_figure_in_memory_and_the_collector_as_it_was(root, tmp_path, monkeypatch):
    """A notebook drawing many figures must not hold them all until Python's next collection (a kernel
    that drew the findings figures peaked at 340 MB)."""
    import gc

    from matplotlib.figure import Figure

    from collabgov.cases import load_case_table
    from collabgov.context import open_site

    ctx = open_site("pujud", "id", str(tmp_path), root)
    table = load_case_table(ctx.data_dir, "id", ctx.years)
    monkeypatch.setattr(
        figures, "REGISTRY", [f for f in figures.REGISTRY if f.data == "cases" and f.key != "trend"][:2]
    )
    gc.collect()  # figures other tests closed
    gc.disable()  # no collection but the ones draw_all makes
    try:
        shown = figures.draw_all(ctx, "cases", table)
        alive = [o for o in gc.get_objects() if isinstance(o, Figure)]
        frozen = gc.get_freeze_count()
    finally:
        gc.enable()
    assert shown and all(s.record["id"].endswith(".id") for s in shown)
    assert len(list((tmp_path / "figures").glob("*.en.png"))) == len(shown)  # drawn in every language
    assert alive == [] and frozen == 0


@pytest.mark.parametrize(
    "counts",
    [None, [(14, 23), (9, 30), (20, 12)], [(5, 5), (5, 5)], [(3, 10), (12, 4), (12, 9), (2, 2)]],
    ids=["pujud", "up-and-down", "level", "four-years"],
)
def test_no_number_on_the_trend_chart_is_crossed_by_a_line(counts, root):
    """Printed, the line from 14 to 15 ran through the '15' beside the 2022 point. Synthetic counts try lines
    that rise, fall and stay level on both sides of a label."""
    from collabgov.cases import load_case_table
    from collabgov.context import open_site

    ctx = open_site("pujud", "id", "/tmp", root)
    table = load_case_table(ctx.data_dir, "id", ctx.years)
    if counts:
        first = int(table["year"].iloc[0])
        table = table.iloc[[0] * len(counts)].reset_index(drop=True)
        table["year"] = [first + i for i in range(len(counts))]
        table["cases"] = [c for c, _ in counts]
        table["suspects"] = [s for _, s in counts]
    fig, _ = plotting.case_trend(table, ctx)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_text().strip().isdigit()]
    assert len(labels) == 2 * len(table)
    drawn = [
        line.get_transform().transform_path(line.get_path()) for line in ax.lines if line.get_linestyle() != "None"
    ]
    drawn += [bars.get_transform().transform_path(path) for bars in ax.collections for path in bars.get_paths()]
    assert drawn
    for path in drawn:  # the lines between points and the interval bars
        for text in labels:
            assert not path.intersects_bbox(text.get_window_extent(renderer), filled=False), text.get_text()
    plotting.pyplot().close(fig)
