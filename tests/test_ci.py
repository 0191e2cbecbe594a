"""The CI workflow runs the README's commands on Linux and macOS, the path without make on Windows, for the same
Pythons, from the lowest one pyproject.toml allows."""

import re

import yaml

from conftest import ROOT


def workflow() -> dict:
    return yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text("utf-8"))


def commands(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_linux_and_macos_run_make_then_make_test_as_the_readme_says():
    job = workflow()["jobs"]["make"]
    assert set(job["strategy"]["matrix"]["os"]) == {"ubuntu-latest", "macos-latest"}
    assert [c for c in commands(job) if c.startswith("make")] == ["make", "make test"]
    readme = (ROOT / "README.md").read_text("utf-8")
    assert re.search(r"^make\s+#", readme, re.M) and re.search(r"^make test\s+#", readme, re.M)


def test_windows_sets_up_without_make_then_builds_and_verifies_pujud():
    job = workflow()["jobs"]["windows"]
    assert job["runs-on"].startswith("windows")
    runs = commands(job)
    assert not any(c.startswith("make") for c in runs)
    expected = [
        "python tools/bootstrap.py",
        r".venv\Scripts\python -m collabgov build pujud",
        r".venv\Scripts\python -m collabgov verify pujud",
    ]
    assert [c for c in runs if c in expected] == expected


def test_every_runner_takes_the_same_pythons_from_the_lowest_supported():
    jobs = workflow()["jobs"]
    pythons = jobs["make"]["strategy"]["matrix"]["python"]
    assert jobs["windows"]["strategy"]["matrix"]["python"] == pythons
    assert pythons == sorted(pythons, key=lambda v: tuple(map(int, v.split("."))))
    lowest = re.search(r'requires-python = ">=\s*(3\.\d+)', (ROOT / "pyproject.toml").read_text()).group(1)
    assert pythons[0] == lowest and "3.14" in pythons
