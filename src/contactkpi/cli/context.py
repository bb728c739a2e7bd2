"""The Typer app and the options every command shares (--warehouse, --config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from contactkpi.config import Settings, load_settings

app = typer.Typer(
    name="contactkpi",
    help="Contact-center KPIs from the raw records your systems already write.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class State:
    """Global options, resolved lazily so --help never touches the disk."""

    warehouse: str | None = None
    config: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(config=self.config, warehouse=self.warehouse)
        return self._settings


STATE = State()


@app.callback()
def _global_options(
    warehouse: str | None = typer.Option(
        None, "--warehouse", "-w", envvar="CONTACTKPI_WAREHOUSE",
        help="Warehouse: a DuckDB file path or an Ibis URL. Default from contactkpi.toml, "
        "else ./contactkpi.duckdb.",
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", envvar="CONTACTKPI_CONFIG",
        help="Config file. Default ./contactkpi.toml when it exists.",
    ),
) -> None:
    STATE.warehouse = warehouse
    STATE.config = config
    STATE._settings = None


def open_warehouse(*, create: bool = False, read_only: bool = False):  # noqa: ANN201
    """The warehouse named by the settings; missing -> a user error saying to run init."""
    from contactkpi.store import Warehouse

    return Warehouse.open(STATE.settings.warehouse, create=create, read_only=read_only)
