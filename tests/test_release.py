"""`make release`: the committed source with every committed site built inside it, checksums and citation
metadata, packed the same way every time; refused on uncommitted changes."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import zipfile
from datetime import datetime

import pytest
import yaml

from collabgov import release as rel
from collabgov.cli import main
from collabgov.errors import UsageError
from conftest import ROOT, copy_tree

DATE = "2024-05-02T09:30:00+07:00"


def git(root, *args) -> str:
    env = {"GIT_AUTHOR_DATE": DATE, "GIT_COMMITTER_DATE": DATE, "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/"}
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    out = subprocess.run(["git", "-C", str(root), *identity, *args], check=True, capture_output=True, env=env)
    return out.stdout.decode().strip()


def repository(root, *sites):
    """A clone holding the named sites, the notebooks and the project's metadata, all committed."""
    for slug in sites:
        copy_tree(ROOT / "data" / slug, root / "data" / slug)
    copy_tree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name in (".gitattributes", ".git_archival.txt", "CITATION.cff", ".zenodo.json", "pyproject.toml"):
        shutil.copyfile(ROOT / name, root / name)
    (root / "Makefile").write_text("# sandbox\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    return root


def test_zenodo_metadata_says_what_citation_cff_says():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text("utf-8"))
    zenodo = json.loads((ROOT / ".zenodo.json").read_text("utf-8"))
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert zenodo["title"] == cff["title"]
    assert zenodo["version"] == str(cff["version"]) == version  # the archive is named after pyproject's
    assert zenodo["publication_date"] == str(cff["date-released"])
    assert zenodo["license"] == cff["license"]
    assert zenodo["keywords"] == cff["keywords"]
    assert [c["name"] for c in zenodo["creators"]] == [a["name"] for a in cff["authors"]]
    dois = {r["doi"] for r in cff["references"] if "doi" in r}
    assert {r["identifier"] for r in zenodo["related_identifiers"]} == dois
    assert len(zenodo["references"]) == len(cff["references"])


def test_a_release_is_refused_with_one_line_on_uncommitted_changes_or_outside_a_clone(tmp_path, monkeypatch, capsys):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "data").mkdir()
    (root / "Makefile").write_text("# sandbox\n")
    (root / "pyproject.toml").write_text('[project]\nversion = "1.0"\n')
    monkeypatch.setenv("COLLABGOV_ROOT", str(root))
    monkeypatch.setenv("COLLABGOV_LANG", "en")
    with pytest.raises(UsageError, match="git clone"):
        rel.check_clean(root, "en")

    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    (root / "untracked.txt").write_text("not in git archive: no matter\n")
    rel.check_clean(root, "en")
    (root / "Makefile").write_text("# changed\n")
    assert main(["release"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: 1 tracked file(s) with uncommitted changes (Makefile, per `git status`); "
        "commit or stash them, then run `make release` again"
    ]
    assert not (root / "dist").exists() and not (root / "build").exists()


def test_the_archives_are_the_same_bytes_whenever_the_files_are_the_same(tmp_path):
    stage = tmp_path / "collabgov-9.9"
    (stage / "b").mkdir(parents=True)
    (stage / "b" / "z.txt").write_text("z\n")
    (stage / "a.txt").write_text("a\n")
    (stage / "run").write_text("#!/bin/sh\n")
    (stage / "run").chmod(0o755)
    rel.write_checksums(stage)
    packed = []
    for attempt, mtime in enumerate((1_600_000_000, 1_700_000_000)):
        for path in stage.rglob("*"):
            os.utime(path, (mtime, mtime))  # the files' own dates do not matter
        tar, zipped = tmp_path / f"{attempt}.tar.gz", tmp_path / f"{attempt}.zip"
        rel.pack_tar(stage, tar, 1_714_617_000)
        rel.pack_zip(stage, zipped, 1_714_617_000)
        packed.append((tar.read_bytes(), zipped.read_bytes()))
    assert packed[0] == packed[1]

    with tarfile.open(tmp_path / "0.tar.gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == [
        "collabgov-9.9",
        "collabgov-9.9/SHA256SUMS",
        "collabgov-9.9/a.txt",
        "collabgov-9.9/b",
        "collabgov-9.9/b/z.txt",
        "collabgov-9.9/run",
    ]
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", 1_714_617_000)}
    assert {m.name: m.mode for m in members}["collabgov-9.9/run"] == 0o755
    with zipfile.ZipFile(tmp_path / "0.zip") as z:
        assert [n.rstrip("/") for n in z.namelist()] == names[1:]
    sums = (stage / "SHA256SUMS").read_text().splitlines()
    digest = hashlib.sha256(b"a\n").hexdigest()
    assert sums[0] == f"{digest}  a.txt" and len(sums) == 3


@pytest.mark.e2e
def test_a_release_holds_the_source_and_the_built_site_and_knows_its_commit(tmp_path):
    root = repository(tmp_path / "repo", "sintetis")
    head = git(root, "rev-parse", "HEAD")
    archives = rel.release(root, jobs=2)
    assert [a.name for a in archives] == ["collabgov-0.1.0.tar.gz", "collabgov-0.1.0.zip"]

    out = tmp_path / "unpacked"
    with tarfile.open(archives[0]) as tar:
        tar.extractall(out, filter="data")
    with zipfile.ZipFile(archives[1]) as z:
        zipped = sorted(n.rstrip("/") for n in z.namelist())
    top = out / "collabgov-0.1.0"
    assert zipped == sorted(p.relative_to(out).as_posix() for p in top.rglob("*"))  # the same entries
    committed = git(root, "ls-files").splitlines()
    assert all((top / name).is_file() for name in committed)
    assert f"node: {head}" in (top / ".git_archival.txt").read_text()
    assert not (top / "build").exists()

    reports, figures = top / "reports/sintetis", top / "figures/sintetis"
    assert json.loads((reports / "provenance.json").read_text())["commit"] == head
    manifest = json.loads((figures / "MANIFEST.json").read_text())
    assert manifest["commit"] == head and manifest["figures"]
    assert all((reports / name).is_file() for name in manifest["reports"])
    html = (reports / "report.en.html").read_text("utf-8")
    assert f"Built with collabgov 0.1.0 from commit {head}" in html
    assert f"dibuat dengan collabgov 0.1.0 dari commit {head}" in (reports / "report.id.html").read_text("utf-8")
    with zipfile.ZipFile(reports / "report.en.docx") as docx:
        core = docx.read("docProps/core.xml").decode()
    created = re.search(r"<dcterms:created[^>]*>([^<]+)<", core).group(1)
    assert datetime.fromisoformat(created) == datetime.fromisoformat(DATE)

    lines = (top / "SHA256SUMS").read_text().splitlines()
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}
    files = {p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert set(listed) == files
    assert all(hashlib.sha256((top / name).read_bytes()).hexdigest() == digest for name, digest in listed.items())
