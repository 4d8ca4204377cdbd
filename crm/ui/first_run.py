"""First start: an empty database offers a demo shop, signed in or (in demo mode) before any user exists.

Demo data is loaded only into a database without business data (``crm.db.holds_business_data``,
the rule ``generate_demo`` itself applies). Its sign-in accounts have public passwords, so they
are created only in demo mode (``CRM_DEMO_MODE``). A refusal (data appeared meanwhile, an
impossible size) is one ``st.error`` line; nothing is half-loaded, since ``generate_demo`` runs
in one transaction.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from crm.db import holds_business_data
from crm.demo import DemoDataExistsError, DemoSize, generate_demo
from crm.permissions import Actor, Permission, allowed
from crm.settings import get_settings
from crm.ui.cache import invalidate

__all__ = ["offer_demo_data", "offer_first_run"]

# Orders per demo customer: about what the demo shop's three years of repeat buying produce.
ORDERS_PER_CUSTOMER = 10
# Seed of the offered demo shop: the same shop on every install, so screenshots and docs match.
DEMO_SEED = 7


def _has_business_data(engine: Engine) -> bool:
    with engine.connect() as connection:
        return holds_business_data(connection)


def _load_demo(engine: Engine, customers: int, *, with_demo_accounts: bool) -> bool:
    """Load the demo shop; True when loaded, else the reason is shown."""
    try:
        with st.spinner("Generating a demo shop…"):
            generate_demo(
                engine,
                DemoSize(customers=customers, orders=customers * ORDERS_PER_CUSTOMER),
                seed=DEMO_SEED,
                with_demo_accounts=with_demo_accounts,
            )
    except DemoDataExistsError:
        st.error(
            "The database already holds data, so no demo data was loaded (demo data only goes into an "
            "empty database; on the server, python -m crm demo --replace starts over)."
        )
        return False
    except ValueError as error:  # a size the generator cannot build; the message names the limit
        st.error(f"No demo data was loaded: {error}")
        return False
    invalidate()
    return True


def _size_input(key: str) -> int:
    return int(st.number_input("Demo customers", 100, 100_000, 2_000, step=500, key=key))


def offer_demo_data(engine: Engine, actor: Actor) -> bool:
    """Signed in, database without business data: offer the demo shop; True while the offer is shown."""
    if _has_business_data(engine):
        return False
    st.info("The database is empty. Import your own data, or load a demo shop to explore Pulse CRM.")
    if not allowed(actor.role, Permission.IMPORT_DATA):
        st.caption("Ask an administrator or manager to load data.")
        return True
    customers = _size_input("first_run_customers")
    if st.button("Load demo data", type="primary") and _load_demo(
        engine, customers, with_demo_accounts=get_settings().demo_mode
    ):
        st.success("Demo data loaded.")
        st.rerun()
    return True


def offer_first_run(engine: Engine) -> bool:
    """Sign-in page while no user exists. True once demo accounts exist, so the sign-in form can follow.

    Outside demo mode (or when data was already imported) the first administrator is created on
    the server; in demo mode an empty database can get the demo shop and its public demo
    accounts right here.
    """
    command = "`python -m crm users add <username>`"
    if not get_settings().demo_mode or _has_business_data(engine):
        st.warning(f"No users yet. Create the first administrator on the server with {command}, then sign in here.")
        return False
    st.info(
        "No users yet. Demo mode: load a demo shop with its demo accounts (passwords listed below once "
        f"loaded), or create the first administrator on the server with {command}."
    )
    customers = _size_input("first_run_demo_customers")
    if st.button("Load demo data", type="primary") and _load_demo(engine, customers, with_demo_accounts=True):
        st.success("Demo data loaded. Sign in with one of the demo accounts.")
        return True
    return False
