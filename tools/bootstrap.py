"""Set up the project's environment, .venv, or say in one line what stops it and the command that mends it.

    python3 tools/bootstrap.py            # Linux, macOS (`make` runs it before anything else)
    py tools\\bootstrap.py                 # Windows PowerShell

The Python that runs this script is the one .venv is made with; with --keep (a plain `make`), the Python that
made an existing, working .venv is kept instead. The script checks that Python (the lowest version is
pyproject.toml's requires-python; venv and ensurepip present), notices a .venv left by a failed or unfinished setup
or made by another Python and makes it anew, installs `-c requirements.lock -e .[test]`, registers the Jupyter
kernel 'collabgov', and records what it installed in .venv so that the next run does nothing, at once.
--dry-run says what it would do and does nothing.

Standard library only, and it runs far enough on any Python 3 to say what is wrong with it.
Messages follow the user's language, by the rule of collabgov.sites.user_language (Indonesian or English).
"""

import glob
import hashlib
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")
RECORD = os.path.join(VENV, "collabgov-setup.json")  # written last, when everything is installed
STARTED = os.path.join(VENV, "collabgov-setup.started")  # present while an install runs
INPUTS = ("requirements.lock", "pyproject.toml")
SETUP = 1  # raise when what the setup does changes otherwise than through INPUTS
KERNEL, KERNEL_TITLE = "collabgov", "Python (collabgov)"
WINDOWS = os.name == "nt"
LANGUAGES = ("id", "en")

MESSAGES = {
    "en": {
        "error": "error",
        "too_old": "Python {version} ({exe}) is too old: this project needs Python {floor} or newer.",
        "no_module": "Python {version} ({exe}) cannot make a virtual environment with pip: "
        "its module {module} is missing.",
        "venv_no_pip": "the new .venv has no pip: Python {version} ({exe}) could not put it there.",
        "venv_failed": "Python {version} ({exe}) could not make .venv (its message is above).",
        "install_failed": "installing the packages failed (pip's message is above); "
        "once that is mended, run {again} again.",
        "kernel_failed": "registering the Jupyter kernel failed (the message is above); run {again} again.",
        "no_floor": 'pyproject.toml states no lowest Python (requires-python = ">=3.X").',
        "os_error": "{path}: {detail}",
        "interrupted": "interrupted; the next run of {again} starts the setup anew.",
        "fix_apt": "  Debian/Ubuntu: sudo apt install python{minor}-venv",
        "fix_brew": "  macOS: brew install python@{minor}  (or the installer from python.org)",
        "fix_windows": "  Windows: the Python {minor} installer from python.org, with 'pip' ticked",
        "then": "  then: {command}",
        "made_by_other": ".venv was made by Python {old} ({old_exe}), not by the Python asked for, {version} ({exe})",
        "python_gone": ".venv's Python ({exe}) no longer runs",
        "no_pip": ".venv has no pip (left by a setup that failed?)",
        "unfinished": "the last setup of .venv did not finish",
        "not_venv": ".venv is not a virtual environment (it has no pyvenv.cfg)",
        "anew": "==> {reason}: making it anew",
        "changed": "==> {files} changed since .venv was set up: installing again",
        "making": "==> making .venv with Python {version} ({exe})",
        "installing": "==> installing the packages pinned in requirements.lock (a few minutes the first time)",
        "kernel": "==> registering the Jupyter kernel '{kernel}'",
        "ready": "==> .venv is ready: {python}",
    },
    "id": {
        "error": "galat",
        "too_old": "Python {version} ({exe}) terlalu lama: proyek ini memerlukan Python {floor} atau yang lebih baru.",
        "no_module": "Python {version} ({exe}) tidak dapat membuat lingkungan virtual dengan pip: "
        "modul {module} tidak ada.",
        "venv_no_pip": ".venv yang baru tidak berisi pip: Python {version} ({exe}) tidak dapat memasangnya.",
        "venv_failed": "Python {version} ({exe}) tidak dapat membuat .venv (pesannya ada di atas).",
        "install_failed": "pemasangan paket gagal (pesan pip ada di atas); "
        "sesudah masalahnya diatasi, jalankan {again} lagi.",
        "kernel_failed": "pendaftaran kernel Jupyter gagal (pesannya ada di atas); jalankan {again} lagi.",
        "no_floor": 'pyproject.toml tidak menyebut versi Python terendah (requires-python = ">=3.X").',
        "os_error": "{path}: {detail}",
        "interrupted": "dihentikan; {again} berikutnya memulai penyiapan dari awal.",
        "fix_apt": "  Debian/Ubuntu: sudo apt install python{minor}-venv",
        "fix_brew": "  macOS: brew install python@{minor}  (atau penginstal dari python.org)",
        "fix_windows": "  Windows: penginstal Python {minor} dari python.org, dengan 'pip' dicentang",
        "then": "  lalu: {command}",
        "made_by_other": ".venv dibuat oleh Python {old} ({old_exe}), "
        "bukan oleh Python yang diminta, {version} ({exe})",
        "python_gone": "Python milik .venv ({exe}) tidak dapat dijalankan lagi",
        "no_pip": ".venv tidak berisi pip (sisa penyiapan yang gagal?)",
        "unfinished": "penyiapan .venv yang terakhir tidak selesai",
        "not_venv": ".venv bukan lingkungan virtual (tidak ada pyvenv.cfg)",
        "anew": "==> {reason}: dibuat ulang",
        "changed": "==> {files} berubah sejak .venv disiapkan: paket dipasang lagi",
        "making": "==> membuat .venv dengan Python {version} ({exe})",
        "installing": "==> memasang paket yang dikunci di requirements.lock (beberapa menit pada kali pertama)",
        "kernel": "==> mendaftarkan kernel Jupyter '{kernel}'",
        "ready": "==> .venv siap: {python}",
    },
}


def user_language(environ=None):
    """$COLLABGOV_LANG, else the locale's (LC_ALL, LANG), else English: the rule of collabgov.sites.user_language."""
    environ = os.environ if environ is None else environ
    for key in ("COLLABGOV_LANG", "LC_ALL", "LANG"):
        value = environ.get(key)
        if value and value[:2].lower() in LANGUAGES:
            return value[:2].lower()
    return "en"


LANG = user_language()


def text(key, **values):
    return MESSAGES[LANG][key].format(**values)


def say(key, **values):
    print(text(key, **values), flush=True)


class Stop(Exception):
    """What stops the setup: the message's key and values, and the lines of the command that mends it."""

    def __init__(self, key, fix=(), code=1, **values):
        Exception.__init__(self, key)
        self.key, self.fix, self.code, self.values = key, list(fix), code, values


# --- the Python asked for -------------------------------------------------------------------------------------


def version_text(info):
    return ".".join(str(part) for part in tuple(info)[:3])


def minor_text(info):
    return ".".join(str(part) for part in tuple(info)[:2])


def floor():
    """pyproject.toml's requires-python (">=3.X[.Y]"), as a tuple of ints: the one place it is stated."""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        match = re.search(r'^requires-python\s*=\s*">=\s*([0-9]+(?:\.[0-9]+){1,2})\s*"', f.read(), re.M)
    if not match:
        raise Stop("no_floor", code=2)
    return tuple(int(part) for part in match.group(1).split("."))


def same_file(a, b):
    return bool(a and b) and os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def base_python():
    """The interpreter running this script, or the one a virtual environment running it was made from."""
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
        return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    return os.path.realpath(sys.executable)


def has_module(name):
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    # an empty folder of that name is found as a namespace package, without code
    return spec is not None and spec.origin not in (None, "namespace")


def again_command(python_command=None):
    """How the user runs the setup again, with ``python_command`` (python3.X) or the same Python: through make
    (which exports MAKELEVEL, and PYTHON when it was named) or by this script."""
    script = os.path.join("tools", "bootstrap.py")
    if os.environ.get("MAKELEVEL"):
        named = python_command or os.environ.get("PYTHON")
        return f"make PYTHON={named}" if named else "make"
    if WINDOWS:
        return f"py -{python_command[len('python') :] if python_command else minor_text(sys.version_info)} {script}"
    return f"{python_command or sys.executable} {script}"


def fixes(minor, then=None):
    """The command that installs what is missing, for this kind of machine (both Unix ones when unsure)."""
    if WINDOWS:
        lines = [text("fix_windows", minor=minor)]
    elif sys.platform == "darwin":
        lines = [text("fix_brew", minor=minor)]
    elif sys.platform.startswith("linux"):
        lines = [text("fix_apt", minor=minor)]
    else:
        lines = [text("fix_apt", minor=minor), text("fix_brew", minor=minor)]
    return lines + [text("then", command=then or again_command())]


def check_version(lowest):
    """Stop, with the command that mends it, when the running Python is older than the project supports."""
    if tuple(sys.version_info[: len(lowest)]) < lowest:
        here = {"version": version_text(sys.version_info), "exe": sys.executable}
        minor = minor_text(lowest)
        raise Stop("too_old", fixes(minor, again_command("python" + minor)), 2, floor=version_text(lowest), **here)


def check_modules():
    """Stop, with the command that mends it, when the running Python cannot make a virtual environment with pip."""
    here = {"version": version_text(sys.version_info), "exe": sys.executable}
    for module in ("venv", "ensurepip"):
        if not has_module(module):
            raise Stop("no_module", fixes(minor_text(sys.version_info)), 2, module=module, **here)


# --- the environment as it is ---------------------------------------------------------------------------------


def venv_python():
    return os.path.join(VENV, "Scripts", "python.exe") if WINDOWS else os.path.join(VENV, "bin", "python")


def read_config():
    """pyvenv.cfg as a dict, or None when .venv has none."""
    try:
        with open(os.path.join(VENV, "pyvenv.cfg"), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    pairs = (line.split("=", 1) for line in lines if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def maker(config):
    """The Python that made .venv, as pyvenv.cfg records it."""
    if config.get("executable"):
        return config["executable"]
    name = "python.exe" if WINDOWS else "python3"
    return os.path.join(config.get("home", ""), name)


def has_pip():
    pattern = ("Lib", "site-packages") if WINDOWS else ("lib", "python*", "site-packages")
    return bool(glob.glob(os.path.join(VENV, *pattern, "pip", "__init__.py")))


def has_kernel():
    return os.path.isfile(os.path.join(VENV, "share", "jupyter", "kernels", KERNEL, "kernel.json"))


def record():
    try:
        with open(RECORD, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def changed_inputs(recorded):
    """The files of INPUTS whose contents differ from those .venv was set up with."""
    return [name for name in INPUTS if recorded.get(name) != file_digest(name)]


def file_digest(name):
    with open(os.path.join(ROOT, name), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def is_ready():
    """Everything installed and recorded: what the quick path, run by .venv's own Python, checks."""
    recorded = record()
    return (
        bool(recorded)
        and recorded.get("setup") == SETUP
        and not changed_inputs(recorded)
        and not os.path.exists(STARTED)
        and has_pip()
        and has_kernel()
    )


def runs(python):
    import subprocess

    try:
        return subprocess.call([python, "-c", ""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0
    except OSError:
        return False


# --- what to do --------------------------------------------------------------------------------------------------


def plan(python, keep):
    """What the setup must do for .venv to be ready with ``python``: (the line that says why, or None; the steps,
    of "make", "install" and "kernel"). No steps: nothing to do."""
    everything = ["make", "install", "kernel"]
    config = read_config()
    if config is None:
        return (text("anew", reason=text("not_venv")) if os.path.exists(VENV) else None), everything
    old = maker(config)
    if not same_file(old, python):
        if keep or not os.path.exists(old):
            return text("anew", reason=text("python_gone", exe=old)), everything
        here = {"version": version_text(sys.version_info), "exe": python}
        old_version = config.get("version") or config.get("version_info", "?")
        return text("anew", reason=text("made_by_other", old=old_version, old_exe=old, **here)), everything
    if os.path.exists(STARTED):
        return text("anew", reason=text("unfinished")), everything
    if not os.path.exists(venv_python()) or not runs(venv_python()):
        return text("anew", reason=text("python_gone", exe=venv_python())), everything
    if not has_pip():
        return text("anew", reason=text("no_pip")), everything
    recorded = record()
    if not recorded or recorded.get("setup") != SETUP:
        return None, ["install", "kernel"]
    changed = changed_inputs(recorded)
    if changed:
        return text("changed", files=", ".join(changed)), ["install", "kernel"]
    return None, ([] if has_kernel() else ["kernel"])


def run(command, quiet=False):
    import subprocess

    return subprocess.call(command, cwd=ROOT, stdout=subprocess.DEVNULL if quiet else None)


def remove_venv():
    import shutil
    import stat

    def writable_again(function, path, _):
        os.chmod(path, stat.S_IWRITE)
        function(path)

    if sys.version_info >= (3, 12):
        shutil.rmtree(VENV, onexc=writable_again)
    else:
        shutil.rmtree(VENV, onerror=writable_again)


def make_venv(here):
    say("making", **here)
    if run([sys.executable, "-m", "venv", VENV]) != 0:
        raise Stop("venv_failed", **here)
    if not has_pip():
        raise Stop("venv_no_pip", fixes(minor_text(sys.version_info)), 2, **here)


def install():
    say("installing")
    with open(STARTED, "w", encoding="utf-8") as f:
        f.write("started\n")
    if os.path.exists(RECORD):
        os.remove(RECORD)
    command = [venv_python(), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if run(command + ["-c", "requirements.lock", "-e", ".[test]"]) != 0:
        raise Stop("install_failed", again=again_command())


def register_kernel():
    say("kernel", kernel=KERNEL)
    command = [venv_python(), "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL]
    if run(command + ["--display-name", KERNEL_TITLE], quiet=True) != 0:
        raise Stop("kernel_failed", again=again_command())


def write_record(python):
    recorded = {"setup": SETUP, "python": python, "version": version_text(sys.version_info)}
    recorded.update((name, file_digest(name)) for name in INPUTS)
    with open(RECORD + ".tmp", "w", encoding="utf-8") as f:
        json.dump(recorded, f, indent=1)
    os.replace(RECORD + ".tmp", RECORD)
    if os.path.exists(STARTED):
        os.remove(STARTED)


def setup(keep, dry_run):
    """Returns the exit status."""
    import subprocess

    inside = same_file(sys.prefix, VENV)
    if inside and is_ready():
        return 0  # the quick path: nothing to do
    own = [os.path.abspath(__file__)] + (["--dry-run"] if dry_run else [])
    if inside:
        # .venv's own Python cannot make .venv anew: hand over to the Python it was made from
        return subprocess.call([base_python()] + own)
    config = read_config()
    if keep and config and not same_file(maker(config), base_python()) and runs(maker(config)):
        return subprocess.call([maker(config)] + own)  # a plain `make` keeps the Python .venv was made with
    python = base_python()
    check_version(floor())
    note, steps = plan(python, keep)
    if not steps:
        return 0
    if "make" in steps:
        check_modules()
    here = {"version": version_text(sys.version_info), "exe": python}
    if note:
        print(note, flush=True)
    if dry_run:
        for step in steps:
            say({"make": "making", "install": "installing", "kernel": "kernel"}[step], kernel=KERNEL, **here)
        return 0
    if "make" in steps:
        if os.path.exists(VENV):
            remove_venv()
        make_venv(here)
    if "install" in steps:
        install()
    register_kernel()
    write_record(python)
    say("ready", python=os.path.relpath(venv_python(), ROOT))
    return 0


def complain(key, **values):
    print(f"{text('error')}: {text(key, **values)}", file=sys.stderr)


def main(argv):
    try:
        return setup(keep="--keep" in argv, dry_run="--dry-run" in argv)
    except Stop as stop:
        complain(stop.key, **stop.values)
        for line in stop.fix:
            print(line, file=sys.stderr)
        return stop.code
    except KeyboardInterrupt:
        complain("interrupted", again=again_command())
        return 130
    except OSError as exc:
        complain("os_error", path=exc.filename or "?", detail=exc.strerror or str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
