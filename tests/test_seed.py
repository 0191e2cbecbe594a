"""A build that reruns some steps starts from the published outputs of the others only."""

import json
from types import SimpleNamespace

from collabgov import scheduler
from collabgov.build import SiteBuild, seed


def figure(key: str, notebook: str) -> dict:
    return {
        "id": f"{key}.id",
        "files": {kind: {"path": f"{key}.id.{kind}", "sha256": "-"} for kind in ("png", "svg")},
        "notebook": f"notebooks/{notebook}.ipynb",
    }


def test_only_what_the_steps_that_do_not_run_made_is_carried_over(tmp_path):
    figures, reports = tmp_path / "figures/pujud", tmp_path / "reports/pujud"
    (reports / "executed").mkdir(parents=True)
    figures.mkdir(parents=True)
    entries = [figure("trend", "01_case_table"), figure("stage_commitment", "02_stage_findings")]
    entries.append(figure("tampered", "01_case_table") | {"files": {"png": {"path": "../../outside.png"}}})
    (figures / "MANIFEST.json").write_text(json.dumps({"figures": entries}))
    for key in ("trend", "stage_commitment"):
        for kind in ("png", "svg", "json"):
            (figures / f"{key}.id.{kind}").write_text(key)
    for name in ("01_case_table", "02_stage_findings", "report.id"):
        (reports / "executed" / f"{name}.ipynb").write_text(name)
    for kind in ("html", "pdf", "docx"):
        (reports / f"report.id.{kind}").write_text("report")
    (tmp_path / "outside.png").write_text("not the build's")

    site = SimpleNamespace(slug="pujud", lang="id", languages=["id"])
    steps = scheduler.plan(site)
    rerun = [s for s in steps if s.name != "01_case_table"]  # the codebook changed: 02 and the report rerun
    work = tmp_path / "build/pujud.tmp"
    seed(tmp_path, SiteBuild(site, work, steps, rerun, {}, {}, "", "", {}))
    made = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    assert made == [
        "figures/trend.id.json",
        "figures/trend.id.png",
        "figures/trend.id.svg",
        "report/executed/01_case_table.ipynb",
    ]
