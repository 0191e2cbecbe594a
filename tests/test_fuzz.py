"""No input file, however broken, gives a traceback: every loader is fed random bytes and damaged copies of
good files, and may only return or raise DataError (which the command line prints as file: problem)."""

import io
import random
import shutil
import zipfile

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from collabgov import qda_files, texts
from collabgov.errors import DataError
from collabgov.sites import load_site, read_parameters
from collabgov.tables import load_table, read_table
from collabgov.validation import validate_site
from conftest import FAST, ROOT, copy_tree, examples

SETTINGS = settings(
    max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def damaged(data: bytes, seed: int) -> bytes:
    """A copy of ``data`` with a few bytes changed, a piece cut out, or cut short."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    if rng.random() < 0.3 and len(out) > 10:
        a = rng.randrange(len(out) - 5)
        del out[a : a + rng.randint(1, 50)]
    if rng.random() < 0.3:
        out = out[: rng.randrange(len(out) + 1)]
    return bytes(out)


def only_data_errors(call):
    try:
        call()
    except DataError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)


def good_xlsx() -> bytes:
    return (ROOT / "data/sintetis/cases.xlsx").read_bytes()


def good_qdpx() -> bytes:
    return (ROOT / "data/sintetis/import/wawancara-sintetis.qdpx").read_bytes()


@SETTINGS
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".tsv", ".txt", ".xlsx"]))
def test_tables_from_random_bytes(tmp_path, data, suffix):
    path = tmp_path / f"cases{suffix}"
    path.write_bytes(data)
    only_data_errors(lambda: load_table(tmp_path, "cases", "id"))


@SETTINGS
@given(seed=st.integers(0, 10**9))
def test_damaged_workbooks(tmp_path, seed):
    path = tmp_path / "cases.xlsx"
    path.write_bytes(damaged(good_xlsx(), seed))
    only_data_errors(lambda: read_table(path, "id", within=tmp_path))


@SETTINGS
@given(data=st.binary(max_size=3000))
def test_site_yaml_from_random_bytes(tmp_path, data):
    path = tmp_path / "site.yaml"
    path.write_bytes(data)
    only_data_errors(lambda: read_parameters(path))


@SETTINGS
@given(text=st.text(max_size=400))
def test_site_yaml_from_random_text(tmp_path, text):
    path = tmp_path / "site.yaml"
    path.write_text(text, "utf-8")
    only_data_errors(lambda: read_parameters(path))


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_report_texts_from_random_bytes(tmp_path, data):
    (tmp_path / "text/id").mkdir(parents=True, exist_ok=True)
    (tmp_path / "text/id/abstract.md").write_bytes(data)
    texts.check(tmp_path, "id", "abstract", {"cases_total"}, "id")  # problems are returned, never raised


@SETTINGS
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".qdpx", ".csv", ".xlsx"]))
def test_qda_exports_from_random_bytes(tmp_path, data, suffix):
    path = tmp_path / f"export{suffix}"
    path.write_bytes(data)
    only_data_errors(lambda: qda_files.read_any(path, "id"))


@SETTINGS
@given(seed=st.integers(0, 10**9))
def test_damaged_qdpx(tmp_path, seed):
    path = tmp_path / "project.qdpx"
    path.write_bytes(damaged(good_qdpx(), seed))
    only_data_errors(lambda: qda_files.read_qdpx(path, "id"))


@SETTINGS
@given(seed=st.integers(0, 10**9))
@example(seed=576)  # its XML declares the encoding 'utd-8', unknown to Python (it was a LookupError)
def test_damaged_project_xml_inside_a_good_zip(tmp_path, seed):
    with zipfile.ZipFile(io.BytesIO(good_qdpx())) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    qde = next(n for n in members if n.lower().endswith(".qde"))
    members[qde] = damaged(members[qde], seed)
    path = tmp_path / "project.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    only_data_errors(lambda: qda_files.read_qdpx(path, "id"))


@pytest.mark.parametrize(
    "name",
    [
        "site.yaml",
        "cases.xlsx",
        "codebook.csv",
        "informants.csv",
        "segments.csv",
        "documents.xlsx",
        "claims.xlsx",
        "sources.csv",
        "code_mapping.csv",
    ],
)
@pytest.mark.parametrize("seed", range(2 if FAST else 4))  # damaged bytes, then random bytes, alternately
def test_a_whole_site_with_one_damaged_file_validates_without_traceback(tmp_path, name, seed):
    copy_tree(ROOT / "data/sintetis", tmp_path / "data/sintetis", ignore=shutil.ignore_patterns("import"))
    path = tmp_path / "data/sintetis" / name
    path.write_bytes(damaged(path.read_bytes(), seed) if seed % 2 else random.Random(seed).randbytes(500))
    only_data_errors(lambda: validate_site(load_site(tmp_path, "sintetis")))
