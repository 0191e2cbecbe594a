"""Provenance names the commit the compendium is at and dates the documents with that commit, in a clone and in
a `git archive` copy alike; a plain copy of a work tree knows neither, and says so."""

import io
import shutil
import subprocess
import tarfile
from datetime import UTC, datetime

import pytest
import yaml

from collabgov import provenance
from conftest import ROOT, copy_tree

FIRST = "2024-03-01T10:00:00+07:00"
SECOND = "2024-05-02T09:30:00+07:00"


def git(root, *args, date=FIRST) -> str:
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/"}
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    out = subprocess.run(["git", "-C", str(root), *identity, *args], check=True, capture_output=True, env=env)
    return out.stdout.decode().strip()


def epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


@pytest.fixture
def clone(tmp_path):
    """A repository of Pujud's folder, the notebooks and the files `git archive` fills in, at its second commit
    (which changed only the README)."""
    repo = tmp_path / "repo"
    copy_tree(ROOT / "data/pujud", repo / "data/pujud")
    copy_tree(ROOT / "notebooks", repo / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name in (".gitattributes", ".git_archival.txt", "CITATION.cff"):
        shutil.copyfile(ROOT / name, repo / name)
    (repo / "README.md").write_text("first\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "first")
    (repo / "README.md").write_text("second\n")
    git(repo, "commit", "-qam", "second", date=SECOND)
    return repo


def archive(repo, dest):
    """``git archive HEAD`` of ``repo``, unpacked into ``dest``."""
    data = subprocess.run(["git", "-C", str(repo), "archive", "HEAD"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


@pytest.fixture(autouse=True)
def no_date_from_outside(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def test_a_clone_names_its_head_commit_and_dates_the_documents_with_it(clone):
    head = git(clone, "rev-parse", "HEAD")
    # HEAD, although the last commit changed neither the site nor the code
    assert provenance.revision(clone, "pujud") == {"commit": head, "dirty": False}
    assert provenance.source_date_epoch(clone) == epoch(SECOND)

    (clone / "data/baru").mkdir()  # a student's new site, not committed: not a change Pujud's outputs depend on
    (clone / "data/baru/site.yaml").write_text("kecamatan: Baru\n")
    assert provenance.revision(clone, "pujud")["dirty"] is False
    cases = clone / "data/pujud/cases.csv"
    cases.write_text(cases.read_text() + "\n")
    assert provenance.revision(clone, "pujud") == {"commit": head, "dirty": True}


def test_an_archive_names_the_commit_and_date_it_was_made_from_as_its_clone_does(clone, tmp_path):
    copy = archive(clone, tmp_path / "archive")
    assert "$Format" not in (copy / ".git_archival.txt").read_text()
    assert provenance.revision(copy, "pujud") == {"commit": git(clone, "rev-parse", "HEAD"), "dirty": None}
    assert provenance.source_date_epoch(copy) == provenance.source_date_epoch(clone)


def test_an_archive_unpacked_inside_another_clone_keeps_its_own_commit(clone):
    archived = git(clone, "rev-parse", "HEAD")
    copy = archive(clone, clone / "build" / "release")
    (clone / "README.md").write_text("third\n")
    git(clone, "commit", "-qam", "third", date="2024-06-03T08:00:00+07:00")
    assert provenance.revision(copy, "pujud")["commit"] == archived != git(clone, "rev-parse", "HEAD")
    assert provenance.source_date_epoch(copy) == epoch(SECOND)


def test_a_plain_copy_knows_no_commit_and_takes_the_citations_release_date(clone, tmp_path):
    copy = copy_tree(clone, tmp_path / "copy", ignore=shutil.ignore_patterns(".git"))
    assert "$Format:%H$" in (copy / ".git_archival.txt").read_text()  # not filled in: counts as unknown
    assert provenance.revision(copy, "pujud") == {"commit": None, "dirty": None}
    released = yaml.safe_load((ROOT / "CITATION.cff").read_text())["date-released"]
    assert provenance.source_date_epoch(copy) == int(
        datetime(released.year, released.month, released.day, tzinfo=UTC).timestamp()
    )


def test_source_date_epoch_from_the_environment_comes_first(clone, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert provenance.source_date_epoch(clone) == 1700000000
