"""``make bench``: build times for Pujud and for a batch of SYNTHETIC sites, each beside a floor
measured in the same run (papermill executing an empty notebook, times the number of notebooks),
and peak memory. Long: about 12 minutes on two cores. ``BENCH_SITES`` sets the batch size (20)."""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from .build import KERNEL, _preload, build_sites
from .sites import project_root


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (workers, kernels, pandoc)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def empty_notebook_seconds(folder: Path, runs: int = 5) -> tuple[float, float]:
    """Median wall time and median CPU time of papermill running a one-cell notebook."""
    import nbformat
    import papermill
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell("pass")])
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    src = folder / "empty.ipynb"
    nbformat.write(nb, src)
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), cpu_seconds()
        papermill.execute_notebook(
            str(src),
            str(folder / "empty.out.ipynb"),
            kernel_name=KERNEL,
            progress_bar=False,
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
        times.append(time.perf_counter() - start)
        cpu.append(cpu_seconds() - start_cpu)
    return statistics.median(times), statistics.median(cpu)


def cli_build(root: Path, *args: str) -> float:
    env = dict(os.environ, COLLABGOV_ROOT=str(root))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "collabgov", "build", *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    root = project_root()
    n_sites = int(os.environ.get("BENCH_SITES", "20"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="collabgov-bench-") as scratch:
        work = Path(scratch)
        shutil.copytree(root / "notebooks", work / "notebooks")
        shutil.copytree(root / "data" / "pujud", work / "data" / "pujud")
        (work / "Makefile").write_text("# bench\n")
        _preload()
        print("measuring the floor: papermill running an empty notebook ...", file=sys.stderr, flush=True)
        empty, empty_cpu = empty_notebook_seconds(work)
        print(f"  {empty:.2f} s per notebook, {empty_cpu:.2f} s of CPU (medians of 5)", file=sys.stderr, flush=True)

        print("pujud: cold build (4 notebooks, 2 jobs) ...", file=sys.stderr, flush=True)
        start_cpu = cpu_seconds()
        cold = timed(lambda: build_sites(work, ["pujud"], jobs=2, force=True))
        cold_cpu = cpu_seconds() - start_cpu
        rows.append(("pujud cold build (2 jobs)", cold, 4 * empty, "<= 1.5 x floor", cold <= 1.5 * 4 * empty))
        noop = cli_build(work, "pujud")
        rows.append(("pujud no-op build (whole command)", noop, None, "< 0.5 s", noop < 0.5))
        cases = work / "data" / "pujud" / "cases.csv"
        cases.write_text(cases.read_text().replace("as printed in", "as printed, in"))
        one = cli_build(work, "pujud", "--jobs", "2")
        rows.append(("pujud rebuild, cases.csv changed (3 notebooks)", one, 3 * empty, "", None))

        print(f"batch: {n_sites} SYNTHETIC sites, one language each ...", file=sys.stderr, flush=True)
        template = root / "data" / "sintetis"
        slugs = []
        for i in range(1, n_sites + 1):
            slug = f"bench-sintetis-{i:02d}"
            shutil.copytree(template, work / "data" / slug, ignore=shutil.ignore_patterns("import"))
            params = yaml.safe_load((work / "data" / slug / "site.yaml").read_text())
            params["languages"] = ["id"]
            (work / "data" / slug / "site.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
            slugs.append(slug)
        floor = 3 * n_sites * empty
        one_job = timed(lambda: build_sites(work, slugs, jobs=1, force=True))
        two_jobs = timed(lambda: build_sites(work, slugs, jobs=2, force=True))
        rows.append((f"batch of {n_sites} sites, 1 job", one_job, floor, "", None))
        rows.append(
            (
                f"batch of {n_sites} sites, 2 jobs",
                two_jobs,
                floor,
                ">= 1.7 x faster than 1 job",
                one_job / two_jobs >= 1.7,
            )
        )
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    print()
    print(f"{'measure':<48} {'seconds':>8} {'floor':>8} {'ratio':>6}  target")
    for name, seconds, fl, target, met in rows:
        ratio = f"{seconds / fl:.2f}" if fl else "-"
        flag = "" if met is None else (" (met)" if met else " (NOT met)")
        print(f"{name:<48} {seconds:8.2f} {fl if fl is None else round(fl, 2)!s:>8} {ratio:>6}  {target}{flag}")
    print(f"{'speed-up, 2 jobs over 1':<48} {one_job / two_jobs:8.2f}")
    print(f"floor: papermill running an empty notebook = {empty:.2f} s, times the notebooks of each build")
    cores = os.cpu_count() or 1
    print(
        f"cold build CPU time: {cold_cpu:.1f} s (this process and its children); {cores} cores busy for "
        f"1.5 x floor give at most {cores * 1.5 * 4 * empty:.1f} s; four empty notebooks use {4 * empty_cpu:.1f} s"
    )
    print(f"peak memory: this process {self_mb:.0f} MB; largest child process (worker or kernel) {child_mb:.0f} MB")
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
