"""A whole simulated center: canonical tables, queue invariants, reproducibility, realism."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sim_canonical_check import assert_canonical, problems

from contactkpi.simulate import TABLE_NAMES, Simulation, default_config, simulate

SEED = 7


@pytest.fixture(scope="module")
def sim() -> Simulation:
    """Two weeks of the default center at 40% volume, with more staff turnover than usual."""
    cfg = default_config()
    tenants = tuple(replace(t, staffing=replace(t.staffing, attrition_monthly=0.3))
                    for t in cfg.tenants)
    return simulate(replace(cfg, tenants=tenants), seed=SEED, days=14, volume_scale=0.4)


def test_every_table_conforms_to_the_canonical_model(sim: Simulation) -> None:
    assert set(sim.tables) == set(TABLE_NAMES)
    assert_canonical(sim.tables)
    for name in ("contacts", "agent_states", "surveys", "roster", "costs", "schedules"):
        assert set(sim[name]["tenant"]) == {"brightpower", "kestrel_bank"}, name


def test_the_validation_helper_catches_broken_rows(sim: Simulation) -> None:
    c = sim["contacts"].head(50).copy()
    c.loc[0, "outcome"] = "hung_up"
    c.loc[1, "answered_at"] = c.loc[1, "arrived_at"] - pd.Timedelta(seconds=5)
    c.loc[3, "contact_id"] = c.loc[2, "contact_id"]
    found = "\n".join(problems("contacts", c))
    assert "codes outside the model ['hung_up']" in found
    assert "answered_at_not_before_arrived_at" in found
    assert "share a primary key" in found


def _busy(contacts: pd.DataFrame) -> pd.DataFrame:
    """Each handled contact as the interval its agent was tied up (ring to end of wrap-up)."""
    h = contacts[contacts["agent_id"].notna()]
    inbound = h["direction"] == "inbound"
    start = h["answered_at"] - pd.to_timedelta(h["ring_s"].fillna(0), unit="s")
    start = start.where(inbound, h["arrived_at"])
    end = h["ended_at"] + pd.to_timedelta(h["acw_s"].fillna(0), unit="s")
    return pd.DataFrame({"tenant": h["tenant"], "agent": h["agent_id"], "start": start,
                         "end": end}).sort_values(["tenant", "agent", "start"])


def test_no_agent_is_on_two_contacts_at_once(sim: Simulation) -> None:
    b = _busy(sim["contacts"])
    same = (b["agent"] == b["agent"].shift()) & (b["tenant"] == b["tenant"].shift())
    assert (b["start"][same] >= b["end"].shift()[same]).all()
    assert same.sum() > 10_000


def test_agent_states_do_not_overlap_and_sit_inside_sessions(sim: Simulation) -> None:
    s = sim["agent_states"]
    work = s[s["state"] != "logged_in"].sort_values(["tenant", "agent_id", "started_at"])
    same = work["agent_id"] == work["agent_id"].shift()
    assert (work["started_at"][same] >= work["ended_at"].shift()[same]).all()
    sessions = s[s["state"] == "logged_in"]
    merged = pd.merge_asof(work.sort_values("started_at"),
                           sessions[["tenant", "agent_id", "started_at", "ended_at"]]
                           .rename(columns={"started_at": "s0", "ended_at": "s1"})
                           .sort_values("s0"),
                           left_on="started_at", right_on="s0", by=["tenant", "agent_id"])
    assert merged["s0"].notna().all()
    assert (merged["ended_at"] <= merged["s1"]).all()
    assert {"available", "on_contact", "acw", "ringing", "paused", "outbound"} <= set(
        s["state"])
    assert {"break", "lunch", "ring_no_answer", "personal"} <= set(s["reason"].dropna())


def _leave_times(sim: Simulation) -> pd.DataFrame:
    """Per inbound contact: arrival, queue, when it first left the queue (offered to an agent,
    or gave up) and the stretches it spent waiting, from the queue events."""
    ev = sim.events
    offered = ev[ev["event"].isin(["ringnoanswer", "connect"])]
    offer_at = offered["at"] - pd.to_timedelta(offered["ring_s"], unit="s")
    first_offer = offer_at.groupby(offered["contact_id"]).min()
    gave_up = ev[ev["event"].isin(["abandon", "timeout"])].set_index("contact_id")["at"]
    c = sim["contacts"]
    c = c[(c["direction"] == "inbound") & (c["outcome"] != "blocked")].set_index("contact_id")
    out = pd.DataFrame({"tenant": c["tenant"], "queue": c["queue"], "arrived": c["arrived_at"],
                        "outcome": c["outcome"]})
    out["leave"] = first_offer.reindex(out.index).fillna(gave_up.reindex(out.index))
    return out


def test_each_queue_is_first_come_first_served(sim: Simulation) -> None:
    t = _leave_times(sim).sort_values(["tenant", "queue", "arrived"])
    far = pd.Timestamp.max.tz_localize("UTC")
    checked = 0
    for _, g in t.groupby(["tenant", "queue"]):
        leave = g["leave"].fillna(far)
        prior = leave.cummax().shift()
        served = g["outcome"] == "answered"
        assert (prior[served].isna() | (prior[served] <= leave[served])).all()
        checked += int(served.sum())
    assert checked > 10_000


def test_no_agent_is_available_while_a_contact_of_its_skills_waits(sim: Simulation) -> None:
    ev = sim.events
    far = pd.Timestamp("2100-01-01", tz="UTC")
    rows = ev[ev["event"].isin(["enterqueue", "ringnoanswer", "connect", "abandon",
                                "timeout"])].copy()
    # an offer to an agent happens when the ringing starts: ``at - ring_s``
    rows["key"] = rows["at"] - pd.to_timedelta(rows["ring_s"].fillna(0), unit="s")
    rows = rows.sort_values(["key", "at"], kind="stable")
    waits = []  # (tenant, queue, start, end) of every stretch spent waiting in a queue
    for (tenant, queue, _), g in rows.groupby(["tenant", "queue", "contact_id"], sort=False):
        start = None
        for event, at, offer in zip(g["event"], g["at"], g["key"], strict=True):
            if event == "enterqueue":
                start = at
            elif event in ("ringnoanswer", "connect"):
                if start is not None:
                    waits.append((tenant, queue, start, offer))
                start = at if event == "ringnoanswer" else None  # back in the queue
            else:  # gave up: while queued, or while ringing unanswered (then start > at)
                if start is not None and at > start:
                    waits.append((tenant, queue, start, at))
                start = None
        if start is not None:
            waits.append((tenant, queue, start, far))
    w = pd.DataFrame(waits, columns=["tenant", "queue", "start", "end"]).astype(
        {"start": "datetime64[us, UTC]", "end": "datetime64[us, UTC]"})
    w = w[w["end"] > w["start"]]
    assert len(w) > 1000
    skills = sim["roster"].dropna(subset=["skills"])
    avail = sim["agent_states"][sim["agent_states"]["state"] == "available"]
    avail = avail.merge(skills[["tenant", "agent_id", "skills"]], on=["tenant", "agent_id"])
    avail = avail.assign(queue=avail["skills"].str.split(",")).explode("queue")
    for (tenant, queue), a in avail.groupby(["tenant", "queue"]):
        q = w[(w["tenant"] == tenant) & (w["queue"] == queue)].sort_values("start")
        # union of the waiting stretches, then: does any available interval cut into one?
        starts = q["start"].to_numpy("int64")
        ends = np.maximum.accumulate(q["end"].to_numpy("int64"))
        new = np.r_[True, starts[1:] >= ends[:-1]]
        seg_s = starts[new]
        seg_e = np.r_[ends[np.flatnonzero(new)[1:] - 1], ends[-1:]] if len(q) else ends
        a_start = a["started_at"].astype("datetime64[us, UTC]").to_numpy("int64")
        a_end = a["ended_at"].astype("datetime64[us, UTC]").to_numpy("int64")
        k = np.searchsorted(seg_s, a_end, side="left") - 1
        hit = (k >= 0) & (seg_e[np.maximum(k, 0)] > a_start)
        assert not hit.any(), (tenant, queue, a[hit].head(3))


def test_waits_equal_the_timestamps(sim: Simulation) -> None:
    c = sim["contacts"]
    answered = (c["outcome"] == "answered") & (c["direction"] == "inbound")
    gave_up = c["outcome"].isin(["abandoned", "timeout"])
    wait = (c["answered_at"] - c["arrived_at"]).dt.total_seconds()
    assert (c["wait_s"][answered] == wait[answered]).all()
    left = (c["ended_at"] - c["arrived_at"]).dt.total_seconds()
    assert (c["wait_s"][gave_up] == left[gave_up]).all()
    talk = (c["ended_at"] - c["answered_at"]).dt.total_seconds()
    assert np.allclose(c["talk_s"][answered] + c["hold_s"][answered], talk[answered],
                       atol=2e-6)
    assert gave_up.sum() > 100


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = simulate(seed=3, days=2, volume_scale=0.2)
    b = simulate(seed=3, days=2, volume_scale=0.2)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    pd.testing.assert_frame_equal(a.events, b.events)
    c = simulate(seed=4, days=2, volume_scale=0.2)
    assert not a["contacts"]["arrived_at"].equals(c["contacts"]["arrived_at"])
    assert not a["agent_states"]["started_at"].equals(c["agent_states"]["started_at"])


def test_calls_arrive_in_opening_hours_except_a_few_blocked_ones(sim: Simulation) -> None:
    c = sim["contacts"]
    voice = c[(c["direction"] == "inbound") & (c["channel"] == "voice")]
    tenants = sim.config.settings_tenants()
    is_open = voice.apply(lambda r: tenants[r["tenant"]].is_open(
        r["arrived_at"].tz_convert(tenants[r["tenant"]].timezone).to_pydatetime()), axis=1)
    blocked = voice["outcome"] == "blocked"
    assert not is_open[blocked].any()
    # every other call outside hours is a transfer made at the end of a call in hours
    assert voice["parent_contact_id"][~blocked & ~is_open].notna().all()
    assert 0 < blocked.mean() < 0.01
    # Brightpower is closed on Sundays: no call at all then
    bp = voice[voice["tenant"] == "brightpower"]
    assert (bp["arrived_at"].dt.tz_convert("Europe/London").dt.weekday != 6).all()


def test_repeat_callers_make_first_contact_resolution_meaningful(sim: Simulation) -> None:
    c = sim["contacts"]
    inbound = c[(c["direction"] == "inbound") & (c["outcome"] != "blocked")].sort_values(
        ["tenant", "customer_id", "arrived_at"])
    nxt = inbound.groupby(["tenant", "customer_id"])["arrived_at"].shift(-1)
    repeated = (nxt - inbound["ended_at"]) <= pd.Timedelta(days=7)
    handled = inbound["outcome"] == "answered"
    rate = repeated[handled].mean()
    assert 0.08 < rate < 0.4
    after = inbound["disposition"]
    assert repeated[after == "follow_up"].mean() > 3 * repeated[after == "resolved"].mean()


def test_survey_scores_fall_with_waiting_repeats_and_unresolved_issues(sim: Simulation) -> None:
    s = sim["surveys"].merge(sim["contacts"][["tenant", "contact_id", "wait_s", "disposition"]],
                             on=["tenant", "contact_id"])
    answered = s[s["csat"].notna()]
    assert 0.2 < len(answered) / len(s) < 0.4
    resolved = answered["disposition"] == "resolved"
    assert answered["csat"][resolved].mean() > answered["csat"][~resolved].mean() + 0.5
    quick = answered["wait_s"] <= 20
    slow = answered["wait_s"] >= 90
    assert answered["csat"][quick].mean() > answered["csat"][slow].mean()
    assert answered["nps"][quick].mean() > answered["nps"][slow].mean()


def test_qa_has_regular_mystery_and_calibration_evaluations(sim: Simulation) -> None:
    qa = sim["qa_evaluations"]
    assert set(qa["kind"]) == {"regular", "mystery", "calibration"}
    assert qa["contact_id"][qa["kind"] == "mystery"].isna().all()
    assert qa["contact_id"][qa["kind"] != "mystery"].notna().all()
    cal = qa[qa["kind"] == "calibration"].groupby(["tenant", "contact_id"])["evaluator"]
    assert (cal.nunique() == 3).all()
    assert ((qa["score"] >= 0) & (qa["score"] <= qa["max_score"])).all()


def test_outbound_campaign_dials_retries_and_sells(sim: Simulation) -> None:
    c = sim["contacts"]
    o = c[c["direction"] == "outbound"]
    assert set(o["campaign"]) == {"card_upgrade"}
    assert set(o["outcome"]) == {"answered", "no_answer", "busy", "voicemail", "failed"}
    answered = o[o["outcome"] == "answered"]
    assert {"sale", "appointment", "no_interest", "callback"} <= set(answered["disposition"])
    sales = o["disposition"] == "sale"
    assert (o["revenue"][sales] > 0).all() and o["revenue"][~sales].isna().all()
    tries = o.sort_values("arrived_at").groupby("customer_id")["attempt"]
    assert (tries.diff().dropna() == 1).all()
    assert o["attempt"].max() <= 4 and o["attempt"].min() == 1


def test_tickets_get_first_responses_resolutions_and_reopens(sim: Simulation) -> None:
    c = sim["contacts"]
    t = c[c["channel"] == "email"]
    handled = t[t["outcome"] == "answered"]
    assert (handled["first_response_at"] == handled["ended_at"]).all()
    assert set(handled["status"]) <= {"solved", "closed", "pending", "open"}
    solved = handled["status"].isin(["solved", "closed"])
    assert handled["resolved_at"][solved].notna().all()
    assert (handled["resolved_at"][solved] >= handled["first_response_at"][solved]).all()
    assert handled["resolved_at"][~solved].isna().all()
    assert (handled["reopens"] > 0).any()
    assert set(t["status"][t["outcome"] == "open"]) <= {"new"}


def test_hr_tables_have_hires_leavers_absences_and_trainings(sim: Simulation) -> None:
    r = sim["roster"]
    start = sim.config.start
    assert r["left_on"].notna().any()
    assert (r["hired_on"] >= start).any()
    assert set(r["employment"]) == {"full_time", "part_time"}
    a = sim["absences"]
    assert {"sick", "vacation"} <= set(a["kind"])
    assert a["planned"][a["kind"] == "vacation"].all()
    assert not a["planned"][a["kind"] == "sick"].any()
    tr = sim["trainings"]
    assert {"system", "skills", "onboarding"} <= set(tr["category"])
    # a leaver works no shift after leaving
    left = r.dropna(subset=["left_on"])
    sch = sim["schedules"].merge(left[["tenant", "agent_id", "left_on"]])
    tz = {t.name: t.timezone for t in sim.config.tenants}
    local_day = [ts.tz_convert(tz[t]).date() for t, ts in zip(sch["tenant"], sch["starts_at"],
                                                              strict=True)]
    assert all(d <= lo for d, lo in zip(local_day, sch["left_on"], strict=True))


def test_labour_cost_is_paid_hours_times_hourly_cost(sim: Simulation) -> None:
    costs = sim["costs"]
    assert set(costs["cost_type"]) == {"labour", "telephony", "licences", "facilities",
                                       "training"}
    rate = sim["roster"].set_index(["tenant", "agent_id"])["hourly_cost"]
    s = sim["agent_states"]
    sessions = s[(s["state"] == "logged_in") & (s["tenant"] == "brightpower")]
    tr = sim["trainings"]
    onboarding = tr[(tr["tenant"] == "brightpower") & (tr["category"] == "onboarding")]
    assert len(onboarding)  # new starters are paid while they train
    paid = pd.concat([
        pd.DataFrame({"at": sessions["started_at"], "agent": sessions["agent_id"],
                      "hours": (sessions["ended_at"] - sessions["started_at"])
                      .dt.total_seconds() / 3600}),
        pd.DataFrame({"at": onboarding["started_at"], "agent": onboarding["agent_id"],
                      "hours": onboarding["hours"]})])
    paid["cost"] = paid["hours"] * [rate[("brightpower", a)] for a in paid["agent"]]
    local = paid["at"].dt.tz_convert("Europe/London").dt.tz_localize(None)
    monday = (local.dt.normalize() - pd.to_timedelta(local.dt.weekday, unit="D")).dt.date
    want = paid.groupby(monday.to_numpy())["cost"].sum().round(2)
    labour = costs[(costs["tenant"] == "brightpower") & (costs["cost_type"] == "labour")]
    got = labour.groupby("period_start")["amount"].sum()
    assert list(got.index) == list(want.index)
    assert np.allclose(got.to_numpy(), want.to_numpy(), atol=0.02)


def test_forecasts_are_the_plan_without_surges(sim: Simulation) -> None:
    f = sim["forecasts"]
    c = sim["contacts"]
    offered = c[(c["direction"] == "inbound") & (c["outcome"] != "blocked")]
    ratio = len(offered) / f["volume"].sum()
    assert 0.9 < ratio < 1.15
    assert (f["interval_s"] == 1800).all()
