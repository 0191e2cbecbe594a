"""The SYNTHETIC example exports in templates/examples/ (one per import format the guide shows) import into a
new site, and tests/fixtures/example_exports.py reproduces them byte for byte."""

from pathlib import Path

import pytest
from example_exports import FILES, QDPX_CODES, TAGUETTE_DESCRIPTIONS, TAGUETTE_HIGHLIGHTS, write_all

from collabgov.scaffold import new_site
from collabgov.site_import import import_into_site
from collabgov.tables import read_table

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "templates" / "examples"


def _paths(tree: dict, prefix: str = "") -> set[str]:
    """Every code path of a nested code dict, parents included ('Tahap', 'Tahap/Dialog', ...)."""
    out = set()
    for name, children in tree.items():
        path = f"{prefix}/{name}" if prefix else name
        out |= {path} | _paths(children, path)
    return out


def _tag_paths(tags) -> set[str]:
    """Taguette tags ('aktor.lurah') as code paths, with the parents the import makes of them ('aktor')."""
    out = set()
    for tag in tags:
        parts = tag.split(".")
        out |= {"/".join(parts[:n]) for n in range(1, len(parts) + 1)}
    return out


HIGHLIGHT_TAGS = _tag_paths(tag for _, _, _, tags in TAGUETTE_HIGHLIGHTS for tag in tags)
# file -> (segments, codes, informants) the import must report, and the code paths of its code_mapping
EXPECTED = {
    "refi-qda-contoh.qdpx": ((12, 18, 2), _paths(QDPX_CODES)),
    "taguette-sorotan-contoh.csv": ((8, 17, 2), HIGHLIGHT_TAGS),
    "taguette-sorotan-contoh.xlsx": ((8, 17, 2), HIGHLIGHT_TAGS),
    "taguette-bukukode-contoh.csv": ((0, 17, 0), _tag_paths(TAGUETTE_DESCRIPTIONS)),
}


@pytest.fixture
def contoh(tmp_path, monkeypatch) -> Path:
    """A new SYNTHETIC site, as a student starts one, run from the project folder (messages show data/...)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    new_site(tmp_path, "contoh", "Contoh", "Contoh", [2023, 2024], synthetic=True)
    return tmp_path


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_imports_into_a_new_site_and_lists_every_code_for_mapping(contoh, name):
    (segments, codes, informants), paths = EXPECTED[name]
    lines = import_into_site(contoh, "contoh", EXAMPLES / name)
    assert lines[0] == f"{name} diimpor: {segments} segmen, {codes} kode, {informants} informan", lines
    folder = contoh / "data" / "contoh"
    for table, rows in (("segments", segments), ("informants", informants), ("code_mapping", codes)):
        assert f"  data/contoh/{table}.csv: {rows} baris" in lines, lines
        assert len(read_table(folder / f"{table}.csv").rows) == rows
    segment_table = read_table(folder / "segments.csv")
    column = segment_table.header.index("codes")
    used = {c for row in segment_table.rows for c in row[column].split(";") if c}
    todo = [line for line in lines if "belum dipetakan" in line]  # the same to-dos as `make validate` lists
    if used:
        assert todo == [
            f"{len(used)} kode impor belum dipetakan: isi kolom stage, family, atau same_as di code_mapping.csv"
        ]
    else:
        assert todo == []
    mapping = read_table(folder / "code_mapping.csv")
    assert mapping.header == ["code", "path", "uses", "stage", "family", "same_as"]
    assert {row[1] for row in mapping.rows} == paths and len(mapping.rows) == len(paths)
    assert all(row[3:] == ["", "", ""] for row in mapping.rows)  # placing each code is the student's work


def test_every_example_is_labelled_synthetic():
    for name in FILES:
        data = (EXAMPLES / name).read_bytes()
        assert b"SINTETIS" in data and (name != "README.md" or b"SYNTHETIC" in data), name
    for name in ("taguette-sorotan-contoh.csv", "taguette-bukukode-contoh.csv"):
        raw = read_table(EXAMPLES / name)
        assert all(any("SINTETIS" in cell or "sintetis" in cell for cell in row) for row in raw.rows), name


def test_the_generator_reproduces_the_committed_examples_byte_for_byte(tmp_path):
    written = write_all(tmp_path)
    assert [p.name for p in written] == list(FILES)
    assert sorted(p.name for p in EXAMPLES.iterdir()) == sorted(FILES)
    for path in written:
        assert path.read_bytes() == (EXAMPLES / path.name).read_bytes(), (
            f"templates/examples/{path.name} differs from what tests/fixtures/example_exports.py writes: "
            "run the script and commit its output"
        )
