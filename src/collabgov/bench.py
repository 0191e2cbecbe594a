"""``make bench``: the build measured against the work it must do, in one run.

The floor is made of the pieces of work no build of the report can skip, each measured alone here:
a kernel started and given the libraries its notebook imports (one per notebook run), every figure
drawn and saved (PNG and SVG, every language), and every report exported from its executed notebook
to HTML and from that HTML to PDF and DOCX. Their sum divided by the cores, or the longest chain of
them that must run one after another (an analysis notebook, then a report, then its exports), whichever
is longer, is the floor.

A shared machine is faster or slower from one minute to the next, so each build is set against pieces
measured right after it: three rounds, each a cold build, a build after one data file changed, then the
pieces; the ratio of each round is taken, and the median of the three is held to the target. A build with
nothing to do is timed five times, and a batch of SYNTHETIC sites with one and with two jobs, beside how
much faster this machine runs two copies of the same work at once. The kernels' memory is sampled during a
build of its own: sampling every 50 ms costs CPU the timed builds would lose.

``BENCH_SITES`` sets the size of the batch (default 8). About ten minutes on two cores.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import build, export, figures, scheduler
from .cases import load_case_table
from .coding import load_coded_data
from .context import open_site
from .sites import peek_site, project_root

TARGETS = {"cold": 1.25, "rebuild": 1.25, "noop": 0.3, "speedup": 1.8, "kernel_mb": 300}
# what each notebook imports: its first code cell, and the libraries the package loads on first use there
# (listed from sys.modules at the end of a real run of each notebook)
NOTEBOOK_IMPORTS = {
    "01_case_table": "from collabgov.context import open_site\nfrom collabgov import cases, figures, plotting\n"
    "import pandera.pandas, scipy.special, scipy.optimize, babel.numbers\nplotting.pyplot()",
    "02_stage_findings": "from collabgov.context import open_site\nfrom collabgov import coding, figures, plotting\n"
    "import pandera.pandas\nplotting.pyplot()",
    "report": "from collabgov.context import open_site\nfrom collabgov import provenance\n"
    "from collabgov.report import Report\n"
    "import pandera.pandas, scipy.special, krippendorff, markdown_it, babel.numbers",
}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def timed(fn) -> float:
    """Seconds ``fn()`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def kernel_with_imports(folder: Path, name: str) -> float:
    """Seconds for papermill to start a kernel and run a notebook's imports."""
    import nbformat
    import papermill
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(NOTEBOOK_IMPORTS[name])])
    nb.metadata["kernelspec"] = {"name": scheduler.KERNEL, "display_name": scheduler.KERNEL, "language": "python"}
    src = folder / f"imports-{name}.ipynb"
    nbformat.write(nb, src)
    return timed(
        lambda: papermill.execute_notebook(
            str(src),
            str(folder / f"imports-{name}.out.ipynb"),
            kernel_name=scheduler.KERNEL,
            progress_bar=False,
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            shutdown_kernel=scheduler.KERNEL_SHUTDOWN,  # as the build stops its kernels
        )
    )


def figure_pieces(root: Path, slug: str, out: Path) -> dict[str, dict[str, float]]:
    """Seconds to draw and save each figure of the site (as the notebooks do, ``figures.draw_each``), by the
    notebook that draws it."""
    ctx = open_site(slug, "id", out, root)
    pieces: dict[str, dict[str, float]] = {}
    for notebook, kind, data in (
        ("01_case_table", "cases", load_case_table(ctx.data_dir, "id", ctx.years)),
        ("02_stage_findings", "coded", load_coded_data(ctx.data_dir, "id")),
    ):
        pieces[notebook] = {}
        start = time.perf_counter()
        for _, saved in figures.draw_each(ctx, kind, data):
            pieces[notebook][saved.record["id"]] = time.perf_counter() - start
            start = time.perf_counter()
    return pieces


def export_pieces(executed: Path, lang: str, out: Path) -> dict[str, float]:
    """Seconds to export a report, as its step does (in a process that has imported the exporters)."""
    html = out / f"report.{lang}.html"
    times = {"html": timed(lambda: export.export_html(executed, html, lang, "bench"))}
    with tempfile.TemporaryDirectory() as scratch:
        times["pdf"] = timed(lambda: export.export_pdf(html, out / f"report.{lang}.pdf", Path(scratch)))
    with tempfile.TemporaryDirectory() as scratch:
        times["docx"] = timed(lambda: export.export_docx(html, out / f"report.{lang}.docx", Path(scratch)))
    return times


def cli(root: Path, *args: str) -> tuple[float, float]:
    """(seconds, CPU-seconds) of ``collabgov build *args``: the CPU of the command and of every process it
    started and waited for, its steps and their kernels."""
    env = dict(os.environ, COLLABGOV_ROOT=str(root))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "collabgov", "build", *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def _cpu_work(_=None) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i * i % 7
    return time.perf_counter() - start


def two_core_scaling() -> float:
    """How much faster two copies of the same CPU work finish when run at once than one after the other, on
    this machine now (median of five): shared cores, clock boost and neighbours set it, not the build."""
    import multiprocessing

    ratios = []
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for _ in range(5):
            one = _cpu_work()
            start = time.perf_counter()
            pool.map(_cpu_work, [0, 1])
            ratios.append(2 * one / (time.perf_counter() - start))
    return statistics.median(ratios)


def _pdf(paths: tuple[Path, Path]) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        return timed(lambda: export.export_pdf(*paths, Path(scratch)))


def pdf_pair_scaling(reports: Path, out: Path) -> float:
    """The same as ``two_core_scaling`` for the two reports' PDF exports, which a build runs at once: the floor
    counts each as measured alone (once, one after the other against both at once)."""
    import multiprocessing

    pairs = [(reports / f"report.{lang}.html", out / f"pair.{lang}.pdf") for lang in ("id", "en")]
    one_after_the_other = sum(_pdf(pair) for pair in pairs)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_pdf, pairs)  # each worker imports the exporters once, as a build's workers do
        at_once = timed(lambda: pool.map(_pdf, pairs))
    return one_after_the_other / at_once


class KernelMemory:
    """Peak resident memory of the kernels that run while it samples (psutil, every 50 ms)."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psutil

        while not self._stop.is_set():
            for p in psutil.process_iter(["cmdline", "memory_info"]):
                cmd = " ".join(p.info["cmdline"] or [])
                if "ipykernel_launcher" in cmd and p.info["memory_info"]:
                    self.peak = max(self.peak, p.info["memory_info"].rss)
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def floor(kernel: dict, figs: dict, exports: dict, steps: list[str], langs: list[str], cores: int) -> tuple:
    """(floor, sum of the pieces, longest chain) for a build that runs ``steps`` (analysis notebooks and the
    reports of ``langs``): the chain is the slowest analysis notebook, then the slowest report (its kernel with
    its imports, and its exports)."""
    analysis = [s for s in steps if not s.startswith("report")]
    pieces = sum(kernel[s] + sum(figs[s].values()) for s in analysis)
    pieces += sum(kernel["report"] + sum(exports[lang].values()) for lang in langs)
    chain = max([kernel[s] + sum(figs[s].values()) for s in analysis] or [0])
    chain += max([kernel["report"] + sum(exports[lang].values()) for lang in langs] or [0])
    return max(pieces / cores, chain), pieces, chain


@dataclass
class Round:
    """One round: a cold build and a one-file rebuild, each set against the pieces measured right after them."""

    cold: float
    rebuild: float
    kernel: dict
    figs: dict
    exports: dict
    cold_cpu: float = 0.0  # CPU-seconds of the build, its steps and kernels
    rebuild_cpu: float = 0.0
    cold_floor: float = 0.0
    rebuild_floor: float = 0.0
    pieces: float = 0.0
    rebuild_pieces: float = 0.0
    chain: float = 0.0


def measure_round(work: Path, steps: list[str], cores: int, edit: str) -> Round:
    """A cold build, a rebuild after cases.csv changed, then every piece of work alone."""
    cold, cold_cpu = cli(work, "pujud", "--force", "--jobs", "2")
    cases = work / "data" / "pujud" / "cases.csv"
    cases.write_text(cases.read_text().replace("(Tabel 1.1", f"(Tabel 1.1 {edit}", 1))
    rebuild, rebuild_cpu = cli(work, "pujud", "--jobs", "2")
    kernel = {name: kernel_with_imports(work, name) for name in NOTEBOOK_IMPORTS}
    figs = figure_pieces(work, "pujud", work / "pieces")
    exports = {
        lang: export_pieces(work / "reports/pujud/executed" / f"report.{lang}.ipynb", lang, work / "pieces")
        for lang in ("id", "en")
    }
    r = Round(cold, rebuild, kernel, figs, exports, cold_cpu, rebuild_cpu)
    r.cold_floor, r.pieces, r.chain = floor(kernel, figs, exports, steps, ["id", "en"], cores)
    rebuilt = ["01_case_table", "report.id", "report.en"]
    r.rebuild_floor, r.rebuild_pieces, _ = floor(kernel, figs, exports, rebuilt, ["id", "en"], cores)
    return r


def main() -> int:
    root = project_root()
    cores = os.cpu_count() or 1
    n_sites = int(os.environ.get("BENCH_SITES", "8"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="collabgov-bench-") as scratch:
        work = Path(scratch)
        shutil.copytree(root / "notebooks", work / "notebooks")
        shutil.copytree(root / "data" / "pujud", work / "data" / "pujud")
        (work / "Makefile").write_text("# bench\n")
        build.check_kernel("en")
        steps = [s.name for s in scheduler.plan(peek_site(work, "pujud"))]

        rounds: list[Round] = []
        for i, edit in enumerate(("artikel", "dalam artikel", "artikel asli"), 1):
            say(f"round {i} of 3: pujud cold build (2 jobs), rebuild after cases.csv changed, then the pieces ...")
            rounds.append(measure_round(work, steps, cores, edit))
        noop = [cli(work, "pujud")[0] for _ in range(5)]  # the last round's rebuild left it up to date
        cold_ratio = statistics.median(r.cold / r.cold_floor for r in rounds)
        rebuild_ratio = statistics.median(r.rebuild / r.rebuild_floor for r in rounds)
        rows.append(
            (
                "pujud cold build (2 jobs)",
                statistics.median(r.cold for r in rounds),
                statistics.median(r.cold_floor for r in rounds),
                cold_ratio,
                f"<= {TARGETS['cold']} x floor",
                cold_ratio <= TARGETS["cold"],
            )
        )
        noop_s = statistics.median(noop)
        rows.append(
            (
                "pujud build with nothing to do (command)",
                noop_s,
                None,
                None,
                f"< {TARGETS['noop']} s",
                noop_s < TARGETS["noop"],
            )
        )
        rows.append(
            (
                "pujud rebuild, cases.csv changed (2 jobs)",
                statistics.median(r.rebuild for r in rounds),
                statistics.median(r.rebuild_floor for r in rounds),
                rebuild_ratio,
                f"<= {TARGETS['rebuild']} x floor",
                rebuild_ratio <= TARGETS["rebuild"],
            )
        )

        say("pujud: kernel memory, sampled during one more build (not during the timed ones) ...")
        with KernelMemory() as memory:
            cli(work, "pujud", "--force", "--jobs", "2")

        say(f"batch: {n_sites} SYNTHETIC sites, one language each, with 1 and with 2 jobs ...")
        slugs = []
        for i in range(1, n_sites + 1):
            slug = f"bench-sintetis-{i:02d}"
            shutil.copytree(root / "data" / "sintetis", work / "data" / slug, ignore=shutil.ignore_patterns("import"))
            params = yaml.safe_load((work / "data" / slug / "site.yaml").read_text())
            params["languages"] = ["id"]
            (work / "data" / slug / "site.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
            slugs.append(slug)
        one = cli(work, *slugs, "--force", "--jobs", "1")[0]
        two = cli(work, *slugs, "--force", "--jobs", "2")[0]
        rows.append((f"batch of {n_sites} sites, 1 job", one, None, None, "", None))
        rows.append(
            (
                f"batch of {n_sites} sites, 2 jobs",
                two,
                None,
                None,
                f">= {TARGETS['speedup']} x faster than 1 job",
                one / two >= TARGETS["speedup"],
            )
        )
        scaling = two_core_scaling()
        pdf_scaling = pdf_pair_scaling(work / "reports" / "pujud", work / "pieces")
        kernel_mb = memory.peak / 1024 / 1024
        rows.append(
            (
                "kernel peak memory (MB)",
                kernel_mb,
                None,
                None,
                f"< {TARGETS['kernel_mb']} MB",
                kernel_mb < TARGETS["kernel_mb"],
            )
        )

    print()
    print(f"{'measure':<44} {'value':>8} {'floor':>7} {'ratio':>6}  target")
    for name, value, fl, ratio, target, met in rows:
        shown = "-" if ratio is None else f"{ratio:.2f}"
        flag = "" if met is None else (" (met)" if met else " (NOT met)")
        print(f"{name:<44} {value:8.2f} {'-' if fl is None else f'{fl:.2f}':>7} {shown:>6}  {target}{flag}")
    print(f"{'speed-up, 2 jobs over 1':<44} {one / two:8.2f}")
    print(
        f"{'this machine: 2 copies of CPU work at once':<44} {scaling:8.2f}  x as fast as one after the other "
        "(median of 5, just after the batches; on a shared machine it changes from minute to minute)"
    )
    print(f"{'  the two PDF exports at once':<44} {pdf_scaling:8.2f}  x as fast as one after the other (once)")
    print("\neach round, build / the floor of the pieces measured right after it (the ratios above are their medians):")
    for i, r in enumerate(rounds, 1):
        print(
            f"  round {i}: cold {r.cold:.2f} / {r.cold_floor:.2f} = {r.cold / r.cold_floor:.2f}; "
            f"rebuild {r.rebuild:.2f} / {r.rebuild_floor:.2f} = {r.rebuild / r.rebuild_floor:.2f}"
        )
    mid = sorted(rounds, key=lambda r: r.cold / r.cold_floor)[len(rounds) // 2]
    print(
        f"\nthe cold build's floor (median round): pieces {mid.pieces:.2f} s in all / {cores} cores = "
        f"{mid.pieces / cores:.2f} s; longest chain {mid.chain:.2f} s"
    )
    cpu = {kind: statistics.median(getattr(r, f"{kind}_cpu") for r in rounds) for kind in ("cold", "rebuild")}
    pieces = {"cold": statistics.median(r.pieces for r in rounds)}
    pieces["rebuild"] = statistics.median(r.rebuild_pieces for r in rounds)
    print(
        "CPU-seconds each build used, with its steps and kernels, against the pieces' seconds in all (median of the "
        f"rounds): cold {cpu['cold']:.1f} against {pieces['cold']:.1f}; rebuild {cpu['rebuild']:.1f} against "
        f"{pieces['rebuild']:.1f}. The difference is work the pieces leave out (the site's check, the report "
        "notebooks' own cells, starting processes) and what the processes running at once cost each other."
    )
    print("pieces of work, seconds (each measured alone; median of the rounds):")
    for name in NOTEBOOK_IMPORTS:
        print(f"  kernel + imports, {name:<28} {statistics.median(r.kernel[name] for r in rounds):6.2f}")
    for notebook in mid.figs:
        drawn = {key: statistics.median(r.figs[notebook][key] for r in rounds) for key in mid.figs[notebook]}
        print(
            f"  figures of {notebook:<20} {sum(drawn.values()):6.2f}  ({len(drawn)} figures, "
            f"slowest {max(drawn, key=drawn.get)} {max(drawn.values()):.2f})"
        )
    for lang in mid.exports:
        times = {kind: statistics.median(r.exports[lang][kind] for r in rounds) for kind in ("html", "pdf", "docx")}
        print(f"  report.{lang}: html {times['html']:.2f}  pdf {times['pdf']:.2f}  docx {times['docx']:.2f}")
    print(f"machine: {cores} cores; python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
