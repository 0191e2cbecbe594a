"""requirements.lock holds one version of every package for every platform and supported Python; environment.yml
(conda, Binder) is made from it; the lowest Python is stated once, in pyproject.toml, with no upper cap."""

import importlib.util
import re
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement

from conftest import ROOT

# The machines the lock is for: Linux, macOS (Intel and arm64) and Windows, with Pythons from the floor's first
# release (Debian 12's python3 is 3.11.2) up to 3.14.
KEYS = ("sys_platform", "platform_system", "os_name", "platform_machine")
PLATFORMS = {
    "linux-x86_64": dict(zip(KEYS, ("linux", "Linux", "posix", "x86_64"))),
    "linux-aarch64": dict(zip(KEYS, ("linux", "Linux", "posix", "aarch64"))),
    "macos-x86_64": dict(zip(KEYS, ("darwin", "Darwin", "posix", "x86_64"))),
    "macos-arm64": dict(zip(KEYS, ("darwin", "Darwin", "posix", "arm64"))),
    "windows": dict(zip(KEYS, ("win32", "Windows", "nt", "AMD64"))),
}
PYTHONS = ["3.11.0", "3.11.2", "3.11.7", "3.12.1", "3.13.0", "3.14.0"]


def load_lock_tool():
    spec = importlib.util.spec_from_file_location("lock_tool", ROOT / "tools" / "lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lock_tool = load_lock_tool()


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def direct_dependencies() -> set[str]:
    project = pyproject()["project"]
    names = project["dependencies"] + [d for group in project["optional-dependencies"].values() for d in group]
    return {norm(Requirement(d).name) for d in names}


def lock_requirements() -> list[Requirement]:
    return [Requirement(line) for line in lock_tool.lock_requirements((ROOT / "requirements.lock").read_text())]


def environment(platform: str, python: str) -> dict[str, str]:
    return PLATFORMS[platform] | {
        "python_version": ".".join(python.split(".")[:2]),
        "python_full_version": python,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }


def pins_for(platform: str, python: str) -> dict[str, list[str]]:
    """Package -> the versions the lock gives it on one platform and Python (one, or the lock is ambiguous)."""
    pins: dict[str, list[str]] = {}
    for requirement in lock_requirements():
        if requirement.marker is None or requirement.marker.evaluate(environment(platform, python)):
            (version,) = [s.version for s in requirement.specifier if s.operator == "=="]
            pins.setdefault(norm(requirement.name), []).append(version)
    return pins


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_the_lock_gives_every_package_one_version_on_every_platform_and_python(platform, python):
    pins = pins_for(platform, python)
    assert not {name: v for name, v in pins.items() if len(v) > 1}
    missing = direct_dependencies() - set(pins)
    assert not missing, f"not in requirements.lock for {platform}, Python {python}: {sorted(missing)}"


def test_the_lock_holds_what_only_some_platforms_install():
    """A `pip freeze` of one machine would lack these: Windows' terminal and colour packages, macOS' appnope."""
    markers = {str(r.marker) for r in lock_requirements() if r.marker}
    assert any('sys_platform == "win32"' in m or 'os_name == "nt"' in m for m in markers)
    assert any('sys_platform == "darwin"' in m for m in markers)
    assert "pywinpty" in pins_for("windows", "3.13.0") and "pywinpty" not in pins_for("linux-x86_64", "3.13.0")


def test_every_installed_pin_admits_the_pythons_it_is_locked_for():
    """Each package's own Requires-Python, for the packages installed here: soupsieve 4.1.3, for one, needs
    Python >= 3.11.5, so the first 3.11 releases (Debian 12's python3 is 3.11.2) must be given another version."""
    from importlib.metadata import distributions

    from packaging.specifiers import SpecifierSet

    installed = {norm(d.metadata["Name"]): d for d in distributions()}
    refused = []
    for python in PYTHONS:
        for name, (version,) in pins_for("linux-x86_64", python).items():
            dist = installed.get(name)
            if dist and dist.version == version and dist.metadata.get("Requires-Python"):
                if python not in SpecifierSet(dist.metadata["Requires-Python"]):
                    refused.append(f"{name} {version} on Python {python}")
    assert not refused


def test_environment_yml_is_made_from_the_lock():
    text = (ROOT / "environment.yml").read_text()
    assert text == lock_tool.environment_yml((ROOT / "requirements.lock").read_text(), lock_tool.floor()), (
        "environment.yml differs from what `make lock` makes of requirements.lock: run `make lock`"
    )


def test_environment_yml_pip_installs_every_pin_of_the_lock_and_the_project():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    lock = [str(r) for r in lock_requirements() if norm(r.name) not in lock_tool.LOCK_ONLY]
    assert [str(Requirement(line)) for line in pip[:-1]] == lock
    assert pip[-1] == "-e ."
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert not [d for d in conda if d.split("=")[0] not in ("python", "pip", "pango")], "pip installs the packages"


def test_requires_python_is_a_floor_without_a_cap():
    spec = pyproject()["project"]["requires-python"]
    assert re.fullmatch(r">=3\.\d+(\.\d+)?", spec), spec
    assert lock_tool.floor() == spec.removeprefix(">=")


def test_the_floor_is_stated_once():
    """Conda's Python follows pyproject.toml; ruff reads requires-python; the setup script reads pyproject.toml."""
    minor = ".".join(lock_tool.floor().split(".")[:2])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert f"python={minor}" in env["dependencies"]
    assert "target-version" not in pyproject()["tool"]["ruff"]
    for path in ("Makefile", "tools/bootstrap.py", "tools/lock.py"):
        assert not re.search(r"3\.1[0-9]", (ROOT / path).read_text()), f"{path} names a Python version of its own"


def test_every_data_file_of_the_package_is_installed_with_it():
    """A non-editable install (pip install ., a wheel) ships only what package-data names."""
    import fnmatch

    globs = pyproject()["tool"]["setuptools"]["package-data"]["collabgov"]
    package = ROOT / "src" / "collabgov"
    files = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert files
    assert not [f for f in files if not any(fnmatch.fnmatchcase(f, g) for g in globs)]
