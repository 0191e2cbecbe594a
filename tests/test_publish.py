"""What a failed build keeps: the executed notebooks, in build/<site>.failed/, and nothing else."""

from collabgov import publish


def a_build_folder(tmp_path, notebooks: list[str]):
    work = tmp_path / "build" / "pujud.tmp"
    executed = work / "report" / "executed"
    executed.mkdir(parents=True)
    (work / "figures").mkdir()
    (work / "figures" / "trend.id.png").write_bytes(b"png")
    for name in notebooks:
        (executed / name).write_text("{}")
    return work


def test_a_failed_build_keeps_its_executed_notebooks_only(tmp_path):
    work = a_build_folder(tmp_path, ["01_case_table.ipynb"])
    kept = publish.keep_failed(tmp_path, "pujud", work)
    assert sorted(p.name for p in kept.iterdir()) == ["01_case_table.ipynb"]
    assert not work.exists()


def test_a_build_cut_short_before_any_notebook_ran_keeps_no_empty_folder(tmp_path):
    old = publish.failed_folder(tmp_path, "pujud")
    old.mkdir(parents=True)
    (old / "02_stage_findings.ipynb").write_text("{}")  # from an earlier failed build: this one supersedes it
    work = a_build_folder(tmp_path, [])
    publish.keep_failed(tmp_path, "pujud", work)
    assert not old.exists() and not work.exists()
