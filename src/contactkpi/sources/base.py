"""What every source produces: batches of canonical rows plus rejects.

A source reads one file and yields ``Batch``es. Each batch holds, per canonical table, a frame
of canonical columns (raw strings or typed values) with a ``_line`` column naming the source
line of every row, and the rejects the source itself found (lines it could not parse). The
store then conforms every frame to the model (one checking code path for all sources) and
loads the batches of one file atomically.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pandas as pd

from contactkpi.config import Tenant
from contactkpi.model.validate import LINE, empty_rejects

__all__ = ["LINE", "Batch", "ReadContext", "Source", "SourceFile", "file_digest"]


@dataclass(frozen=True)
class SourceFile:
    """An input file as the load log records it."""

    path: Path
    kind: str
    sha256: str
    size: int

    @classmethod
    def of(cls, path: Path, kind: str) -> SourceFile:
        return cls(path=path, kind=kind, sha256=file_digest(path), size=path.stat().st_size)


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Batch:
    """Canonical rows read from one part of a source file, and what could not be read."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rejects: pd.DataFrame = field(default_factory=empty_rejects)
    lines: int = 0  # source records consumed by this batch (each is loaded, duplicate or rejected)
    #: A stateful source's step run by the loader *inside* the load's transaction, with the
    #: warehouse's DuckDB connection; it returns the batch of rows it derived (it may read
    #: and write its own bookkeeping tables, which then commit or roll back with the load).
    derive: Callable[[Any], Batch] | None = None


@dataclass(frozen=True)
class ReadContext:
    """What a source needs besides the file: tenant, mapping, chunking, progress."""

    tenant: Tenant
    mapping: Path | None = None
    chunk_rows: int = 200_000
    progress: Callable[[int], None] | None = None  # called with bytes consumed so far

    def report(self, done: int) -> None:
        if self.progress is not None:
            self.progress(done)


class Source(Protocol):
    """A reader of one input format."""

    kind: ClassVar[str]
    description: ClassVar[str]
    needs_mapping: ClassVar[bool]

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Batch]:
        """Yield batches of canonical rows; raise SourceError if the file cannot be read."""
        ...
