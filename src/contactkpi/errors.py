"""Errors a user can act on, and the one that means a bug.

The tree::

    ContactKpiError                 base of everything contactkpi raises on purpose
    +-- UserError                   caused by input the user controls; CLI exit code 2
    |   +-- ConfigError             contactkpi.toml, settings, tenants, time zones
    |   +-- SourceError             an input file cannot be read at all (missing, empty, encoding)
    |   +-- MappingError            a mapping TOML file is wrong (unknown key, bad format string)
    |   +-- DefinitionError         a KPI definition in the catalog is wrong
    |   +-- QueryError              a query, filter, parameter or variant is wrong
    |   +-- WarehouseError          the warehouse cannot be opened or is not initialised
    +-- InternalError               not the user's fault: a bug in contactkpi

Every user error carries ``where`` (file, line, field or option) and ``hint`` (what to do).
Bad *rows* are never exceptions: they become reject rows with a reason code and line number.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ContactKpiError",
    "DefinitionError",
    "InternalError",
    "MappingError",
    "QueryError",
    "SourceError",
    "UserError",
    "WarehouseError",
]


class ContactKpiError(Exception):
    """Base of every error contactkpi raises on purpose."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text}\nhint: {self.hint}" if self.hint else text


class UserError(ContactKpiError):
    """Caused by input the user controls; the CLI prints it on one line and exits 2."""


class ConfigError(UserError):
    """contactkpi.toml or a setting is wrong."""


class SourceError(UserError):
    """An input file cannot be read at all."""


class MappingError(UserError):
    """A mapping file is wrong."""


class DefinitionError(UserError):
    """A KPI definition is wrong."""


class QueryError(UserError):
    """A query, filter, parameter or variant is wrong."""


class WarehouseError(UserError):
    """The warehouse cannot be opened or is not initialised."""


class InternalError(ContactKpiError):
    """A bug in contactkpi, not caused by the user."""
