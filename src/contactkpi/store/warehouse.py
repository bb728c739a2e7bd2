"""The warehouse: where canonical rows live. The only code that opens a connection.

A warehouse is reached through Ibis, so any Ibis backend can hold it; the default is an
embedded DuckDB file. ``Warehouse.open("contactkpi.duckdb")``, ``Warehouse.open(
"duckdb:///abs/path.duckdb")`` or ``Warehouse.from_backend(ibis.pyspark.connect(...))``.

Besides the canonical tables (``contactkpi.model.TABLES``) it keeps two of its own:
``load_log`` (one row per successful load) and ``rejects`` (one row per problem found in an
input row, with file, line, field and reason).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
from ibis.backends import BaseBackend

from contactkpi.errors import WarehouseError
from contactkpi.model import TABLES

LOAD_LOG = "load_log"
REJECTS = "rejects"

LOAD_LOG_SCHEMA: dict[str, dt.DataType] = {
    "load_id": dt.string,
    "loaded_at": dt.Timestamp(timezone="UTC", scale=6),
    "tenant": dt.string,
    "source_kind": dt.string,
    "source_file": dt.string,
    "source_sha256": dt.string,
    "source_bytes": dt.int64,
    "tables": dt.string,
    "rows_read": dt.int64,
    "rows_loaded": dt.int64,
    "rows_replaced": dt.int64,
    "rows_duplicate": dt.int64,
    "rows_rejected": dt.int64,
    "seconds": dt.float64,
}

REJECTS_SCHEMA: dict[str, dt.DataType] = {
    "load_id": dt.string,
    "tenant": dt.string,
    "source_kind": dt.string,
    "source_file": dt.string,
    "source_sha256": dt.string,
    "line": dt.int64,
    "table_name": dt.string,
    "field": dt.string,
    "value": dt.string,
    "reason_code": dt.string,
    "reason": dt.string,
}


def _url(target: str | Path) -> str:
    text = str(target)
    if "://" in text:
        return text
    return f"duckdb://{Path(text).expanduser().resolve()}"


class Warehouse:
    """Canonical tables behind one Ibis connection."""

    def __init__(self, con: BaseBackend, url: str):
        self.con = con
        self.url = url

    @classmethod
    def open(cls, target: str | Path, *, create: bool = True, read_only: bool = False
             ) -> Warehouse:
        """Open (and, unless ``create`` is False, initialise) the warehouse at ``target``.

        ``target`` is a path to a DuckDB file or an Ibis URL. A missing DuckDB file is a
        WarehouseError when ``create`` is False.
        """
        url = _url(target)
        if url.startswith("duckdb://") and url != "duckdb://:memory:":
            path = Path(url.removeprefix("duckdb://"))
            if not create and not path.exists():
                raise WarehouseError(f"no warehouse at {path}", where="--warehouse",
                                     hint="run `contactkpi init` first or pass --warehouse PATH")
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
        try:
            kwargs: dict[str, Any] = {"read_only": True} if read_only else {}
            con = ibis.connect(url, **kwargs)
        except Exception as exc:  # the backend's own error types vary
            raise WarehouseError(f"cannot open warehouse {url}: {exc}", where="--warehouse",
                                 hint="check the path or URL; a DuckDB file may be locked by "
                                 "another process") from None
        wh = cls(con, url)
        if create and not read_only:
            wh.ensure_tables()
        return wh

    @classmethod
    def memory(cls) -> Warehouse:
        """A fresh in-memory DuckDB warehouse (tests, notebooks)."""
        wh = cls(ibis.duckdb.connect(), "duckdb://:memory:")
        wh.ensure_tables()
        return wh

    @classmethod
    def from_backend(cls, con: BaseBackend, url: str = "ibis://backend") -> Warehouse:
        """Wrap any connected Ibis backend (PySpark, Postgres, ...)."""
        return cls(con, url)

    @property
    def backend_name(self) -> str:
        return str(self.con.name)

    @property
    def is_duckdb(self) -> bool:
        return self.backend_name == "duckdb"

    def ensure_tables(self) -> None:
        """Create every canonical table and the bookkeeping tables that do not exist yet."""
        existing = set(self.con.list_tables())
        wanted: dict[str, dict[str, dt.DataType]] = {n: t.schema() for n, t in TABLES.items()}
        wanted[LOAD_LOG] = LOAD_LOG_SCHEMA
        wanted[REJECTS] = REJECTS_SCHEMA
        for name, schema in wanted.items():
            if name not in existing:
                self.con.create_table(name, schema=ibis.schema(schema))

    def has_table(self, name: str) -> bool:
        return name in self.con.list_tables()

    def table(self, name: str, tenant: str | None = None) -> ibis.Table:
        """The table ``name``; scoped to one tenant when ``tenant`` is given."""
        if not self.has_table(name):
            raise WarehouseError(f"table {name!r} not in the warehouse {self.url}",
                                 hint="run `contactkpi init` to create the tables")
        t = self.con.table(name)
        if tenant is not None and "tenant" in t.columns:
            t = t.filter(t.tenant == tenant)
        return t

    def raw_duckdb(self) -> Any:
        """The underlying duckdb connection (loads use it for transactions)."""
        if not self.is_duckdb:
            raise WarehouseError(
                f"loading needs a DuckDB warehouse, this one is {self.backend_name}",
                where="--warehouse",
                hint="ingest into a DuckDB file, then point Spark at its Parquet export",
            )
        return self.con.con  # type: ignore[attr-defined]

    def close(self) -> None:
        disconnect = getattr(self.con, "disconnect", None)
        if disconnect is not None:
            disconnect()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
