"""``--follow``: tail a live Asterisk queue_log and load new lines within a second.

Each poll reads the bytes appended since the last one, keeps only complete lines (a line
still being written waits for its newline; it is not a reject) and loads them as one small
atomic load, so today's KPIs follow the calls as they happen. A call whose end has not been
written yet stays pending (stored, no contact) until a later poll brings its end.

Rotation is survived: when the path names a new file (another inode: ``logrotate``'s default
move-and-create, or Asterisk's own ``logger rotate``) the rest of the old file is read and
loaded first - its unterminated last line, if any, is final and becomes a
``truncated_line`` reject - then the new file is read from its start. A file that became
shorter than what was read (``copytruncate``) is read again from its start; loads are
idempotent, so nothing is doubled.

Where following stopped (path, inode, byte offset, line) is saved in the same transaction as
each load (``asterisk_follow``), so a restart resumes after the last loaded line, and a
crash in the middle of a load re-reads exactly the lines it lost.

Sources may not import the store (the layering rule), so the loader comes in as ``load``:
pass :func:`contactkpi.store.load`.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from contactkpi.config import Tenant
from contactkpi.errors import InternalError, SourceError, UserError
from contactkpi.sources.asterisk.state import follow_position
from contactkpi.sources.base import Batch, ReadContext, SourceFile

#: Seconds between two looks at the file when nothing new was there.
POLL_S = 0.2
#: Largest piece of a file loaded at once (a long backlog is loaded in several loads).
MAX_CHUNK_BYTES = 16 << 20


class Loader(Protocol):
    def __call__(self, wh: Any, source: SourceFile, batches: Iterable[Batch],
                 tenant: str) -> Any: ...


@dataclass
class FollowStats:
    """What a follow run did."""

    loads: int = 0
    lines: int = 0
    rotations: int = 0
    truncations: int = 0
    rows_rejected: int = 0
    last_results: list[Any] = field(default_factory=list)


@dataclass
class _Cursor:
    handle: BinaryIO
    inode: int
    offset: int
    line: int  # lines consumed so far


def follow(path: Path, wh: Any, tenant: Tenant, *, load: Loader, source: Any = None,
           mapping: Path | None = None, poll_s: float = POLL_S,
           max_seconds: float | None = None, stop: threading.Event | None = None,
           resume: bool = True, max_chunk_bytes: int = MAX_CHUNK_BYTES,
           on_load: Callable[[Any, FollowStats], None] | None = None) -> FollowStats:
    """Follow ``path`` until Ctrl-C, ``stop`` is set or ``max_seconds`` have passed.

    Args:
        path: the live queue_log (it may not exist yet: following waits for it).
        wh: the warehouse (a :class:`contactkpi.store.Warehouse`).
        tenant: the tenant the calls belong to.
        load: :func:`contactkpi.store.load` (sources may not import the store).
        source: an :class:`AsteriskQueueLogSource` (a new one by default).
        mapping: optional ``[asterisk]`` options TOML (``server``, ``timezone``).
        poll_s: pause between polls when nothing was appended.
        max_seconds: stop after this long (tests, cron-driven runs).
        stop: stop when this event is set (tests, embedding).
        resume: start where the last follow of this path stopped (saved in the warehouse).
        max_chunk_bytes: largest piece loaded at once.
        on_load: called after every load with its result and the running stats.

    Returns:
        The run's counts. Ctrl-C stops cleanly: the load in progress commits or rolls back
        as a whole, and the next run resumes after the last committed line.
    """
    if source is None:
        from contactkpi.sources.asterisk import AsteriskQueueLogSource

        source = AsteriskQueueLogSource()
    path = Path(path).resolve()
    ctx = ReadContext(tenant=tenant, mapping=mapping)
    stats = FollowStats()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    cursor: _Cursor | None = None

    def stopped() -> bool:
        return bool((stop is not None and stop.is_set()) or
                    (deadline is not None and time.monotonic() >= deadline))

    def load_bytes(cur: _Cursor, data: bytes, tail: bytes | None = None) -> None:
        first = cur.line + 1
        end = cur.offset + len(data) + (len(tail) if tail else 0)
        digest = hashlib.sha256(f"{path}:{cur.inode}:{cur.offset}:".encode())
        digest.update(data)
        if tail:
            digest.update(tail)
        sf = SourceFile(path=path, kind=source.kind, sha256=digest.hexdigest(),
                        size=len(data) + (len(tail) if tail else 0))
        result = load(wh, sf, source.read_chunk(data, ctx, first_line=first,
                                                position=(str(path), cur.inode, end),
                                                truncated=tail), tenant=tenant.name)
        n = data.count(b"\n") + (1 if tail else 0)
        cur.offset = end
        cur.line += n
        stats.loads += 1
        stats.lines += n
        stats.rows_rejected += int(getattr(result, "rows_rejected", 0))
        stats.last_results = (stats.last_results + [result])[-10:]
        if on_load is not None:
            on_load(result, stats)

    def read_complete(cur: _Cursor) -> bytes:
        cur.handle.seek(cur.offset)
        data = cur.handle.read(max_chunk_bytes)
        cut = data.rfind(b"\n")
        return data[:cut + 1] if cut >= 0 else b""

    def drain(cur: _Cursor) -> None:
        """Load the rest of a rotated-away file, its unterminated tail as a reject."""
        while True:
            data = read_complete(cur)
            if not data:
                break
            load_bytes(cur, data)
        cur.handle.seek(cur.offset)
        rest = cur.handle.read()
        if rest:
            load_bytes(cur, b"", tail=rest)
        cur.handle.close()

    try:
        while not stopped():
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if cursor is None:
                if st is None:
                    time.sleep(poll_s)
                    continue
                cursor = _open(path, st, wh, tenant, resume)
            elif st is not None and st.st_ino != cursor.inode:
                drain(cursor)
                stats.rotations += 1
                cursor = _Cursor(path.open("rb"), st.st_ino, 0, 0)
            elif st is not None and st.st_size < cursor.offset:
                stats.truncations += 1
                cursor.offset, cursor.line = 0, 0
            data = read_complete(cursor)
            if data:
                load_bytes(cursor, data)
            else:
                time.sleep(poll_s)
    except KeyboardInterrupt:
        pass
    finally:
        if cursor is not None and not cursor.handle.closed:
            cursor.handle.close()
    return stats


def _open(path: Path, st: os.stat_result, wh: Any, tenant: Tenant, resume: bool) -> _Cursor:
    offset = line = 0
    if resume:
        saved = follow_position(wh.raw_duckdb(), tenant.name, str(path))
        if saved is not None and saved[0] == st.st_ino and saved[1] <= st.st_size:
            offset, line = saved[1], saved[2]
    return _Cursor(path.open("rb"), st.st_ino, offset, line)


def follow_cli(source: Any, paths: list[Path], wh: Any, tenant: Tenant,
               mapping: Path | None, load: Loader | None = None) -> FollowStats:
    """``contactkpi ingest asterisk FILE --follow``: follow one file, report each load.

    ``load`` must be :func:`contactkpi.store.load` (passed by the CLI; sources may not
    import the store).
    """
    if not hasattr(source, "read_chunk"):
        raise SourceError(f"--follow is not available for {source.kind} files",
                          where="--follow", hint="follow works for asterisk queue_log files")
    if len(paths) != 1:
        raise UserError("--follow takes exactly one file", where="PATHS",
                        hint="run one `ingest asterisk FILE --follow` per live file")
    if load is None:
        raise InternalError("follow_cli needs load=contactkpi.store.load",
                            hint="pass the loader from the CLI")

    def report(result: Any, stats: FollowStats) -> None:
        counts = getattr(result, "tables", {})
        contacts = counts.get("contacts")
        new = (contacts.loaded + contacts.replaced) if contacts is not None else 0
        print(f"{paths[0]}: +{result.rows_read} lines, {new} contacts, "
              f"{result.rows_rejected} rejected (total {stats.lines} lines, "
              f"{stats.loads} loads)", file=sys.stderr, flush=True)

    print(f"following {paths[0]} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    stats = follow(paths[0], wh, tenant, load=load, source=source, mapping=mapping,
                   on_load=report)
    print(f"stopped: {stats.lines} lines in {stats.loads} loads, {stats.rotations} "
          f"rotations", file=sys.stderr, flush=True)
    return stats
