"""Atomic, idempotent loads and the load ledger.

One file is one load, in one transaction:

0. a source may first read the file, and what it needs of the warehouse, into temp tables
   of its own (``Batch.prepare``, run just before the transaction; it is run again inside
   the transaction if another load committed meanwhile, so what it read is what the
   transaction sees);
1. every batch the source yields is conformed to the model: frames by
   ``model.validate.conform``, typed rows a source derived in DuckDB (``SqlRows``) by the
   same checks written as SQL (``model.validate_sql``); good rows go to a temporary staging
   table per canonical table (or, for ``SqlRows`` whose keys are all new, straight into the
   table), problems to the rejects;
2. within the file, rows with the same primary key keep the last occurrence;
3. each staged row is compared with the warehouse by primary key: *new* rows are inserted,
   *changed* rows replace the stored row, *identical* rows are counted as duplicates;
4. the rejects of an earlier load of the same file content are replaced by this load's, and a
   ``load_log`` row is written;
5. COMMIT. Any exception before that rolls everything back: a load that fails half-way
   leaves nothing behind.

Loading the same file twice, or two files that overlap, therefore stores each row once.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from contactkpi.model import TABLES, Table
from contactkpi.model.columns import quote
from contactkpi.model.validate import LINE, conform, empty_rejects
from contactkpi.model.validate_sql import (
    NotTyped,
    SqlCheck,
    SqlRows,
    check_sql,
    checked_once,
    drop_relation,
    keys_repeat_in,
    sql_type,
)
from contactkpi.sources.base import Batch, SourceFile
from contactkpi.store.warehouse import LOAD_LOG, REJECTS, Warehouse


@dataclass
class TableCounts:
    """What happened to the rows of one canonical table in one load."""

    staged: int = 0
    loaded: int = 0  # new rows inserted
    replaced: int = 0  # rows whose key existed with other values
    duplicate: int = 0  # identical to a stored row, or repeated inside the file


@dataclass
class LoadResult:
    """Summary of one load: every source record is loaded, a duplicate or rejected."""

    load_id: str
    source: SourceFile
    tenant: str
    rows_read: int = 0
    rows_rejected: int = 0
    rejects: int = 0  # problems found (a rejected row may have several)
    tables: dict[str, TableCounts] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows_loaded(self) -> int:
        return sum(c.loaded for c in self.tables.values())

    @property
    def rows_replaced(self) -> int:
        return sum(c.replaced for c in self.tables.values())

    @property
    def rows_duplicate(self) -> int:
        return sum(c.duplicate for c in self.tables.values())


def _stage_name(table: str) -> str:
    return f"_stage_{table}"


def _on_keys(table: Table) -> str:
    """Join condition on the primary key of rows ``s`` and stored rows ``t``."""
    return " AND ".join(f"s.{quote(k)} IS NOT DISTINCT FROM t.{quote(k)}"
                        for k in table.primary_key)


class _Loader:
    """The state of one load inside its transaction."""

    def __init__(self, wh: Warehouse, source: SourceFile, tenant: str):
        self.wh = wh
        self.db = wh.raw_duckdb()
        self.result = LoadResult(load_id=uuid.uuid4().hex, source=source, tenant=tenant)
        self.rejects: list[pd.DataFrame] = []
        self.staged: set[str] = set()
        self.seq = 0

    def _create_stage(self, table: Table) -> None:
        """The staging table of ``table`` in this load (made once)."""
        if table.name not in self.staged:
            cols = ", ".join(f"{quote(c.name)} {sql_type(c.kind)}" for c in table.columns)
            self.db.execute(f"CREATE OR REPLACE TEMP TABLE {quote(_stage_name(table.name))} "
                            f"({cols}, {LINE} BIGINT, _seq BIGINT)")
            self.staged.add(table.name)

    def _stored_keys(self, table: Table, relation: str) -> int:
        """How many rows of ``relation`` have a key the table already stores."""
        (stored,) = self.db.execute(
            f"SELECT count(*) FROM {quote(relation)} s JOIN {quote(table.name)} t "
            f"ON {_on_keys(table)}").fetchone()
        return int(stored)

    def stage(self, table: Table, rows: pd.DataFrame) -> None:
        stage = _stage_name(table.name)
        self._create_stage(table)
        if rows.empty:
            return
        rows = rows.assign(_seq=range(self.seq, self.seq + len(rows)))
        self.seq += len(rows)
        view = f"_incoming_{table.name}"
        self.db.register(view, pa.Table.from_pandas(rows, preserve_index=False))
        try:
            select = ", ".join(f"CAST({quote(c.name)} AS {sql_type(c.kind)})"
                               for c in table.columns)
            self.db.execute(f"INSERT INTO {quote(stage)} SELECT {select}, {LINE}, _seq "
                            f"FROM {quote(view)}")
        finally:
            self.db.unregister(view)
        self.result.tables.setdefault(table.name, TableCounts()).staged += len(rows)

    def add_sql(self, table: Table, rows: SqlRows) -> pd.DataFrame:
        """Conform rows held in DuckDB and stage them (or insert them); return the rejects.

        Typed rows are checked in SQL (``model.validate_sql``); rows that need text parsing
        are read into pandas and take the ``conform`` path. When none of their keys repeats
        and none is stored yet (a new file of new calls), the good rows go straight into the
        table: the checking view is evaluated once, by that insert. Otherwise they are
        staged for the keyed merge. The relation is dropped.
        """
        try:
            try:
                checked = check_sql(self.db, table, rows.name)
            except NotTyped:
                conformed = conform(table, self.db.execute(
                    f"SELECT * FROM {quote(rows.name)}").df())
                self.stage(table, conformed.rows)
                return conformed.rejects
            total, last = self.db.execute(
                f"SELECT count(*), max({LINE}) FROM {quote(rows.name)}").fetchone()
            cols = ", ".join(quote(c.name) for c in table.columns)
            counts = self.result.tables.setdefault(table.name, TableCounts())
            if total and self._all_new(table, checked, rows.keys_unique):
                with checked_once(self.db):
                    (good,) = self.db.execute(
                        f"INSERT INTO {quote(table.name)} ({cols}) SELECT {cols} "
                        f"FROM {quote(checked.view)} WHERE NOT _bad").fetchone()
                counts.loaded += int(good)
            else:
                self._create_stage(table)
                # rows derived from one line keep the file's order: _seq = seq + line
                with checked_once(self.db):
                    (good,) = self.db.execute(
                        f"INSERT INTO {quote(_stage_name(table.name))} SELECT {cols}, {LINE}, "
                        f"{self.seq} + {LINE} FROM {quote(checked.view)} WHERE NOT _bad"
                    ).fetchone()
                self.seq += int(last or 0) + 1
            counts.staged += int(good)
            rejects = checked.rejects(self.db) if good < total else empty_rejects()
            checked.drop(self.db)
            return rejects
        finally:
            drop_relation(self.db, rows.name)
            for name in rows.under:
                drop_relation(self.db, name)

    def _all_new(self, table: Table, checked: SqlCheck, given_unique: bool = False) -> bool:
        """No key of the checked rows (good or not) repeats, is staged or is stored already."""
        return (table.name not in self.staged
                and not checked.keys_repeat(self.db, given_unique)
                and not self._stored_keys(table, checked.view))

    def add_batch(self, batch: Batch) -> None:
        if batch.prepare is not None:  # a later batch's reading step: in the transaction
            batch.prepare(self.db)
        if batch.derive is not None:  # a stateful source works inside this transaction
            self.add_batch(batch.derive(self.db))
        self.result.rows_read += batch.lines
        bad_lines: set[int] = set()
        if not batch.rejects.empty:
            self.rejects.append(batch.rejects)
            bad_lines.update(int(x) for x in batch.rejects["line"])
        for name, frame in batch.tables.items():
            table = TABLES[name]
            if isinstance(frame, SqlRows):
                rejects = self.add_sql(table, frame)
            else:
                conformed = conform(table, frame)
                rejects = conformed.rejects
                self.stage(table, conformed.rows)
            if not rejects.empty:
                self.rejects.append(rejects)
                bad_lines.update(int(x) for x in rejects["line"])
            self.result.tables.setdefault(name, TableCounts())
        self.result.rows_rejected += len(bad_lines)

    def merge(self, table: Table) -> None:
        """Keyed merge of the staging table into ``table`` (see the module docstring).

        The general path marks every staged row new / same / changed with a join on the
        key. Two cheap counts first skip what a load does not need: the in-file dedup when
        no key repeats, and the whole comparison when no staged key is stored yet (a new
        file of new contacts is then one insert).
        """
        counts = self.result.tables[table.name]
        stage = _stage_name(table.name)
        cols = ", ".join(quote(c.name) for c in table.columns)
        part = ", ".join(quote(k) for k in table.primary_key)
        (staged,) = self.db.execute(f"SELECT count(*) FROM {quote(stage)}").fetchone()
        if keys_repeat_in(self.db, stage, table.primary_key):
            self.db.execute(
                f"CREATE OR REPLACE TEMP TABLE _dedup AS SELECT {cols} FROM ("
                f"SELECT *, row_number() OVER (PARTITION BY {part} ORDER BY _seq DESC) AS _rn "
                f"FROM {quote(stage)}) WHERE _rn = 1")
            (unique,) = self.db.execute("SELECT count(*) FROM _dedup").fetchone()
            source = "_dedup"
        else:
            unique, source = staged, stage
        in_file_dups = staged - unique
        if not self._stored_keys(table, source):
            counts.loaded += int(unique)
            counts.duplicate += int(in_file_dups)
            if unique:
                self.db.execute(f"INSERT INTO {quote(table.name)} ({cols}) "
                                f"SELECT {cols} FROM {quote(source)}")
        else:
            self._merge_stored(table, source, in_file_dups)
        self.db.execute("DROP TABLE IF EXISTS _dedup")
        self.db.execute(f"DROP TABLE IF EXISTS {quote(stage)}")

    def _merge_stored(self, table: Table, source: str, in_file_dups: int) -> None:
        """The general path: new rows inserted, changed rows replaced, same rows counted."""
        counts = self.result.tables[table.name]
        target = quote(table.name)
        keys = table.primary_key
        on_keys = _on_keys(table)
        others = [c.name for c in table.columns if c.name not in keys]
        cols = ", ".join(quote(c.name) for c in table.columns)
        same = " AND ".join(f"s.{quote(c)} IS NOT DISTINCT FROM t.{quote(c)}"
                            for c in others) or "TRUE"
        self.db.execute(
            "CREATE OR REPLACE TEMP TABLE _status AS SELECT s.*, CASE "
            "WHEN t._hit IS NULL THEN 'new' "
            f"WHEN {same} THEN 'same' ELSE 'changed' END AS _status "
            f"FROM {quote(source)} s LEFT JOIN (SELECT *, TRUE AS _hit FROM {target}) t "
            f"ON {on_keys}")
        status = dict(self.db.execute(
            "SELECT _status, count(*) FROM _status GROUP BY _status").fetchall())
        new, changed = int(status.get("new", 0)), int(status.get("changed", 0))
        counts.loaded += new
        counts.replaced += changed
        counts.duplicate += int(status.get("same", 0)) + int(in_file_dups)
        if changed:
            del_keys = " AND ".join(f"{target}.{quote(k)} IS NOT DISTINCT FROM c.{quote(k)}"
                                    for k in keys)
            self.db.execute(
                f"DELETE FROM {target} USING (SELECT * FROM _status WHERE _status = 'changed') c "
                f"WHERE {del_keys}")
        if new or changed:
            self.db.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM _status "
                            "WHERE _status <> 'same'")
        self.db.execute("DROP TABLE IF EXISTS _status")

    def write_rejects(self) -> None:
        r = self.result
        src = r.source
        self.db.execute(f"DELETE FROM {REJECTS} WHERE tenant = ? AND source_sha256 = ? "
                        "AND source_kind = ?", [r.tenant, src.sha256, src.kind])
        if not self.rejects:
            return
        frame = pd.concat(self.rejects, ignore_index=True)
        frame = frame.assign(load_id=r.load_id, tenant=r.tenant, source_kind=src.kind,
                             source_file=str(src.path), source_sha256=src.sha256)
        r.rejects = len(frame)
        self.db.register("_incoming_rejects", frame)
        try:
            self.db.execute(
                f"INSERT INTO {REJECTS} (load_id, tenant, source_kind, source_file, "
                "source_sha256, line, table_name, field, value, reason_code, reason) "
                "SELECT load_id, tenant, source_kind, source_file, source_sha256, "
                "CAST(line AS BIGINT), table_name, field, CAST(value AS VARCHAR), reason_code, "
                "reason FROM _incoming_rejects")
        finally:
            self.db.unregister("_incoming_rejects")

    def write_log(self) -> None:
        r = self.result
        self.db.execute(
            f"INSERT INTO {LOAD_LOG} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [r.load_id, datetime.now(UTC), r.tenant, r.source.kind, str(r.source.path),
             r.source.sha256, r.source.size, ",".join(sorted(r.tables)), r.rows_read,
             r.rows_loaded, r.rows_replaced, r.rows_duplicate, r.rows_rejected, r.seconds])


def load(
    wh: Warehouse,
    source: SourceFile,
    batches: Iterable[Batch],
    tenant: str,
    on_batch: Callable[[LoadResult], None] | None = None,
) -> LoadResult:
    """Load every batch of one source file atomically; see the module docstring.

    Args:
        wh: a DuckDB warehouse.
        source: the file, its kind and hash, as the load log records them.
        batches: the source's batches (consumed lazily, inside the transaction).
        tenant: the tenant named in the load log and rejects.
        on_batch: called after each batch with the running result (progress display).

    Returns:
        The counts of the load. Raises whatever the source raised, after rolling back.
    """
    started = time.perf_counter()
    loader = _Loader(wh, source, tenant)
    db = loader.db
    pending = iter(batches)
    first = next(pending, None)  # the source starts reading before the transaction
    prepared = first is not None and first.prepare is not None
    if prepared:
        committed = _committed_loads(db)
        first.prepare(db)  # writes only temp tables (see Batch.prepare)
    db.execute("BEGIN TRANSACTION")
    try:
        if prepared:
            if _committed_loads(db) != committed:
                # another load committed while this one prepared: what it read of the
                # warehouse may be out of date, so prepare again, inside the transaction
                first.prepare(db)
            first = replace(first, prepare=None)
        for batch in chain([] if first is None else [first], pending):
            loader.add_batch(batch)
            if on_batch is not None:
                on_batch(loader.result)
        for name in sorted(loader.result.tables):
            if name in loader.staged:
                loader.merge(TABLES[name])
        loader.result.seconds = time.perf_counter() - started
        loader.write_rejects()
        loader.write_log()
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        for name in loader.staged:
            db.execute(f"DROP TABLE IF EXISTS {quote(_stage_name(name))}")
        raise
    return loader.result


def _committed_loads(db: Any) -> int:
    """The number of loads committed so far: it grows with every commit (``load_log`` rows
    are never deleted), so equal counts mean no load committed in between."""
    (n,) = db.execute(f"SELECT count(*) FROM {LOAD_LOG}").fetchone()
    return int(n)


def load_frames(wh: Warehouse, frames: dict[str, pd.DataFrame], tenant: str | None = None,
                label: str = "frames") -> LoadResult:
    """Load canonical frames (from the simulator, a notebook or a test) through the same path.

    ``tenant`` fills a missing ``tenant`` column. Rows are numbered 1.. per frame for rejects.
    """
    prepared: dict[str, pd.DataFrame] = {}
    digest = hashlib.sha256()
    for name, frame in frames.items():
        f = frame.copy()
        if "tenant" not in f.columns:
            f["tenant"] = tenant
        if LINE not in f.columns:
            f[LINE] = range(1, len(f) + 1)
        prepared[name] = f
        digest.update(name.encode())
        digest.update(pd.util.hash_pandas_object(f, index=False).values.tobytes())
    lines = sum(len(f) for f in prepared.values())
    tenants = {str(x) for f in prepared.values() for x in f["tenant"].dropna().unique()}
    source = SourceFile(path=Path(f"<{label}>"), kind="frames", sha256=digest.hexdigest(),
                        size=sum(int(f.memory_usage(deep=False).sum()) for f in prepared.values()))
    return load(wh, source, [Batch(tables=prepared, lines=lines)],
                tenant=tenant or ",".join(sorted(tenants)))
