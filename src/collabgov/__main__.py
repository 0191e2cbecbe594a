"""``python -m collabgov`` and the ``collabgov`` command."""

import atexit
import os
import sys

from .cli import main


def run() -> None:
    code = main()
    # The process ends without Python freeing, one by one, the objects of every library a build loaded (0.9 s
    # after a build, measured): the exit handlers run and the streams are flushed first, as at a normal exit.
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # a reader gone (`| head`), a stream closed (`1>&-`)
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
