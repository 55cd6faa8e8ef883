"""The ``redtext`` command: typer only, thin. Each command parses its options and calls one
function of :mod:`redtext.app` or :mod:`redtext.bench`; :func:`main` turns every failure into
one ``error:`` line and an exit code."""
from __future__ import annotations

import logging
import sys

import typer

from ..errors import RedtextError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Label large text pools into large label spaces with few examples, by Recursive "
                       "Expert Delegation (R.E.D.).")


def _version(value: bool) -> None:
    if value:
        from .._version import __version__

        print(f"redtext {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Label large text pools into large label spaces with few examples, by Recursive Expert Delegation (R.E.D.)."""


def log(msg: str) -> None:
    """What a command tells its user: one line on stderr."""
    print(msg, file=sys.stderr, flush=True)


class _StderrLines(logging.Handler):
    """The library's ``redtext`` log records, as plain lines on stderr."""

    def emit(self, record):
        log(record.getMessage())


def _setup_logging() -> None:
    logger = logging.getLogger("redtext")
    if not any(isinstance(h, _StderrLines) for h in logger.handlers):
        logger.addHandler(_StderrLines())
    logger.setLevel(logging.INFO)
    logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure becomes one ``error:`` line and an exit code, never a traceback."""
    try:  # recent typer ships its own copy of click
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover - older typer uses click itself
        from click import ClickException
    from typer import Abort, Exit

    _setup_logging()
    try:
        code = app(args=argv, standalone_mode=False, prog_name="redtext")
        if code == 130:  # typer turns a KeyboardInterrupt into this exit code
            print("error: interrupted; nothing more was done (a run can be continued with `redtext resume DIR`)",
                  file=sys.stderr)
            return 130
    except RedtextError as exc:
        from ..errors import ExpertError

        hint = "; fix it and continue with `redtext resume DIR`" if isinstance(exc, ExpertError) else ""
        print(f"error: {exc}{hint}", file=sys.stderr)
        return exc.exit_code
    except Exit as exc:
        return exc.exit_code
    except Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help is already on the screen
            return 2
        hint = f"; see `{ctx.command_path} --help`" if ctx is not None else ""
        print(f"error: {exc.format_message().rstrip('.')}".replace("\n", " ") + hint, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; a run can be continued with `redtext resume DIR`", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; try a smaller pool or more memory", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        import os

        from ..errors import storage_error

        if os.environ.get("REDTEXT_DEBUG"):
            raise
        refused = storage_error(exc, getattr(exc, "filename", None) or "a file", "check the path, its permissions "
                                "and the free space")
        if refused is not None:
            print(f"error: {refused}", file=sys.stderr)
            return refused.exit_code
        msg = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        print(f"error: internal error ({msg}); rerun with REDTEXT_DEBUG=1 for the traceback and please report it",
              file=sys.stderr)
        return 1
    return 0


def entry() -> None:
    sys.exit(main())


# the commands register themselves on `app` when their modules are imported (in this order in --help)
from . import start  # noqa: E402,F401,I001
from . import models  # noqa: E402,F401
from . import runs  # noqa: E402,F401
from . import bench  # noqa: E402,F401
