"""tools/bootstrap.py's decisions, run as the user runs it, against throw-away projects whose .venv is made without
pip (no install happens: --dry-run says what the setup would do and does nothing)."""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from collabgov import sites
from conftest import ROOT

PYTHON = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
VERSION = ".".join(map(str, sys.version_info[:3]))
MINOR = ".".join(map(str, sys.version_info[:2]))
BLOCK_ENSUREPIP = """
import runpy, sys
class Missing:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "ensurepip":
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Missing)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the throw-away .venv folders are laid out for Unix")


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "tools").mkdir()
    shutil.copyfile(ROOT / "tools" / "bootstrap.py", tmp_path / "tools" / "bootstrap.py")
    for name in ("pyproject.toml", "requirements.lock"):
        shutil.copyfile(ROOT / name, tmp_path / name)
    return tmp_path


def load(project: Path):
    spec = importlib.util.spec_from_file_location("bootstrap_under_test", project / "tools" / "bootstrap.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_venv(project: Path, pip=True, kernel=True, recorded=True) -> Path:
    """A .venv as a finished setup leaves it (pip and the kernel as files only), or with a part missing."""
    folder = project / ".venv"
    venv.create(folder, with_pip=False, symlinks=True)
    if pip:
        package = folder / "lib" / f"python{MINOR}" / "site-packages" / "pip"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
    if kernel:
        spec = folder / "share" / "jupyter" / "kernels" / "collabgov"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text("{}")
    if recorded:
        load(project).write_record(PYTHON)
    return folder


def set_maker(folder: Path, executable: str, version: str) -> None:
    config = folder / "pyvenv.cfg"
    lines = [line for line in config.read_text().splitlines() if not line.startswith(("executable", "version"))]
    config.write_text("\n".join(lines + [f"executable = {executable}", f"version = {version}"]) + "\n")


def bootstrap(project: Path, *args, python=sys.executable, prefix=(), **environ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "PYTHON", "LANG", "LC_ALL", "COLLABGOV_LANG")}
    env.update(COLLABGOV_LANG="en") if not environ else env.update(environ)
    command = [python, *prefix, str(project / "tools" / "bootstrap.py"), "--dry-run", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def lines(result) -> list[str]:
    return result.stdout.splitlines()


def test_a_ready_environment_is_left_alone_in_silence(project):
    make_venv(project)
    assert bootstrap(project).stdout == ""
    quick = bootstrap(project, "--keep", python=str(project / ".venv" / "bin" / "python"))
    assert (quick.returncode, quick.stdout, quick.stderr) == (0, "", "")


def test_no_environment_is_made_with_the_python_that_runs_the_script(project):
    result = bootstrap(project)
    assert result.returncode == 0
    assert lines(result) == [
        f"==> making .venv with Python {VERSION} ({PYTHON})",
        "==> installing the packages pinned in requirements.lock (a few minutes the first time)",
        "==> registering the Jupyter kernel 'collabgov'",
    ]
    assert not (project / ".venv").exists(), "a dry run changes nothing"


def test_an_environment_without_pip_is_made_anew(project):
    folder = make_venv(project, pip=False)
    result = bootstrap(project)
    assert lines(result)[:2] == [
        "==> .venv has no pip (left by a setup that failed?): making it anew",
        f"==> making .venv with Python {VERSION} ({PYTHON})",
    ]
    assert (folder / "pyvenv.cfg").is_file()


def test_removing_pip_is_noticed_by_the_quick_path_too(project):
    """A plain `make` runs the script with .venv's own Python, which hands over to the Python .venv was made from."""
    folder = make_venv(project)
    shutil.rmtree(folder / "lib" / f"python{MINOR}" / "site-packages" / "pip")
    result = bootstrap(project, "--keep", python=str(folder / "bin" / "python"))
    assert lines(result)[0] == "==> .venv has no pip (left by a setup that failed?): making it anew"


def test_an_unfinished_setup_is_made_anew(project):
    folder = make_venv(project, recorded=False)
    (folder / "collabgov-setup.started").write_text("started\n")
    assert lines(bootstrap(project))[0] == "==> the last setup of .venv did not finish: making it anew"


def test_an_environment_of_another_python_is_made_anew_with_the_one_named(project, tmp_path_factory):
    other = tmp_path_factory.mktemp("other") / "python3.99"
    other.write_text("")
    set_maker(make_venv(project), str(other), "3.99.1")
    assert lines(bootstrap(project))[0] == (
        f"==> .venv was made by Python 3.99.1 ({other}), not by the Python asked for, {VERSION} ({PYTHON}): "
        "making it anew"
    )


def test_a_plain_make_keeps_the_environments_python_unless_it_no_longer_runs(project):
    folder = make_venv(project)
    set_maker(folder, "/nonexistent/bin/python3.99", "3.99.1")
    (folder / "bin" / "python3").unlink()
    (folder / "bin" / "python3").symlink_to("/nonexistent/bin/python3.99")
    result = bootstrap(project, "--keep")
    assert lines(result)[:2] == [
        "==> .venv's Python (/nonexistent/bin/python3.99) no longer runs: making it anew",
        f"==> making .venv with Python {VERSION} ({PYTHON})",
    ]


def test_a_folder_that_is_no_environment_is_made_anew(project):
    (project / ".venv").mkdir()
    assert (
        lines(bootstrap(project))[0] == "==> .venv is not a virtual environment (it has no pyvenv.cfg): making it anew"
    )


def test_a_changed_lock_installs_again_into_the_same_environment(project):
    make_venv(project)
    with (project / "requirements.lock").open("a") as lock:
        lock.write("six==1.17.0\n")
    assert lines(bootstrap(project)) == [
        "==> requirements.lock changed since .venv was set up: installing again",
        "==> installing the packages pinned in requirements.lock (a few minutes the first time)",
        "==> registering the Jupyter kernel 'collabgov'",
    ]


def test_a_missing_kernel_is_registered_again(project):
    make_venv(project, kernel=False)
    assert lines(bootstrap(project)) == ["==> registering the Jupyter kernel 'collabgov'"]


def test_a_python_below_the_floor_is_told_what_to_install_and_nothing_changes(project):
    folder = make_venv(project)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(re.sub(r"requires-python = .*", 'requires-python = ">=3.99"', pyproject.read_text()))
    result = bootstrap(project, MAKELEVEL="1", COLLABGOV_LANG="en")
    assert result.returncode == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    error, *fix = result.stderr.splitlines()
    assert error == f"error: Python {VERSION} ({sys.executable}) is too old: this project needs Python 3.99 or newer."
    if sys.platform.startswith("linux"):
        assert fix == ["  Debian/Ubuntu: sudo apt install python3.99-venv", "  then: make PYTHON=python3.99"]
    assert (folder / "collabgov-setup.json").is_file()


def test_a_python_without_ensurepip_is_told_the_package_for_its_version(project):
    result = bootstrap(project, prefix=("-c", BLOCK_ENSUREPIP), COLLABGOV_LANG="en")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error, *fix = result.stderr.splitlines()
    assert error.endswith("cannot make a virtual environment with pip: its module ensurepip is missing.")
    if sys.platform.startswith("linux"):
        assert fix == [
            f"  Debian/Ubuntu: sudo apt install python{MINOR}-venv",
            f"  then: {sys.executable} tools/bootstrap.py",
        ]


def test_ensurepip_is_not_asked_of_a_python_whose_environment_is_ready(project):
    make_venv(project)
    result = bootstrap(project, prefix=("-c", BLOCK_ENSUREPIP))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_messages_speak_indonesian_by_the_projects_rule(project):
    make_venv(project, pip=False)
    result = bootstrap(project, LC_ALL="C.UTF-8", LANG="id_ID.UTF-8")
    assert lines(result)[:2] == [
        "==> .venv tidak berisi pip (sisa penyiapan yang gagal?): dibuat ulang",
        f"==> membuat .venv dengan Python {VERSION} ({PYTHON})",
    ]


@pytest.mark.parametrize(
    "environ",
    [{}, {"LANG": "id_ID.UTF-8"}, {"LC_ALL": "C", "LANG": "id_ID"}, {"COLLABGOV_LANG": "en", "LANG": "id_ID"}],
)
def test_the_language_rule_is_the_packages(project, monkeypatch, environ):
    for key in ("COLLABGOV_LANG", "LC_ALL", "LANG"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    assert load(project).user_language(environ) == sites.user_language()


def test_every_message_has_both_languages_with_the_same_fields(project):
    import string

    messages = load(project).MESSAGES
    assert messages["id"].keys() == messages["en"].keys()
    for key, english in messages["en"].items():
        fields = {f for _, f, _, _ in string.Formatter().parse(english) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(messages["id"][key]) if f}, key


def test_a_missing_file_is_one_line_without_a_traceback(project):
    (project / "pyproject.toml").unlink()
    result = bootstrap(project)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: {project / 'pyproject.toml'}: No such file or directory"]


def test_the_record_names_what_was_installed(project):
    folder = make_venv(project)
    recorded = json.loads((folder / "collabgov-setup.json").read_text())
    assert recorded["python"] == PYTHON and recorded["version"] == VERSION
    assert set(recorded) >= {"requirements.lock", "pyproject.toml"}


@pytest.mark.parametrize(("named", "command"), [(True, "python3.99 tools/bootstrap.py"), (False, "--keep")])
def test_make_names_the_python_only_when_the_command_line_does(named, command):
    args = ["make", "-n", "setup"] + (["PYTHON=python3.99"] if named else [])
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE") and k != "PYTHON"}
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, check=True).stdout
    assert command in out
    assert ("--keep" in out) is not named
