"""Coded data: cross-table checks with clear messages, and the counts on a SYNTHETIC fixture."""

import pytest

from collabgov import coding, plotting
from collabgov.errors import DataError
from conftest import ROOT, copy_tree, write

FIXTURE = ROOT / "tests" / "fixtures" / "synthetic_coding"


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "coded"
    copy_tree(FIXTURE, folder)
    return folder


def problems(folder) -> list[str]:
    with pytest.raises(DataError) as exc:
        coding.load_coded_data(folder)
    return [str(p) for p in exc.value.problems]


def replace_line(path, old, new):
    path.write_text(path.read_text().replace(old, new))


def test_stages_come_from_the_codebook_in_their_order(site):
    data = coding.load_coded_data(site)
    assert data.codebook.stages == ["meet", "plan", "act"]
    assert data.codebook.subcodes("meet") == ["agenda", "agenda_shared"]
    assert data.codebook.root("agenda_shared") == "meet"
    assert data.codebook.diagram_actors() == ["mayor", "guard"]


def test_segments_per_stage(site):
    table = coding.segments_per_stage(coding.load_coded_data(site), "en")
    assert list(table["label"]) == ["Meeting", "Planning", "Action"]
    assert list(table["segments"]) == [2, 1, 1]
    assert list(table["findings"]) == [2, 0, 1]
    assert table["share"].sum() == pytest.approx(1.0)


def test_actor_by_stage_and_subcode_matrices(site):
    data = coding.load_coded_data(site)
    actors = coding.code_matrix(data, "actor", "en")
    assert actors.loc["Mayor"].tolist() == [2, 0, 0]
    assert actors.loc["Guard"].tolist() == [1, 0, 1]
    assert actors.loc["Youth"].tolist() == [0, 0, 0]
    sub = coding.code_matrix(data, "subcode", "en")
    assert sub.loc["Shared agenda", "Meeting"] == 1 and sub.loc["Agenda", "Meeting"] == 0
    activities = coding.code_matrix(data, "activity", "en", include_documents=True)
    assert activities.loc["Clean-up", "Action"] == 2


def test_triangulation_keeps_conclusions_apart_from_interview_evidence(site):
    """Columns: interview findings, documentation, the author's conclusions; restated theory is not evidence."""
    tri = coding.triangulation(coding.load_coded_data(site), "en")
    assert list(tri.columns) == ["interview", "documentation", "synthesis"]
    assert tri.loc["Meeting"].tolist() == [2, 0, 0]
    assert tri.loc["Planning"].tolist() == [0, 0, 0]
    assert tri.loc["Action"].tolist() == [0, 1, 1]


def test_findings_table_and_stage_profile(site):
    data = coding.load_coded_data(site)
    table = coding.findings(data, "act", "id")
    assert list(table["segment"]) == ["X4", "P1"] and table["text"][0] == "Empat"
    profile = coding.stage_profile(data, "act", "en")
    assert dict(zip(profile["code"], profile["count"])) == {"guard": 1, "cleanup": 2}


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "mayor;guard",
            "mayor;gaurd",
            "segments.csv:3: codes: unknown code 'gaurd': expected a code from the codebook",
        ),
        (
            "synthesis,act,",
            "synthesis,acting,",
            "segments.csv:5: stage: stage 'acting' is not in the codebook: expected one of meet, plan, act",
        ),
        ("X2,", "X1,", "segments.csv:3: segment_id: duplicate value 'X1': it is already in row 2"),
        ("X3,Transcript B,1,", "X3,,1,", "segments.csv:4: section: a value is required here: expected text"),
        (
            ",B,c2,",
            ",C,c2,",
            "segments.csv:5: informant: unknown informant 'C': expected an informant_id from the informants table or 'unattributed'",
        ),
    ],
    ids=["unknown-code", "stage-not-in-codebook", "duplicate-segment-id", "missing-locator", "bad-informant"],
)
def test_one_bad_cell_in_segments(site, old, new, expected):
    replace_line(site / "segments.csv", old, new)
    assert problems(site) == [f"{site}/{expected}"]


def test_unknown_parent_and_loops_in_the_codebook(site):
    replace_line(site / "codebook.csv", "agenda,meet,", "agenda,agenda_shared,")
    assert any("loop back" in p for p in problems(site))
    replace_line(site / "codebook.csv", "agenda,agenda_shared,", "agenda,nothing,")
    assert problems(site) == [
        f"{site}/codebook.csv:5: parent: unknown parent code 'nothing': expected a code listed in the 'code' column"
    ]


def test_all_problems_of_all_tables_are_listed_together(site):
    replace_line(site / "segments.csv", "mayor;guard", "mayor;gaurd")
    write(site / "informants.csv", "informant_id,role_id,role_en,role_status,basis_id,basis_en\nA,x,y,maybe,z,z\n")
    found = problems(site)
    assert any("informants.csv:2: role_status: expected one of: stated, inferred, not_reported" in p for p in found)


def test_process_diagram_from_a_different_actor_list(site):
    """The diagram draws the site's own stages and actors: nothing of Pujud's is built in."""
    from collabgov.context import SiteContext
    from collabgov.sites import Site

    data = coding.load_coded_data(site)
    ctx = SiteContext(Site("x", site, {"default_language": "en"}), "en", site)
    fig, values = plotting.process_diagram(data, ctx)
    texts = [t.get_text().replace("\n", " ") for t in fig.axes[0].texts]
    stages = [data.codebook.label(s, "en") for s in data.codebook.stages]
    assert sum(t.startswith(("1.", "2.", "3.")) for t in texts) == len(stages) == values["n"]
    assert all(data.codebook.label(a, "en") in texts for a in data.codebook.diagram_actors())
    assert len(fig.axes[0].patches) == 1 + len(stages)  # the ring and one arrow per stage in the cycle
    plotting.pyplot().close(fig)


def test_pujud_coding_meets_the_study(root):
    data = coding.load_coded_data(root / "data" / "pujud")
    table = coding.segments_per_stage(data, "en")
    assert len(data.segments) >= 20 and len(table) == 5 and (table["findings"] >= 3).all()
    assert set(data.segments["informant"]) == {"unattributed"}  # the article attributes no statement
    assert len(data.informants) == 7 and len(data.documents) == 3


def test_an_imported_code_left_unmapped_is_named_in_the_report_language():
    """A parent code nobody used (Taguette's 'aktor' once its children are mapped) stays in the codebook
    appendix; its family was printed as the raw word 'imported' in the Indonesian report."""
    from collabgov.i18n import family_label

    assert family_label(coding.IMPORTED, "id") == "kode impor"
    assert family_label(coding.IMPORTED, "en") == "imported code"
