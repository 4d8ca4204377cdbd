"""Shaped results for the CLV page and Customer 360: overview, tiers, sources, top customers, one customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from crm.analytics.clv.constants import DEFAULT_HORIZON_MONTHS, DEFAULT_MODEL, DEFAULT_UNIT, TIERS, ModelName, Unit
from crm.analytics.clv.scoring import ClvAnalysis, churn_rule, clv_analysis, model_label
from crm.filters import Filters


# --- shaped results for the page ---------------------------------------------------------------
@dataclass(frozen=True)
class ClvOverview:
    """Headline CLV numbers.

    * customers: customers with a revenue order up to the as-of date; repeat_buyers among them.
    * average_clv / total_clv: predicted CLV over the horizon (historic CLV when no model fits).
    * average_historic / total_historic: what customers have spent up to the as-of date.
    * average_order_value: historic revenue ÷ revenue orders.
    * purchase_frequency: revenue orders ÷ customers.
    * average_lifespan_days: mean days from first to last purchase of repeat buyers.
    * churn_risk: customers flagged as churn risk (``churn_rule``).
    * average_p_alive: mean P(alive) of the customers who have one (under BG/NBD one-time buyers
      have none); None without a model.
    """

    customers: int
    repeat_buyers: int
    average_clv: float
    total_clv: float
    average_historic: float
    total_historic: float
    average_order_value: float
    purchase_frequency: float
    average_lifespan_days: float
    churn_risk: int
    average_p_alive: float | None
    value_basis: str


def clv_overview(analysis: ClvAnalysis) -> ClvOverview:
    """The headline numbers of ``analysis`` (see ``ClvOverview`` for the definitions)."""
    frame = analysis.customers
    if frame.empty:
        return ClvOverview(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, None, analysis.value_basis)
    orders_count = int(frame["orders"].sum())
    total_historic = float(frame["historic_value"].sum())
    repeat = frame[frame["frequency"] > 0]
    lifespan = ((repeat["last_purchase"] - repeat["first_purchase"]).map(lambda gap: gap.days)).mean()
    return ClvOverview(
        customers=len(frame),
        repeat_buyers=len(repeat),
        average_clv=round(float(frame["clv"].mean()), 2),
        total_clv=round(float(frame["clv"].sum()), 2),
        average_historic=round(total_historic / len(frame), 2),
        total_historic=round(total_historic, 2),
        average_order_value=round(total_historic / orders_count, 2) if orders_count else 0.0,
        purchase_frequency=round(orders_count / len(frame), 4),
        average_lifespan_days=round(float(lifespan), 1) if len(repeat) else 0.0,
        churn_risk=int(frame["churn_risk"].sum()),
        average_p_alive=round(float(frame["p_alive"].mean()), 4) if analysis.fitted else None,
        value_basis=analysis.value_basis,
    )


def value_tiers(analysis: ClvAnalysis) -> pd.DataFrame:
    """Columns: tier (top, high, mid, low), customers, customer_share, value (CLV), value_share, average_value."""
    frame = analysis.customers
    names = [name for name, _ in TIERS]
    grouped = frame.groupby("tier")["clv"].agg(["size", "sum"]).reindex(names, fill_value=0)
    total_customers = max(len(frame), 1)
    total_value = float(frame["clv"].sum()) if not frame.empty else 0.0
    return pd.DataFrame(
        {
            "tier": names,
            "customers": grouped["size"].astype("int64").to_numpy(),
            "customer_share": (grouped["size"] / total_customers).to_numpy(dtype=float),
            "value": grouped["sum"].astype(float).round(2).to_numpy(),
            "value_share": (grouped["sum"] / total_value).to_numpy(dtype=float) if total_value else 0.0,
            "average_value": (grouped["sum"] / grouped["size"].where(grouped["size"] > 0))
            .astype(float)
            .round(2)
            .to_numpy(),
        }
    )


def clv_by_source(analysis: ClvAnalysis) -> pd.DataFrame:
    """Columns: source, customers, total_clv, average_clv, value_share, churn_risk_share; by total CLV."""
    frame = analysis.customers
    if frame.empty:
        return pd.DataFrame(
            columns=["source", "customers", "total_clv", "average_clv", "value_share", "churn_risk_share"]
        )
    grouped = frame.groupby("source").agg(
        customers=("customer_id", "size"),
        total_clv=("clv", "sum"),
        average_clv=("clv", "mean"),
        churn_risk_share=("churn_risk", "mean"),
    )
    total = float(frame["clv"].sum())
    grouped["value_share"] = grouped["total_clv"] / total if total else 0.0
    grouped["total_clv"] = grouped["total_clv"].round(2)
    grouped["average_clv"] = grouped["average_clv"].round(2)
    ordered = grouped.reset_index().sort_values(["total_clv", "source"], ascending=[False, True])
    return ordered[["source", "customers", "total_clv", "average_clv", "value_share", "churn_risk_share"]].reset_index(
        drop=True
    )


TOP_COLUMNS = [
    "customer_id",
    "name",
    "source",
    "tier",
    "orders",
    "historic_value",
    "expected_purchases",
    "predicted_value",
    "p_alive",
    "churn_risk",
    "last_purchase",
]


def top_customers(analysis: ClvAnalysis, limit: int = 20) -> pd.DataFrame:
    """The ``limit`` customers with the highest CLV (ties: lower customer id first); TOP_COLUMNS."""
    frame = analysis.customers
    ordered = frame.sort_values(["clv", "customer_id"], ascending=[False, True], kind="mergesort")
    return ordered.head(limit)[TOP_COLUMNS].reset_index(drop=True)


def cohort_clv_trend(analysis: ClvAnalysis) -> pd.DataFrame:
    """Monthly cohorts of new customers (month of first purchase).

    Columns: cohort ('YYYY-MM-01'), customers, average_historic, average_predicted (NaN
    without a model), average_total (historic + predicted).
    """
    frame = analysis.customers
    columns = ["cohort", "customers", "average_historic", "average_predicted", "average_total"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    cohort = frame["first_purchase"].map(lambda day: day.replace(day=1).isoformat())
    predicted = frame["predicted_value"].fillna(0.0) if analysis.fitted else pd.Series(0.0, index=frame.index)
    grouped = (
        pd.DataFrame({"cohort": cohort, "historic": frame["historic_value"], "predicted": predicted})
        .groupby("cohort")
        .agg(
            customers=("historic", "size"),
            average_historic=("historic", "mean"),
            average_predicted=("predicted", "mean"),
        )
        .reset_index()
        .sort_values("cohort")
    )
    grouped["average_total"] = grouped["average_historic"] + grouped["average_predicted"]
    for name in ("average_historic", "average_predicted", "average_total"):
        grouped[name] = grouped[name].round(2)
    if not analysis.fitted:
        grouped["average_predicted"] = np.nan
        grouped["average_total"] = grouped["average_historic"]
    return grouped[columns].reset_index(drop=True)


# --- one customer (CLV page lookup, Customer 360) -----------------------------------------------
@dataclass(frozen=True)
class CustomerClv:
    """CLV of one customer: historic value, expected purchases and predicted (discounted) value
    over ``horizon`` months, P(alive) and the churn-risk flag with the rule that set it.

    Model values are None when the customer has no purchase or no model could be fitted
    (``message`` says why); ``p_alive`` is also None for a BG/NBD one-time buyer
    (``bought_once``: the model cannot tell, see ``churn_rule``). ``model`` names the model used.
    """

    customer_id: int
    name: str | None
    email: str | None
    as_of: date | None
    horizon: int
    model: str
    historic_value: float
    orders: int
    last_purchase: date | None
    bought_once: bool
    expected_purchases: float | None
    predicted_value: float | None
    p_alive: float | None
    churn_risk: bool | None
    churn_rule: str
    tier: str | None
    message: str


def customer_value(analysis: ClvAnalysis, customer_id: int) -> CustomerClv:
    """One customer's row of ``analysis`` (fitted once for everyone, so this costs nothing)."""
    frame = analysis.customers
    rows = frame[frame["customer_id"] == customer_id]
    if rows.empty:
        as_of = f"{analysis.as_of:%d %b %Y}" if analysis.as_of else "the as-of date"
        return CustomerClv(
            customer_id=customer_id,
            name=None,
            email=None,
            as_of=analysis.as_of,
            horizon=analysis.horizon,
            model=model_label(analysis),
            historic_value=0.0,
            orders=0,
            last_purchase=None,
            bought_once=False,
            expected_purchases=None,
            predicted_value=None,
            p_alive=None,
            churn_risk=None,
            churn_rule="",
            tier=None,
            message=f"No revenue orders up to {as_of}, so no lifetime value yet.",
        )
    row = rows.iloc[0]

    def optional(value: Any) -> float | None:
        return None if pd.isna(value) else float(value)

    bought_once = int(row["frequency"]) == 0
    return CustomerClv(
        customer_id=customer_id,
        name=None if pd.isna(row["name"]) else str(row["name"]),
        email=None if pd.isna(row.get("email")) else str(row["email"]),
        as_of=analysis.as_of,
        horizon=analysis.horizon,
        model=model_label(analysis),
        historic_value=float(row["historic_value"]),
        orders=int(row["orders"]),
        last_purchase=row["last_purchase"],
        bought_once=bought_once,
        expected_purchases=optional(row["expected_purchases"]),
        predicted_value=optional(row["predicted_value"]),
        p_alive=optional(row["p_alive"]),
        churn_risk=bool(row["churn_risk"]),
        churn_rule=churn_rule(analysis, bought_once=bought_once),
        tier=str(row["tier"]),
        message=analysis.message,
    )


def find_customers(analysis: ClvAnalysis, search: str = "", *, limit: int = 50) -> pd.DataFrame:
    """Customers of ``analysis`` whose name or email contains ``search`` (any case), highest CLV first.

    Columns: customer_id, label ("name · email"). At most ``limit`` rows; all customers when
    ``search`` is blank.
    """
    frame = analysis.customers
    if frame.empty:
        return pd.DataFrame({"customer_id": pd.Series(dtype="int64"), "label": pd.Series(dtype=object)})
    if "email" not in frame.columns:  # a hand-made summary (fit_and_score) may have none
        frame = frame.assign(email=None)
    text = search.strip().casefold()
    if text:
        names = frame["name"].fillna("").astype(str).str.casefold()
        emails = frame["email"].fillna("").astype(str).str.casefold()
        frame = frame[names.str.contains(text, regex=False) | emails.str.contains(text, regex=False)]
    ordered = frame.sort_values(["clv", "customer_id"], ascending=[False, True], kind="mergesort").head(limit)
    names = ordered["name"].fillna("(no name)").astype(str)
    emails = ordered["email"].fillna("").astype(str)
    labels = [
        f"{name} · {email}" if email and email != name else name for name, email in zip(names, emails, strict=True)
    ]
    return pd.DataFrame({"customer_id": ordered["customer_id"].to_numpy(), "label": labels})


def customer_clv(
    engine: Engine,
    customer_id: int,
    *,
    filters: Filters | None = None,
    as_of: date | None = None,
    unit: Unit = DEFAULT_UNIT,
    horizon: int = DEFAULT_HORIZON_MONTHS,
    model: ModelName = DEFAULT_MODEL,
) -> CustomerClv:
    """The CLV of one customer, scored by a model fitted on all customers matching ``filters``.

    The fit covers the whole population: on a page, pick the row from a cached analysis with
    ``customer_value`` instead.
    """
    analysis = clv_analysis(engine, filters, as_of=as_of, unit=unit, horizon=horizon, model=model)
    return customer_value(analysis, customer_id)
