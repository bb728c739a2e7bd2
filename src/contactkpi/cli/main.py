"""Entry point of the ``contactkpi`` command.

Each noun lives in its own module with a ``register(app)`` function; ``COMMAND_MODULES``
lists them. Errors a user can act on print one line (``error: where: message`` and a
``hint:``) and exit 2; no traceback for bad input.
"""

from __future__ import annotations

import importlib
import sys

import typer

from contactkpi.cli.context import app
from contactkpi.errors import ContactKpiError, InternalError, UserError

#: Modules under contactkpi.cli that add commands to ``app``, in --help order.
COMMAND_MODULES = (
    "setup",
    "ingest",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"contactkpi.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors exit 2 with one clear message on stderr."""
    from contactkpi.cli.output import print_error

    try:
        app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print_error("aborted")
        sys.exit(1)
    except UserError as exc:
        print_error(exc.message, where=exc.where, hint=exc.hint)
        sys.exit(2)
    except InternalError as exc:
        print_error(f"internal error (a bug in contactkpi, please report it): {exc}")
        sys.exit(1)
    except ContactKpiError as exc:
        print_error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        print_error("interrupted")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(2 if isinstance(exc, click.exceptions.UsageError) else exc.exit_code)
        raise


if __name__ == "__main__":
    main()
