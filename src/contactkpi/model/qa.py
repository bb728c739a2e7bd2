"""The ``qa_evaluations`` table: quality-monitoring scores of agents' contacts."""

from __future__ import annotations

import pandas as pd

from contactkpi.model.columns import Column, Kind, RowRule, Table, tenant_column

QA_KINDS = frozenset({"regular", "mystery", "calibration", "self"})


def _score_within_max(df: pd.DataFrame) -> pd.Series:
    s, m = df["score"], df["max_score"]
    return s.isna() | m.isna() | (s <= m)


QA_EVALUATIONS = Table(
    name="qa_evaluations",
    description="Quality evaluations of contacts: form, evaluator, score out of a maximum.",
    primary_key=("tenant", "evaluation_id"),
    columns=(
        tenant_column(),
        Column("evaluation_id", Kind.STRING, "Unique id of the evaluation.", required=True),
        Column("contact_id", Kind.STRING, "Contact evaluated (mystery calls may have none)."),
        Column("agent_id", Kind.STRING, "Agent evaluated.", required=True),
        Column("evaluator", Kind.STRING, "Who scored it."),
        Column("form", Kind.STRING, "Evaluation form / scorecard."),
        Column("evaluated_at", Kind.TIMESTAMP, "When it was scored.", required=True),
        Column("score", Kind.FLOAT, "Points given.", required=True, min=0),
        Column("max_score", Kind.FLOAT, "Points possible.", required=True, min=0),
        Column("kind", Kind.CODE, "regular, mystery, calibration or self.", allowed=QA_KINDS),
    ),
    rules=(
        RowRule("score_within_max", "score", "score is above max_score", _score_within_max,
                sql='"score" IS NULL OR "max_score" IS NULL OR "score" <= "max_score"'),
    ),
)
