"""The one place that turns exceptions into messages and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

from beast_observatory import __version__
from beast_observatory.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_USER_ERROR, ObservatoryError

BUG_HINT = (
    "internal error: {kind}: {exc}\n"
    "  this is a bug in beast-observatory {version}: please report it with the command you ran "
    "(set OBSERVATORY_DEBUG=1 for the traceback)"
)


def _show_user_error(exc: typer.TyperException | OSError) -> None:
    if isinstance(exc, OSError):  # a path that is a file, a missing folder, permissions, ...
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        print("  hint: check the path and its permissions", file=sys.stderr)
        return
    show = getattr(exc, "show", None)  # usage errors: bad option, missing argument
    if callable(show):
        show()
    else:
        print(f"error: {exc.format_message()}", file=sys.stderr)


def run_guarded(entry: Callable[[], object]) -> int:  # noqa: PLR0911 - one exit path per kind
    """Run the click entry point; return the process exit code."""
    import os  # noqa: PLC0415

    try:
        result = entry()
    except ObservatoryError as exc:
        print(exc.render(), file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (typer.TyperException, OSError) as exc:
        _show_user_error(exc)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last line of defence: no traceback for users
        if os.environ.get("OBSERVATORY_DEBUG"):
            raise
        print(
            BUG_HINT.format(kind=type(exc).__name__, exc=exc, version=__version__), file=sys.stderr
        )
        return EXIT_BUG
    if result == EXIT_INTERRUPTED:  # typer catches Ctrl-C itself and returns 130, silently
        print("interrupted", file=sys.stderr)
    return result if isinstance(result, int) else 0
