"""The canonical model: the only place column names and types are declared.

Every source writes these tables; every KPI reads them.
"""

from __future__ import annotations

from contactkpi.errors import UserError
from contactkpi.model.agent_states import AGENT_STATE_TABLE
from contactkpi.model.columns import Column, Kind, RowRule, Table
from contactkpi.model.contacts import CONTACTS
from contactkpi.model.planning import COSTS, FORECASTS, TARGETS
from contactkpi.model.qa import QA_EVALUATIONS
from contactkpi.model.surveys import SURVEYS
from contactkpi.model.workforce import ABSENCES, ROSTER, SCHEDULES, TRAININGS

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        CONTACTS,
        AGENT_STATE_TABLE,
        SURVEYS,
        QA_EVALUATIONS,
        ROSTER,
        ABSENCES,
        TRAININGS,
        COSTS,
        FORECASTS,
        SCHEDULES,
        TARGETS,
    )
}


def table(name: str) -> Table:
    """The canonical table called ``name``; a user error naming the choices otherwise."""
    try:
        return TABLES[name]
    except KeyError:
        raise UserError(
            f"unknown canonical table {name!r}",
            hint="choose one of: " + ", ".join(TABLES),
        ) from None


__all__ = ["TABLES", "Column", "Kind", "RowRule", "Table", "table"]
