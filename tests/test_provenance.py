"""A site's provenance depends on its own folder and the project's code only."""

import shutil
import subprocess

from collabgov import provenance
from collabgov.sites import load_site
from conftest import ROOT, copy_tree


def git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_another_sites_folder_neither_changes_nor_marks_a_sites_provenance(tmp_path):
    for name in ("data/pujud", "src/collabgov", "notebooks"):
        copy_tree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "Makefile").write_text("")
    git(tmp_path, "init", "-q")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    site = load_site(tmp_path, "pujud")
    before = provenance.collect(tmp_path, site)
    assert before["commit"] and before["dirty"] is False

    copy_tree(ROOT / "data/sintetis", tmp_path / "data/baru")  # a student's new site, not committed
    assert provenance.collect(tmp_path, site) == before
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "another site")
    assert provenance.collect(tmp_path, site) == before  # the same commit of Pujud's inputs and code
    assert provenance.source_date_epoch(tmp_path, "pujud") == provenance.source_date_epoch(tmp_path, "pujud")

    (tmp_path / "data/pujud/cases.csv").write_text((tmp_path / "data/pujud/cases.csv").read_text() + "\n")
    assert provenance.collect(tmp_path, site)["dirty"] is True  # its own change marks it
