"""``make release``: a versioned archive a reviewer can read without building.

The committed source as ``git archive`` gives it (so ``.git_archival.txt`` names the commit), unpacked into
``build/release/collabgov-<version>/``; every committed site built there, so that the outputs' provenance is the
archive's own; a ``SHA256SUMS`` of every file; packed as ``dist/collabgov-<version>.tar.gz`` and ``.zip``, the
entries sorted, dated with the commit and owned by nobody in particular: the same commit gives the same bytes
wherever the outputs are the same. ``make verify`` works inside the unpacked archive."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import tarfile
import time
import tomllib
import zipfile
from pathlib import Path

from . import provenance
from .build import BuildFailed, build_sites
from .errors import UsageError
from .i18n import message
from .sites import user_language

CHECKSUMS = "SHA256SUMS"


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True).stdout


def committed_sites(root: Path) -> list[str]:
    """The sites whose ``data/<site>/site.yaml`` is committed (a student's uncommitted site is not released)."""
    names = _git(root, "ls-files", "-z", "--", "data/*/site.yaml").decode().split("\0")
    return sorted(parts[1] for parts in (n.split("/") for n in names) if len(parts) == 3)


def check_clean(root: Path, lang: str) -> None:
    """A release is made from a commit: refuse a folder that is not a clone, or one with uncommitted changes
    to tracked files (untracked files do not go into ``git archive``)."""
    if not provenance.in_git(root):
        raise UsageError(message("release_needs_clone", lang), lang)
    changed = _git(root, "status", "--porcelain", "--untracked-files=no").decode().splitlines()
    if changed:
        raise UsageError(message("release_dirty", lang, n=len(changed), first=changed[0][3:]), lang)


def unpack_archive(root: Path, stage: Path) -> None:
    """``git archive HEAD`` of ``root``, unpacked into ``stage`` (emptied first)."""
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(_git(root, "archive", "--format=tar", "HEAD"))) as tar:
        # (extraction filters came with Python 3.11.4; the archive is git's own, made just now)
        tar.extractall(stage, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))


def members(stage: Path) -> list[Path]:
    """Every folder and file under ``stage``, sorted by path (a folder before what it holds)."""
    return sorted(stage.rglob("*"), key=lambda p: p.relative_to(stage).as_posix())


def write_checksums(stage: Path) -> Path:
    """``SHA256SUMS`` of every file, in the format ``sha256sum -c`` reads."""
    lines = [
        f"{provenance.sha256(p)}  {p.relative_to(stage).as_posix()}\n"
        for p in members(stage)
        if p.is_file() and p.name != CHECKSUMS
    ]
    target = stage / CHECKSUMS
    target.write_text("".join(lines), "utf-8")
    return target


def _mode(path: Path) -> int:
    return 0o755 if path.is_dir() or path.stat().st_mode & 0o100 else 0o644


def pack_tar(stage: Path, target: Path, epoch: int) -> None:
    """``stage`` as a gzipped tar whose entries are under ``<stage name>/``, sorted, dated ``epoch``, owned by 0."""
    with (
        open(target, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=epoch) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in [stage, *members(stage)]:
            inside = path.relative_to(stage).as_posix()
            info = tar.gettarinfo(str(path), arcname=stage.name if inside == "." else f"{stage.name}/{inside}")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = epoch
            info.mode = _mode(path)
            if info.isfile():
                with open(path, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)


def pack_zip(stage: Path, target: Path, epoch: int) -> None:
    """The same entries as ``pack_tar``, as a zip (for readers on Windows)."""
    stamp = time.gmtime(max(epoch, 315532800))[:6]  # a zip cannot date anything before 1980
    with zipfile.ZipFile(target, "w") as z:
        for path in members(stage):
            name = f"{stage.name}/{path.relative_to(stage).as_posix()}" + ("/" if path.is_dir() else "")
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3  # Unix, whatever system packs it, so that the modes below are read
            info.external_attr = (_mode(path) | (0o040000 if path.is_dir() else 0o100000)) << 16
            info.compress_type = zipfile.ZIP_STORED if path.is_dir() else zipfile.ZIP_DEFLATED
            z.writestr(info, b"" if path.is_dir() else path.read_bytes())


def release(root: Path, jobs: int = 1) -> list[Path]:
    """Build the release of the commit ``root`` is at; returns the archives written into ``dist/``."""
    lang = user_language()
    check_clean(root, lang)
    version = tomllib.loads(_git(root, "show", "HEAD:pyproject.toml").decode())["project"]["version"]
    name = f"collabgov-{version}"
    stage = root / "build" / "release" / name
    unpack_archive(root, stage)
    sites = committed_sites(root)
    failed = build_sites(stage, sites, jobs)
    if failed:
        raise BuildFailed(message("build_failed_sites", lang, sites=", ".join(failed)))
    shutil.rmtree(stage / "build", ignore_errors=True)  # the build's locks and stamps: not part of the release
    write_checksums(stage)
    epoch = provenance.source_date_epoch(stage)
    dist = root / "dist"
    dist.mkdir(exist_ok=True)
    archives = [dist / f"{name}.tar.gz", dist / f"{name}.zip"]
    pack_tar(stage, archives[0], epoch)
    pack_zip(stage, archives[1], epoch)
    return archives
