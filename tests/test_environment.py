"""environment.yml (conda, Binder) and requirements.lock (pip, Makefile) pin the same versions."""

import re
import tomllib

import yaml

from conftest import ROOT


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + [d for group in project["optional-dependencies"].values() for d in group]
    return {norm(re.split(r"[<>=!~\[ ]", d)[0]) for d in names}


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[norm(name)] = version.strip()
    return pins


def environment_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            match = re.match(r"^([A-Za-z0-9_.-]+)==?([^=\s]+)$", item)
            if match:
                pins[norm(match.group(1))] = match.group(2)
    return pins


def test_every_direct_dependency_is_pinned_in_the_lock():
    pins = lock_pins()
    missing = direct_dependencies() - set(pins)
    assert not missing, f"not in requirements.lock: {sorted(missing)}"


def test_environment_yml_lists_the_same_packages_at_the_same_versions():
    lock, env = lock_pins(), environment_pins()
    direct = direct_dependencies()
    assert set(env) - {"python"} == direct, f"differ: {sorted(set(env) ^ direct - {'python'})}"
    drift = {n: (env[n], lock[n]) for n in direct if env[n] != lock[n]}
    assert not drift, f"environment.yml vs requirements.lock: {drift}"


def test_environment_python_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert ">=3.11,<3.12" in (ROOT / "pyproject.toml").read_text()


def test_every_data_file_of_the_package_is_installed_with_it():
    """A non-editable install (pip install ., a wheel) ships only what package-data names."""
    import fnmatch

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["collabgov"]
    package = ROOT / "src" / "collabgov"
    files = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert files
    assert not [f for f in files if not any(fnmatch.fnmatchcase(f, g) for g in globs)]
