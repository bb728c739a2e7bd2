"""``AsteriskQueueLogSource``: the queue_log file (or its table export) to canonical rows.

The source yields one :class:`~contactkpi.sources.base.Batch`. Its ``prepare`` step, just
before the load's transaction, splits and checks the lines, finds the new events and derives
the contacts and agent states of everything the file touched, into temp tables; its
``derive`` step, inside the transaction, stores the new events and hands the derived rows,
still in DuckDB, to the loader (``SqlRows``; see the package docstring for the whole picture).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from contactkpi.errors import MappingError, SourceError
from contactkpi.model.validate import empty_rejects
from contactkpi.model.validate_sql import SqlRows
from contactkpi.sources.asterisk.check import (
    check_file,
    check_lines,
    drop_events,
    truncated_reject,
)
from contactkpi.sources.asterisk.derive import (
    CONTACTS_OUT,
    CONTACTS_UNDER,
    MAX_CALL_SPAN_S,
    STATES_OUT,
    STATES_ROWS,
    apply_agent_intervals,
    derive_agents,
    derive_calls,
)
from contactkpi.sources.asterisk.lines import (
    FAST_FIELDS,
    create_lines_table,
    drop_lines,
    exact_lines,
    fast_relation,
    insert_frame,
    scan,
    sniff,
    table_lines,
)
from contactkpi.sources.asterisk.state import (
    drop_scratch,
    plan_new_events,
    save_follow_position,
    store_new_events,
)
from contactkpi.sources.base import Batch, ReadContext, read_options

#: Files at least this large are split by DuckDB's parallel CSV reader (exact fallback).
FAST_MIN_BYTES = 4 << 20
#: The exact reader splits a large file in blocks of this many bytes (bounded memory).
_EXACT_BLOCK = 32 << 20


@dataclass(frozen=True)
class AsteriskOptions:
    """Options read from the ``[asterisk]`` table of ``--mapping FILE.toml`` (all optional).

    ``server`` is put in front of every call id (``server/1366720340.12``): a callid is
    unique only within one Asterisk server, so give each server its own name when several
    feed one tenant (or set ``systemname`` in asterisk.conf, which Asterisk itself puts in
    front of its uniqueids). ``timezone`` reads the naive times of a table export (default:
    the tenant's time zone; Asterisk writes local time unless ``queue_log_realtime_use_gmt``).
    """

    server: str = ""
    timezone: str | None = None

    @classmethod
    def read(cls, path: Path | None) -> AsteriskOptions:
        if path is None:
            return cls()
        section = read_options(path, "asterisk", frozenset({"server", "timezone"}),
                               '[asterisk] server = "pbx1"')
        server = str(section.get("server", ""))
        if "|" in server:
            raise MappingError("server may not contain '|'", where=f"{path}: server")
        zone = section.get("timezone")
        if zone is not None:
            try:
                ZoneInfo(str(zone))
            except (ZoneInfoNotFoundError, ValueError):
                raise MappingError(f"unknown time zone {zone!r}", where=f"{path}: timezone",
                                   hint="use an IANA name such as Europe/Paris") from None
        return cls(server=f"{server}/" if server else "",
                   timezone=None if zone is None else str(zone))


@dataclass
class Timings:
    """Seconds spent in each step of the last derive (benchmarks)."""

    steps: dict[str, float] = field(default_factory=dict)
    fast_path: bool = False

    def mark(self, name: str, started: float) -> float:
        now = time.perf_counter()
        self.steps[name] = self.steps.get(name, 0.0) + now - started
        return now


class AsteriskQueueLogSource:
    """Asterisk ``queue_log``: the pipe file, or the ``queue_log`` table exported as CSV."""

    kind: ClassVar[str] = "asterisk"
    description: ClassVar[str] = "Asterisk queue_log file (or queue_log table CSV export)"
    needs_mapping: ClassVar[bool] = False

    def __init__(self, fast_min_bytes: int = FAST_MIN_BYTES) -> None:
        self.fast_min_bytes = fast_min_bytes
        self.timings = Timings()

    # -- batch --------------------------------------------------------------------------------
    def read(self, path: Path, ctx: ReadContext) -> Iterator[Batch]:
        """One batch whose ``derive`` step loads the whole file (see the module docstring)."""
        if not path.is_file():
            raise SourceError(f"file {path} not found", where=str(path))
        opts = AsteriskOptions.read(ctx.mapping)
        size = path.stat().st_size

        def split(db: Any) -> tuple[pd.DataFrame, int]:
            found = self._split_file(db, path, size, ctx, opts)
            ctx.report(size)
            return found

        yield self._batch(ctx.tenant.name, split)

    def _split_file(self, db: Any, path: Path, size: int, ctx: ReadContext,
                    opts: AsteriskOptions) -> tuple[pd.DataFrame, int]:
        """Fill ``_ast_ev``; return the rejects and the number of lines read."""
        with path.open("rb") as f:
            head = f.read(1 << 16)
        if sniff(head) == "table":
            frame = table_lines(path.read_bytes(), opts.timezone or ctx.tenant.timezone)
            create_lines_table(db)
            insert_frame(db, frame)
            rejects = check_lines(db, 1, opts.server)
            return rejects, len(frame)
        tail_start, tail = _tail(path, size)
        complete, fast = scan(path, tail_start)
        truncated = truncated_reject(complete + 1, tail) if tail else empty_rejects()
        lines = complete + (1 if tail else 0)
        self.timings.fast_path = False
        if fast and size >= self.fast_min_bytes and (not tail or tail.strip()):
            # a truncated last line is read too (and then ignored): count it
            rejects = check_file(db, fast_relation(path), lines, 1_000_000, opts.server,
                                 last_line=complete, fields=len(FAST_FIELDS))
            if rejects is not None:
                self.timings.fast_path = True
                return _concat(truncated, rejects), lines
            # else the exact reader below decides what is wrong with which line
        create_lines_table(db)
        first = 1
        with path.open("rb") as f:
            left, rest = tail_start, b""
            while left > 0 or rest:
                block = f.read(min(_EXACT_BLOCK, left)) if left > 0 else b""
                left -= len(block)
                data = rest + block
                cut = data.rfind(b"\n") + 1 if left > 0 else len(data)
                data, rest = data[:cut], data[cut:]
                insert_frame(db, exact_lines(data, first_line=first))
                first += data.count(b"\n")
        rejects = check_lines(db, 1_000_000, opts.server)
        return _concat(truncated, rejects), lines

    # -- follow -------------------------------------------------------------------------------
    def read_chunk(self, data: bytes, ctx: ReadContext, first_line: int,
                   position: tuple[str, int, int] | None = None,
                   truncated: bytes | None = None) -> Iterator[Batch]:
        """Load complete lines ``data`` (each ending with a newline) read from a live file.

        ``first_line`` numbers the first of them; ``position`` = ``(path, inode, offset)``
        after them is saved in the same transaction (``asterisk_follow``); ``truncated`` is
        the unterminated end of a file that will not grow any more (rotated away): it becomes
        a ``truncated_line`` reject.
        """
        opts = AsteriskOptions.read(ctx.mapping)
        complete = data.count(b"\n")
        lines = complete + (1 if truncated else 0)

        def split(db: Any) -> tuple[pd.DataFrame, int]:
            create_lines_table(db)
            insert_frame(db, exact_lines(data, first_line=first_line))
            rejects = check_lines(db, 1_000_000, opts.server)
            if truncated:
                rejects = _concat(truncated_reject(first_line + complete, truncated), rejects)
            return rejects, lines

        def save(db: Any) -> None:
            if position is not None:
                save_follow_position(db, ctx.tenant.name, position[0], position[1],
                                     position[2], first_line + lines - 1)

        yield self._batch(ctx.tenant.name, split, save)

    # -- shared -------------------------------------------------------------------------------
    def _batch(self, tenant: str, split: Callable[[Any], tuple[pd.DataFrame, int]],
               after: Callable[[Any], None] | None = None) -> Batch:
        """The batch of one file or chunk.

        ``prepare`` (before the load's transaction: it writes only temp tables) splits and
        checks the lines into ``_ast_ev``, finds the new events and derives the contacts and
        agent states from them and the stored events; ``derive`` (inside the transaction)
        stores the new events and interval keys and hands the derived rows to the loader.
        Everything reading a table DuckDB made in the open transaction runs on one thread,
        so deriving before it is about twice as fast; the loader runs ``prepare`` again
        inside the transaction if another load committed in between.
        """
        found: list[tuple[pd.DataFrame, int, bool, bool]] = []

        def prepare(db: Any) -> None:
            self.timings = Timings(fast_path=self.timings.fast_path)
            t = time.perf_counter()
            rejects, lines = split(db)
            drop_lines(db)
            t = self.timings.mark("split + check", t)
            late = plan_new_events(db, tenant, MAX_CALL_SPAN_S)
            unique = derive_calls(db, tenant), derive_agents(db, tenant)
            found.append((_concat(rejects, late), lines, *unique))
            self.timings.mark("new events + derive", t)

        return Batch(prepare=prepare,
                     derive=lambda db: self._apply(db, tenant, *found[-1], after))

    def _apply(self, db: Any, tenant: str, rejects: pd.DataFrame, lines: int,
               contacts_unique: bool, states_unique: bool,
               after: Callable[[Any], None] | None = None) -> Batch:
        """The loader's in-transaction step: store the new events of ``_ast_ev`` and the
        interval keys; the derived rows stay in DuckDB (``SqlRows``) for the loader to
        check and merge there."""
        t = time.perf_counter()
        try:
            store_new_events(db, tenant)
            apply_agent_intervals(db, tenant)
            if after is not None:
                after(db)
        finally:
            drop_scratch(db)
            drop_events(db)
        self.timings.mark("store events", t)
        return Batch(tables={"contacts": SqlRows(CONTACTS_OUT, under=CONTACTS_UNDER,
                                                 keys_unique=contacts_unique),
                             "agent_states": SqlRows(STATES_OUT, under=(STATES_ROWS,),
                                                     keys_unique=states_unique)},
                     rejects=rejects, lines=lines)


def _concat(*frames: pd.DataFrame) -> pd.DataFrame:
    found = [f for f in frames if not f.empty]
    return pd.concat(found, ignore_index=True) if found else empty_rejects()


def _tail(path: Path, size: int) -> tuple[int, bytes]:
    """Offset where the last, unterminated line starts (``size`` if none) and its bytes."""
    if size == 0:
        return 0, b""
    with path.open("rb") as f:
        step = 1 << 16
        pos = size
        tail = b""
        while pos > 0:
            start = max(0, pos - step)
            f.seek(start)
            block = f.read(pos - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                tail = block[cut + 1:] + tail
                return start + cut + 1, tail
            tail = block + tail
            pos = start
    return 0, tail

