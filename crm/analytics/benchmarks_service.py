"""Bench cases of the service analytics (crm/analytics/service.py): each function next to hand SQL and pandas.

The hand SQL spells the percentiles per engine: PostgreSQL ``percentile_cont``; SQLite, which has none,
ranks the values with ``ROW_NUMBER()``/``COUNT()`` windows and interpolates between the two nearest
ranks — an independent check of the ``crm_percentile`` aggregate the crm functions use there.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from crm.analytics import service
from crm.analytics.benchmarks import AnalyticsCase, _in_period, _load, _people, _Spelling
from crm.filters import Filters
from crm.schema import sla_policies, tickets, users, utc_now

__all__ = ["CASES"]

SUMMARY_COLUMNS = [
    "opened",
    "resolved",
    "backlog",
    "first_response_hours_median",
    "first_response_hours_p90",
    "resolution_hours_median",
    "resolution_hours_p90",
    "sla_met",
    "sla_missed",
    "sla_attainment",
    "rated",
    "csat_average",
]
AGENT_COLUMNS = [
    "agent",
    "assigned",
    "resolved",
    "first_response_hours_median",
    "resolution_hours_median",
    "rated",
    "csat_average",
]


# --- hand-written SQL ---------------------------------------------------------------------------------


def _ticket_rows(s: _Spelling, as_of: datetime) -> str:
    """One row per ticket of the period: hours to response/resolution as of the period's end, SLA outcome."""
    at = s.bind(as_of)
    join = " JOIN customers c ON c.id = t.customer_id" if s.filters.has_customer_filters() or s.filters.brands else ""
    responded = f"(t.first_response_at IS NOT NULL AND t.first_response_at < {at})"
    resolved = f"(t.resolved_at IS NOT NULL AND t.resolved_at < {at})"
    response = f"{s.days('t.created_at', 't.first_response_at')} * 24"
    resolution = f"{s.days('t.created_at', 't.resolved_at')} * 24"
    age = f"{s.days('t.created_at', at)} * 24"
    answer = f"CASE WHEN {responded} THEN {response} WHEN {resolved} THEN {resolution} END"
    answered = f"({responded} OR {resolved})"
    late = (
        f"(({answered} AND {answer} > sp.first_response_hours) OR ({resolved} AND {resolution} > sp.resolution_hours)"
        f" OR (NOT {answered} AND {age} > sp.first_response_hours) OR (NOT {resolved} AND {age} > sp.resolution_hours))"
    )
    return f"""
        SELECT t.id, t.assignee_id, t.satisfaction,
               CASE WHEN {resolved} THEN 1 ELSE 0 END AS is_resolved,
               CASE WHEN {responded} THEN {response} END AS response_hours,
               CASE WHEN {resolved} THEN {resolution} END AS resolution_hours,
               CASE WHEN sp.priority IS NULL THEN NULL WHEN {late} THEN 'missed'
                    WHEN {resolved} THEN 'met' END AS outcome
        FROM tickets t{join} LEFT JOIN sla_policies sp ON sp.priority = t.priority
        WHERE 1 = 1{s.period("t.created_at")}{s.people("c")}
    """


def _percentile_sql(s: _Spelling, column: str, fraction: float, group: str | None = None) -> str:
    """SQL for the percentile of ``base.column`` (per ``group`` when given, correlated to outer ``g``)."""
    if s.postgres:
        where = f" WHERE b.{group} = g.{group}" if group else ""
        return f"(SELECT percentile_cont({fraction}) WITHIN GROUP (ORDER BY b.{column}) FROM base b{where})"
    partition = f"PARTITION BY b.{group} " if group else ""
    where = f" AND r.{group} = g.{group}" if group else ""
    whole = "CAST(r.position AS INTEGER)"  # the rank below the position; the next rank is above it
    share_above = f"(r.position - {whole})"
    return f"""(SELECT SUM(CASE WHEN r.rank = {whole} THEN r.value * (1 - {share_above})
                              WHEN r.rank = {whole} + 1 THEN r.value * {share_above}
                              ELSE 0 END)
               FROM (SELECT b.{column} AS value, {f"b.{group} AS {group}, " if group else ""}
                            ROW_NUMBER() OVER ({partition}ORDER BY b.{column}) - 1 AS rank,
                            {fraction} * (COUNT(*) OVER ({partition.strip()}) - 1) AS position
                     FROM base b WHERE b.{column} IS NOT NULL) r WHERE 1 = 1{where})"""


def _hand_summary(connection: Connection, filters: Filters) -> pd.DataFrame:
    s = _Spelling(connection, filters)
    base = _ticket_rows(s, service.period_as_of(filters))
    sql = f"""
        WITH base AS ({base})
        SELECT COUNT(*), COALESCE(SUM(is_resolved), 0), COUNT(*) - COALESCE(SUM(is_resolved), 0),
               {_percentile_sql(s, "response_hours", 0.5)}, {_percentile_sql(s, "response_hours", 0.9)},
               {_percentile_sql(s, "resolution_hours", 0.5)}, {_percentile_sql(s, "resolution_hours", 0.9)},
               SUM(CASE WHEN outcome = 'met' THEN 1 ELSE 0 END), SUM(CASE WHEN outcome = 'missed' THEN 1 ELSE 0 END),
               CAST(SUM(CASE WHEN outcome = 'met' THEN 1 ELSE 0 END) AS FLOAT)
                   / NULLIF(SUM(CASE WHEN outcome IS NOT NULL THEN 1 ELSE 0 END), 0),
               COUNT(satisfaction), AVG(satisfaction)
        FROM base
    """
    frame = pd.DataFrame(connection.execute(text(sql), s.params).all(), columns=SUMMARY_COLUMNS)
    return frame.fillna({"sla_met": 0, "sla_missed": 0})


def _hand_csat(connection: Connection, filters: Filters) -> pd.DataFrame:
    s = _Spelling(connection, filters)
    join = " JOIN customers c ON c.id = t.customer_id" if filters.has_customer_filters() or filters.brands else ""
    scores = " UNION ALL ".join(f"SELECT {score} AS score" for score in range(1, 6))
    sql = f"""
        WITH rated AS (SELECT t.satisfaction FROM tickets t{join}
                       WHERE t.satisfaction IS NOT NULL{s.period("t.created_at")}{s.people("c")})
        SELECT k.score, COUNT(r.satisfaction),
               COALESCE(CAST(COUNT(r.satisfaction) AS FLOAT) / NULLIF((SELECT COUNT(*) FROM rated), 0), 0)
        FROM ({scores}) k LEFT JOIN rated r ON r.satisfaction = k.score
        GROUP BY k.score ORDER BY k.score
    """
    return pd.DataFrame(connection.execute(text(sql), s.params).all(), columns=["score", "tickets", "share"])


def _hand_volume(connection: Connection, filters: Filters) -> pd.DataFrame:
    s = _Spelling(connection, filters)
    join = " JOIN customers c ON c.id = t.customer_id" if filters.has_customer_filters() or filters.brands else ""
    month = s.month("t.created_at")
    sql = f"""
        SELECT {month} AS period, t.category, t.priority, COUNT(*) FROM tickets t{join}
        WHERE 1 = 1{s.period("t.created_at")}{s.people("c")}
        GROUP BY {month}, t.category, t.priority ORDER BY 1, 2, 3
    """
    return pd.DataFrame(
        connection.execute(text(sql), s.params).all(), columns=["period", "category", "priority", "tickets"]
    )


def _hand_agents(connection: Connection, filters: Filters) -> pd.DataFrame:
    s = _Spelling(connection, filters)
    base = _ticket_rows(s, service.period_as_of(filters))
    sql = f"""
        WITH base AS ({base}),
             g AS (SELECT assignee_id, COUNT(*) AS assigned, SUM(is_resolved) AS resolved,
                          COUNT(satisfaction) AS rated, AVG(satisfaction) AS csat
                   FROM base WHERE assignee_id IS NOT NULL GROUP BY assignee_id)
        SELECT COALESCE(u.full_name, u.username), g.assigned, g.resolved,
               {_percentile_sql(s, "response_hours", 0.5, "assignee_id")},
               {_percentile_sql(s, "resolution_hours", 0.5, "assignee_id")},
               g.rated, g.csat
        FROM g JOIN users u ON u.id = g.assignee_id
    """
    return pd.DataFrame(connection.execute(text(sql), s.params).all(), columns=AGENT_COLUMNS)


# --- pandas baselines ---------------------------------------------------------------------------------


def _pandas_tickets(engine: Engine, filters: Filters) -> pd.DataFrame:
    """The period's tickets of matching customers, with hours and SLA outcome as of the period's end."""
    (frame, policies) = _load(engine, tickets, sla_policies)
    frame = frame[_in_period(frame["created_at"], filters)]
    if filters.has_customer_filters() or filters.brands:
        frame = frame[frame["customer_id"].isin(_people(engine, filters)["id"])]
    targets = policies.rename(
        columns={"first_response_hours": "first_response_target", "resolution_hours": "resolution_target"}
    )[["priority", "first_response_target", "resolution_target"]]
    frame = frame.merge(targets, on="priority", how="left")
    as_of = pd.Timestamp(service.period_as_of(filters, utc_now()))
    created = pd.to_datetime(frame["created_at"])
    responded_at, resolved_at = pd.to_datetime(frame["first_response_at"]), pd.to_datetime(frame["resolved_at"])
    responded = responded_at.notna() & (responded_at < as_of)
    resolved = resolved_at.notna() & (resolved_at < as_of)
    hours = 3600.0
    frame = frame.assign(
        is_resolved=resolved,
        response_hours=((responded_at - created).dt.total_seconds() / hours).where(responded),
        resolution_hours=((resolved_at - created).dt.total_seconds() / hours).where(resolved),
    )
    age = (as_of - created).dt.total_seconds() / hours
    # Resolved without a separate first response: the resolution was the first answer.
    answer = frame["response_hours"].where(responded, frame["resolution_hours"])
    return _with_outcome(frame, age, answer, responded | resolved, resolved)


def _with_outcome(
    frame: pd.DataFrame, age: pd.Series, answer: pd.Series, answered: pd.Series, resolved: pd.Series
) -> pd.DataFrame:
    first_target, resolution_target = frame["first_response_target"], frame["resolution_target"]
    late = (
        (answered & (answer > first_target))
        | (resolved & (frame["resolution_hours"] > resolution_target))
        | (~answered & (age > first_target))
        | (~resolved & (age > resolution_target))
    )
    outcome = np.where(first_target.isna(), None, np.where(late, "missed", np.where(resolved, "met", None)))
    return frame.assign(outcome=outcome)


def _pandas_summary(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _pandas_tickets(engine, filters)
    met, missed = int((frame["outcome"] == "met").sum()), int((frame["outcome"] == "missed").sum())
    opened, resolved = len(frame), int(frame["is_resolved"].sum())
    row = {
        "opened": opened,
        "resolved": resolved,
        "backlog": opened - resolved,
        "first_response_hours_median": frame["response_hours"].quantile(0.5),
        "first_response_hours_p90": frame["response_hours"].quantile(0.9),
        "resolution_hours_median": frame["resolution_hours"].quantile(0.5),
        "resolution_hours_p90": frame["resolution_hours"].quantile(0.9),
        "sla_met": met,
        "sla_missed": missed,
        "sla_attainment": met / (met + missed) if met + missed else None,
        "rated": int(frame["satisfaction"].notna().sum()),
        "csat_average": frame["satisfaction"].mean(),
    }
    return pd.DataFrame([row], columns=SUMMARY_COLUMNS)


def _pandas_csat(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _pandas_tickets(engine, filters)
    counts = frame["satisfaction"].dropna().astype(int).value_counts()
    result = pd.DataFrame({"score": range(1, 6)})
    result["tickets"] = [int(counts.get(score, 0)) for score in result["score"]]
    total = result["tickets"].sum()
    result["share"] = result["tickets"] / total if total else 0.0
    return result


def _pandas_volume(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _pandas_tickets(engine, filters)
    frame = frame.assign(period=pd.to_datetime(frame["created_at"]).dt.strftime("%Y-%m-01"))
    grouped = frame.groupby(["period", "category", "priority"]).size().rename("tickets").reset_index()
    return grouped.sort_values(["period", "category", "priority"]).reset_index(drop=True)


def _pandas_agents(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _pandas_tickets(engine, filters)
    (staff,) = _load(engine, users)
    frame = frame[frame["assignee_id"].notna()].merge(
        staff.rename(columns={"id": "assignee_id"})[["assignee_id", "full_name", "username"]], on="assignee_id"
    )
    frame = frame.assign(agent=frame["full_name"].fillna(frame["username"]))
    grouped = frame.groupby("assignee_id").agg(
        agent=("agent", "first"),
        assigned=("id", "count"),
        resolved=("is_resolved", "sum"),
        first_response_hours_median=("response_hours", "median"),
        resolution_hours_median=("resolution_hours", "median"),
        rated=("satisfaction", "count"),
        csat_average=("satisfaction", "mean"),
    )
    return grouped.reset_index(drop=True)[AGENT_COLUMNS]


def _summary_numbers(result: object) -> pd.DataFrame:
    assert isinstance(result, service.ServiceSummary)
    return pd.DataFrame([result.as_dict()], columns=SUMMARY_COLUMNS)


CASES: list[AnalyticsCase] = [
    AnalyticsCase(
        "service: summary (opened, times, SLA, CSAT)",
        service.service_summary,
        _hand_summary,
        _pandas_summary,
        _summary_numbers,
    ),
    AnalyticsCase("service: CSAT distribution", service.csat_distribution, _hand_csat, _pandas_csat),
    AnalyticsCase("service: volume by month, category, priority", service.ticket_volume, _hand_volume, _pandas_volume),
    AnalyticsCase("service: per-agent table", service.agent_performance, _hand_agents, _pandas_agents),
]
