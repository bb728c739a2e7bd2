"""Entry point of the ``contactkpi`` command.

Each noun lives in its own module with a ``register(app)`` function; ``COMMAND_MODULES``
lists them. Errors a user can act on print one line (``error: where: message`` and a
``hint:``) and exit 2; no traceback for bad input.
"""

from __future__ import annotations

import importlib
import sys

from contactkpi.cli.context import app
from contactkpi.errors import ContactKpiError, InternalError, UserError

#: Modules under contactkpi.cli that add commands to ``app``, in --help order.
COMMAND_MODULES = (
    "setup",
    "ingest",
    "wfm",
    "simulate",
    "metrics",
    "demo",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"contactkpi.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors exit 2 with one clear message on stderr."""
    from contactkpi.cli.output import print_error

    try:
        # standalone mode: click prints usage errors itself and exits 2
        app(args=argv, standalone_mode=True)
    except UserError as exc:
        print_error(exc.message, where=exc.where, hint=exc.hint)
        sys.exit(2)
    except InternalError as exc:
        print_error(f"internal error (a bug in contactkpi, please report it): {exc}")
        sys.exit(1)
    except ContactKpiError as exc:
        print_error(str(exc))
        sys.exit(1)


if __name__ == "__main__":
    main()
