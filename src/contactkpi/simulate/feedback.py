"""Customer surveys and quality evaluations, drawn after the contacts are known.

Survey answers fall with the wait, when the customer had to contact the center again
(a repeat within seven days) and when the issue was not resolved; better agents (a hidden
quality score that also drives QA and resolution) score a little higher. QA evaluations sample
each agent's handled contacts every week; a few are mystery-shopper calls (no contact id)
and calibration sessions where every evaluator scores the same contact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from contactkpi.simulate.frames import canonical, empty, masked
from contactkpi.simulate.rundata import RunData

_REPEAT_WINDOW = pd.Timedelta(days=7)
_COMMENTS = {
    1: ("Waited forever and nothing got fixed.", "Third time calling about this.",
        "Very disappointed."),
    2: ("Took too long.", "Still not sorted.", "Agent could not help."),
    3: ("OK in the end.", "Fine, but slow.", "Average."),
    4: ("Helpful agent.", "Sorted quickly.", "Good service."),
    5: ("Excellent, thank you!", "Fixed on the first call.", "Friendly and fast."),
}


def _agent_quality(data: RunData) -> dict[tuple[str, str], float]:
    return {(a.tenant, a.agent_id): a.quality for wf in data.workforces for a in wf.agents}


def _repeat_flag(contacts: pd.DataFrame) -> np.ndarray:
    """True where the same customer had an inbound contact in the previous seven days."""
    inbound = ((contacts["direction"] == "inbound") & contacts["customer_id"].notna()).to_numpy()
    tenant = pd.factorize(contacts["tenant"])[0]
    customer = pd.factorize(contacts["customer_id"])[0]
    at = contacts["arrived_at"].to_numpy("int64")
    idx = np.flatnonzero(inbound)
    order = idx[np.lexsort((at[idx], customer[idx], tenant[idx]))]
    same = np.r_[False, (tenant[order][1:] == tenant[order][:-1])
                 & (customer[order][1:] == customer[order][:-1])]
    gap = np.r_[0, np.diff(at[order])]
    flag = np.zeros(len(contacts), dtype=bool)
    flag[order] = same & (gap <= _REPEAT_WINDOW.value // 1000)
    return flag


def surveys(data: RunData, contacts: pd.DataFrame) -> pd.DataFrame:
    """Survey invitations after answered inbound contacts, and the answers received."""
    rng = data.rng(91, 1)
    repeat = _repeat_flag(contacts)
    base = contacts[(contacts["direction"] == "inbound") & (contacts["outcome"] == "answered")
                    & (contacts["disposition"] != "transferred")]
    settings = {t.name: t.surveys for t in data.cfg.tenants}
    rate = base["tenant"].map({k: v.rate for k, v in settings.items()}).to_numpy(float)
    sent = base[rng.random(len(base)) < rate]
    n = len(sent)
    if n == 0:
        return empty("surveys")
    resp_rate = sent["tenant"].map({k: v.response_rate for k, v in settings.items()})
    responded = rng.random(n) < resp_rate.to_numpy(float)
    written = sent["channel"].isin(["email", "ticket"]).to_numpy()
    send_delay = np.where(written, rng.uniform(1800, 7200, n), rng.uniform(60, 180, n))
    reply_delay = rng.lognormal(np.log(np.where(written, 3 * 3600.0, 1200.0)), 1.0, n)
    sent_at = sent["ended_at"] + pd.to_timedelta(np.round(send_delay * 1e6), unit="us")
    responded_at = (sent_at + pd.to_timedelta(np.round(reply_delay * 1e6), unit="us")).where(
        responded)
    quality = _agent_quality(data)
    q = np.array([quality.get(k, 0.0) for k in zip(sent["tenant"], sent["agent_id"],
                                                   strict=True)])
    wait_min = np.minimum(sent["wait_s"].to_numpy(float) / 60.0, 20.0)
    resolved = (sent["disposition"] == "resolved").to_numpy()
    is_repeat = repeat[sent.index.to_numpy()]
    score = (4.35 - 0.06 * wait_min - 0.45 * is_repeat - 1.0 * ~resolved + 0.25 * q
             + rng.normal(0.0, 0.65, n))
    csat = np.clip(np.round(score), 1, 5).astype(np.int64)
    nps = np.clip(np.round(2.1 * score - 0.6 + rng.normal(0.0, 1.1, n)), 0, 10).astype(np.int64)
    fcr = np.where(rng.random(n) < 0.1, ~resolved, resolved)
    fcr_given = responded & (rng.random(n) < 0.85)
    comment_rate = sent["tenant"].map({k: v.comment_rate for k, v in settings.items()})
    commented = responded & (rng.random(n) < comment_rate.to_numpy(float))
    pick = rng.integers(0, 3, n)
    comments = np.array([_COMMENTS[int(c)][int(p)] if w else None
                         for c, p, w in zip(csat, pick, commented, strict=True)], dtype=object)
    code = dict(zip([t.name for t in data.cfg.tenants], data.codes, strict=True))
    tenant = sent["tenant"].to_numpy(object)
    number = pd.Series(np.ones(n, dtype=np.int64)).groupby(tenant).cumsum().to_numpy()
    return canonical("surveys", {
        "tenant": tenant,
        "survey_id": [f"{code[t]}-s{k:08d}" for t, k in zip(tenant, number, strict=True)],
        "contact_id": sent["contact_id"].to_numpy(object),
        "customer_id": sent["customer_id"].to_numpy(object),
        "agent_id": sent["agent_id"].to_numpy(object),
        "sent_at": sent_at.reset_index(drop=True),
        "responded_at": responded_at.reset_index(drop=True),
        "csat": masked(csat, responded),
        "nps": masked(nps, responded),
        "fcr": masked(fcr, fcr_given, "boolean"),
        "comment": comments,
    }, n)


def _score(rng: np.random.Generator, quality: np.ndarray, max_score: np.ndarray,
           spread: float = 0.06) -> np.ndarray:
    """Points out of ``max_score`` (to the half point), higher for better agents."""
    share = np.clip(0.8 + 0.07 * quality + rng.normal(0.0, spread, len(quality)), 0.3, 1.0)
    return np.minimum(np.round(share * max_score * 2) / 2, max_score)


def qa_evaluations(data: RunData, contacts: pd.DataFrame) -> pd.DataFrame:
    """Weekly QA samples per agent, plus mystery-shopper and calibration evaluations."""
    rng = data.rng(92, 1)
    quality = _agent_quality(data)
    origin = data.clock.origin
    end_at = origin + pd.Timedelta(microseconds=data.clock.end_us)
    handled = contacts[contacts["agent_id"].notna() & contacts["ended_at"].notna()
                       & (contacts["outcome"] == "answered")]
    week = ((handled["ended_at"] - origin) // pd.Timedelta(days=7)).to_numpy(np.int64)
    qa = {t.name: t.qa for t in data.cfg.tenants}
    frames = []
    if len(handled):
        keys = pd.DataFrame({"tenant": handled["tenant"].to_numpy(object),
                             "agent": handled["agent_id"].to_numpy(object), "week": week})
        group = keys.groupby(["tenant", "agent", "week"], sort=True).ngroup().to_numpy()
        n_groups = int(group.max()) + 1
        first = keys.groupby(group)["tenant"].first()
        lam = first.map({k: v.per_agent_week for k, v in qa.items()}).to_numpy(float)
        want = rng.poisson(lam)
        order = np.lexsort((rng.random(len(group)), group))
        rank = np.empty(len(group), dtype=np.int64)
        starts = np.searchsorted(group[order], np.arange(n_groups))
        rank[order] = np.arange(len(group)) - starts[group[order]]
        chosen = handled[rank < want[group]]
        frames.append(_evaluations(rng, chosen, "regular", quality, qa, end_at))
        for t in data.cfg.tenants:
            pool = handled[handled["tenant"] == t.name]
            weeks = int(np.ceil(data.clock.end_us / (7 * 86_400e6)))
            k = min(int(rng.poisson(t.qa.calibration_per_week * weeks)), len(pool))
            if k:
                picked = pool.iloc[rng.choice(len(pool), size=k, replace=False)]
                reps = picked.loc[picked.index.repeat(t.qa.evaluators)]
                ev = _evaluations(rng, reps, "calibration", quality, qa, end_at, spread=0.02)
                ev["evaluator"] = [f"qa{i % t.qa.evaluators + 1}" for i in range(len(ev))]
                frames.append(ev)
            agents = pool["agent_id"].unique()
            m = int(rng.poisson(t.qa.mystery_per_week * weeks)) if len(agents) else 0
            if m:
                at = origin + pd.to_timedelta(rng.uniform(0, data.clock.end_us, m), unit="us")
                mystery = pd.DataFrame({
                    "tenant": t.name, "contact_id": None,
                    "agent_id": agents[rng.integers(0, len(agents), m)],
                    "ended_at": at.astype("datetime64[us, UTC]"), "channel": "voice",
                    "direction": "inbound"})
                frames.append(_evaluations(rng, mystery, "mystery", quality, qa, end_at))
    if not frames:
        return empty("qa_evaluations")
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["tenant", "evaluated_at", "agent_id"], kind="stable",
                          ignore_index=True)
    code = dict(zip([t.name for t in data.cfg.tenants], data.codes, strict=True))
    number = out.groupby("tenant").cumcount().to_numpy() + 1
    out["evaluation_id"] = [f"{code[t]}-qa{k:06d}" for t, k in
                            zip(out["tenant"], number, strict=True)]
    return canonical("qa_evaluations", {c: out[c] for c in out.columns})


def _evaluations(rng: np.random.Generator, rows: pd.DataFrame, kind: str,
                 quality: dict[tuple[str, str], float], qa: dict, end_at: pd.Timestamp,
                 spread: float = 0.06) -> pd.DataFrame:
    n = len(rows)
    q = np.array([quality.get(k, 0.0) for k in zip(rows["tenant"], rows["agent_id"],
                                                   strict=True)])
    max_score = rows["tenant"].map({k: v.max_score for k, v in qa.items()}).to_numpy(float)
    evaluators = rows["tenant"].map({k: v.evaluators for k, v in qa.items()}).to_numpy(int)
    delay = pd.to_timedelta(np.round(rng.uniform(0.5, 4.0, n) * 86_400e6), unit="us")
    evaluated = (rows["ended_at"] + delay).where(rows["ended_at"] + delay <= end_at, end_at)
    if kind == "mystery":
        form = np.full(n, "mystery_shopper", dtype=object)
    else:
        form = np.where(rows["direction"].to_numpy(object) == "outbound", "outbound_sales",
                        rows["channel"].to_numpy(object) + "_standard")
    return pd.DataFrame({
        "tenant": rows["tenant"].to_numpy(object),
        "contact_id": rows["contact_id"].to_numpy(object),
        "agent_id": rows["agent_id"].to_numpy(object),
        "evaluator": [f"qa{int(x) + 1}" for x in rng.integers(0, np.maximum(evaluators, 1))],
        "form": form,
        "evaluated_at": evaluated.reset_index(drop=True),
        "score": _score(rng, q, max_score, spread),
        "max_score": max_score,
        "kind": kind,
    })
