"""Build Pujud from a clone and from a `git archive` copy of HEAD with each Python named, as a reader would
(`make PYTHON=...`, then `make verify`), and compare what they made with the first Python's clone: the SHA-256 of
every figure and the text of both PDFs. Prints a Markdown table. Standard library only; a few minutes per Python.

    python3 tools/python_matrix.py PYTHON [PYTHON ...] [--work FOLDER]
"""

import argparse
import hashlib
import io
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PDF_TEXT = (
    "import sys, pypdf\n"
    "for path in sys.argv[1:]:\n"
    "    print('\\n'.join(page.extract_text() for page in pypdf.PdfReader(path).pages))\n"
)


def copy(kind: str, commit: str, target: Path) -> None:
    if kind == "clone":
        subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True)
        subprocess.run(["git", "-C", str(target), "checkout", "-q", commit], check=True)
    else:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
        target.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target)


def make(folder: Path, *args: str) -> tuple[int, float]:
    start = time.perf_counter()
    done = subprocess.run(["make", *args], cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return done.returncode, time.perf_counter() - start


def figures(folder: Path) -> dict[str, str]:
    made = folder / "figures" / "pujud"
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(made.iterdir())
        if p.suffix in (".png", ".svg")
    }


def pdf_lines(folder: Path) -> list[str]:
    pdfs = [str(folder / "reports" / "pujud" / f"report.{lang}.pdf") for lang in ("id", "en")]
    python = folder / ".venv" / "bin" / "python"
    text = subprocess.run([str(python), "-c", PDF_TEXT, *pdfs], capture_output=True, text=True, check=True).stdout
    return text.splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pythons", nargs="+")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="python-matrix-"))
    rows, reference = [], None
    # one commit for every copy, whatever is committed meanwhile
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    commit = head.stdout.strip()
    for python in args.pythons:
        version = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for kind in ("clone", "archive"):
            folder = work / f"{kind}-{version}"
            copy(kind, commit, folder)
            built, build_s = make(folder, f"PYTHON={python}")
            verified, verify_s = make(folder, "verify")
            if built != 0:
                rows.append((version, kind, built, build_s, verified, verify_s, "-", "-"))
                continue
            made = (figures(folder), pdf_lines(folder))
            reference = reference or made
            same = sum(reference[0].get(name) == digest for name, digest in made[0].items())
            figs = f"{same} of {len(made[0])}" + ("" if set(made[0]) == set(reference[0]) else " (other names)")
            differ = [line for line in made[1] if line not in reference[1]]
            text = "identical" if made[1] == reference[1] else f"{len(differ)} line(s) differ: {differ}"
            rows.append((version, kind, built, build_s, verified, verify_s, figs, text))
    print(f"commit {commit}; work folder: {work}\n")
    print(
        "| Python | copy | `make` (exit, s) | `make verify` (exit, s) | figures as the first | PDF text as the first |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for version, kind, built, build_s, verified, verify_s, figs, text in rows:
        print(f"| {version} | {kind} | {built}, {build_s:.0f} | {verified}, {verify_s:.0f} | {figs} | {text} |")


if __name__ == "__main__":
    main()
