import importlib
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
importlib.import_module("collabgov")  # before any test imports jsonschema: see collabgov/__init__.py

ROOT = Path(__file__).resolve().parents[1]


def copy_tree(src: Path, dst: Path, ignore=None) -> Path:
    """A throw-away copy of a folder of the compendium: the files' contents only (copying their permissions and
    times as well made each copy four times slower on the test machine, and tests make hundreds)."""
    return Path(shutil.copytree(src, dst, ignore=ignore, copy_function=shutil.copyfile))


def compendium(root: Path, *sites: str, notebooks: bool = False, ignore=None) -> Path:
    """A throw-away compendium at ``root``: copies of the named sites (and the notebooks, when asked), and the
    Makefile by which the package knows a compendium's root."""
    for slug in sites:
        copy_tree(ROOT / "data" / slug, root / "data" / slug, ignore=ignore)
    if notebooks:
        copy_tree(ROOT / "notebooks", root / "notebooks")
    (root / "Makefile").write_text("# sandbox\n")
    return root


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def sandbox(tmp_path) -> Path:
    """A throw-away copy of the compendium's notebooks and data, to build into."""
    for name in ("notebooks", "data"):
        copy_tree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (tmp_path / "Makefile").write_text("# sandbox\n")
    return tmp_path


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


FAST = os.environ.get("TEST_FAST") == "1"  # `make test-fast`: the quick loop for a change to one module


def examples(thorough: int) -> int:
    """Examples per property-based test: all of them in `make test`, a fifth in `make test-fast` (TEST_FAST=1)."""
    return max(10, thorough // 5) if FAST else thorough


SITES_BUILT = ("pujud", "sintetis", "kota")  # every site the tests build; "kota" is a SYNTHETIC student site


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """Pujud, the synthetic demo site and a synthetic student site (a kota, three years, a Taguette import,
    one part left unfilled: a draft), built once through papermill into a temporary copy of the compendium."""
    from student_site import make_student_site

    from collabgov.build import build_sites

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # one worker builds them: the tests that use this build are one xdist group (see below)
        mark = tmp_path_factory.getbasetemp().parent / "built-by"
        try:
            with open(mark, "x") as fh:  # created by one worker only, however close their starts
                fh.write(worker)
        except FileExistsError:
            pytest.fail(f"the shared build was made by {mark.read_text()} and again by {worker}")
    root = tmp_path_factory.mktemp("compendium")
    for name in ("notebooks", "data"):
        copy_tree(ROOT / name, root / name)
    (root / "Makefile").write_text("# sandbox\n")
    make_student_site(root)
    assert build_sites(root, ["pujud", "sintetis"], jobs=2) == []
    assert build_sites(root, ["kota"], jobs=2, draft=True) == []
    return root


def text_of(html: str) -> str:
    """Visible text of an HTML page, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups into the test ids
def pytest_collection_modifyitems(items):
    """End-to-end tests that share the session's build go to one worker under xdist; the others (with a
    sandbox of their own) run beside them on the other worker."""
    for item in items:
        if "built" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("built"))
