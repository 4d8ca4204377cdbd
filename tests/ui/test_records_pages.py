"""Records pages in AppTest: every page renders per role; grid saves, deletes and refusals; orders; 360."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from crm.schema import customers, inventory, order_items, orders, products, stock_movements, users, utc_now, warehouses
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as, make_demo_database, shown_text

RECORD_PAGES = (
    "pages/customers.py",
    "pages/customer_360.py",
    "pages/orders.py",
    "pages/transactions.py",
    "pages/products.py",
    "pages/inventory.py",
    "pages/catalog.py",
    "pages/activities.py",
)


@pytest.fixture
def shop_url(sqlite_engine: Engine) -> str:
    """The tiny shop in a SQLite file, plus an analyst (ann) to check read-only grids."""
    load_tiny_shop(sqlite_engine)
    now = utc_now()
    with sqlite_engine.begin() as connection:
        connection.execute(
            users.insert().values(
                username="ann",
                full_name="Ann Analyst",
                role="analyst",
                password_hash="x",
                created_at=now,
                updated_at=now,
            )
        )
    return sqlite_engine.url.render_as_string(hide_password=False)


def _open(url: str, username: str, page: str) -> AppTest:
    app = app_as(url, username)
    app.run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def _city(engine: Engine, customer_id: int) -> str:
    with engine.connect() as connection:
        return connection.execute(select(customers.c.city).where(customers.c.id == customer_id)).scalar_one()


@pytest.mark.parametrize("page", RECORD_PAGES)
@pytest.mark.parametrize("username", ["ada", "sam", "ann"])
def test_every_records_page_opens_for_admin_agent_and_analyst(shop_url: str, page: str, username: str) -> None:
    app = _open(shop_url, username, page)
    assert app.title[0].value
    assert not app.error, [error.value for error in app.error]


def test_an_edited_cell_is_saved_and_the_grid_reloads(shop_url: str, sqlite_engine: Engine) -> None:
    app = _open(shop_url, "sam", "pages/customers.py")
    # Newest first: row 0 is Eve (id 5).
    app.session_state["customers__edits0"] = {
        "edited_rows": {0: {"city": "Busan"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()
    app.button(key="customers__save").click().run()
    assert not app.exception, app.exception
    assert _city(sqlite_engine, 5) == "Busan"
    assert [success.value for success in app.success] == ["Saved: 1 updated."]


def test_invalid_edits_are_listed_by_row_and_field_and_not_saved(shop_url: str, sqlite_engine: Engine) -> None:
    app = _open(shop_url, "sam", "pages/customers.py")
    app.session_state["customers__edits0"] = {
        "edited_rows": {0: {"email": "nope", "city": "Busan"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()
    app.button(key="customers__save").click().run()
    errors = " ".join(shown_text(error.value) for error in app.error)
    assert "Row 1 (id 5), Email: 'nope' is not an email address." in errors
    assert _city(sqlite_engine, 5) == "Seoul"


def test_a_delete_waits_for_confirmation(shop_url: str, sqlite_engine: Engine) -> None:
    app = _open(shop_url, "ada", "pages/customers.py")
    app.session_state["customers__edits0"] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [0]}
    app.run()
    app.button(key="customers__save").click().run()
    assert "Tick the confirmation box" in app.error[0].value
    app.checkbox(key="customers__confirm0").check().run()
    app.button(key="customers__save").click().run()
    assert not app.exception, app.exception
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(customers.c.id).where(customers.c.id == 5)).first() is None


def _grid_rows(app: AppTest) -> Any:
    """The frame the (single) record grid of the page shows."""
    return app.dataframe[0].value


def test_a_row_changed_by_someone_else_meanwhile_is_refused_with_a_reload_offer(
    shop_url: str, sqlite_engine: Engine
) -> None:
    app = _open(shop_url, "sam", "pages/customers.py")
    # The page is cached now; another process saves Eve first (this server's cache knows nothing of it).
    with sqlite_engine.begin() as connection:
        connection.execute(customers.update().where(customers.c.id == 5).values(city="Daegu", version=2))
    app.session_state["customers__edits0"] = {
        "edited_rows": {0: {"city": "Busan"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()
    assert _grid_rows(app).loc[0, "city"] == "Seoul"  # still the cached page
    app.button(key="customers__save").click().run()
    assert "Someone else changed these rows" in app.error[0].value
    assert "version 1, now 2" in shown_text(app.error[0].value)
    # The reload button is right under the refusal, in the same run.
    keys = [button.key for button in app.button]
    assert keys.index("customers__reload") == keys.index("customers__discard") + 1
    assert _city(sqlite_engine, 5) == "Daegu"
    app.button(key="customers__reload").click().run()
    assert not app.exception, app.exception
    assert "customers__reload" not in [button.key for button in app.button]
    assert not app.error
    assert _grid_rows(app).loc[0, "city"] == "Daegu"  # the other process's change, read afresh


def test_discard_starts_a_fresh_editor_so_the_browser_drops_its_edits_too(shop_url: str, sqlite_engine: Engine) -> None:
    app = _open(shop_url, "sam", "pages/customers.py")
    app.session_state["customers__edits0"] = {
        "edited_rows": {0: {"city": "Busan"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()
    assert not app.button(key="customers__discard").disabled
    app.button(key="customers__discard").click().run()
    assert not app.exception, app.exception
    # A new widget key: the browser's grid is a new widget, without the typed-in Busan.
    assert app.session_state["customers__generation"] == 1
    assert "customers__edits0" not in app.session_state
    assert app.button(key="customers__save").disabled
    assert _city(sqlite_engine, 5) == "Seoul"
    # After a save the generation moves on as well.
    app.session_state["customers__edits1"] = {
        "edited_rows": {0: {"city": "Ulsan"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()
    app.button(key="customers__save").click().run()
    assert _city(sqlite_engine, 5) == "Ulsan"
    assert app.session_state["customers__generation"] == 2
    assert _grid_rows(app).loc[0, "city"] == "Ulsan"


def test_agents_cannot_delete_even_with_a_crafted_editor_state(shop_url: str, sqlite_engine: Engine) -> None:
    app = _open(shop_url, "sam", "pages/customers.py")
    app.session_state["customers__edits0"] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [0]}
    app.run()
    app.checkbox(key="customers__confirm0").check().run()
    app.button(key="customers__save").click().run()
    assert "may not delete records" in app.error[0].value
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(customers.c.id).where(customers.c.id == 5)).first() is not None


def test_analysts_see_a_read_only_grid_without_save(shop_url: str) -> None:
    app = _open(shop_url, "ann", "pages/customers.py")
    assert "Read-only for your role." in " ".join(caption.value for caption in app.caption)
    assert "customers__save" not in [button.key for button in app.button]


def test_customer_search_narrows_the_grid(shop_url: str) -> None:
    app = _open(shop_url, "sam", "pages/customers.py")
    app.text_input(key="customers_search").input("MOSS").run()
    assert "1 customers match" in " ".join(caption.value for caption in app.caption)


def test_batch_status_update_ships_orders_and_moves_stock(shop_url: str, sqlite_engine: Engine) -> None:
    app = _open(shop_url, "sam", "pages/orders.py")
    app.multiselect(key="orders_batch_selection").set_value(["O7", "O8"]).run()
    app.selectbox(key="orders_batch_status").set_value("shipped").run()
    app.button(key="orders_batch_apply").click().run()
    assert not app.exception, app.exception
    with sqlite_engine.connect() as connection:
        statuses = dict(connection.execute(select(orders.c.order_number, orders.c.status)).all())
        mugs = connection.execute(select(inventory.c.on_hand, inventory.c.reserved).where(inventory.c.product_id == 2))
        assert tuple(mugs.one()) == (3, 0)  # 8 − 5 shipped; the 5 reserved released
    assert (statuses["O7"], statuses["O8"]) == ("shipped", "shipped")
    assert "2 order(s) set to shipped." in [success.value for success in app.success]


def _add_product(app: AppTest, search: str) -> None:
    app.text_input(key="new_order_product_search").input(search).run()
    app.button(key="new_order_add_line").click().run()


def test_new_order_form_shows_live_totals_and_creates_the_order(shop_url: str, sqlite_engine: Engine) -> None:
    app = _open(shop_url, "sam", "pages/orders.py")
    # The form starts with no customer: the order is for whoever is picked, never the newest by default.
    assert app.selectbox(key="new_order_customer").value is None
    _add_product(app, "shirt")
    assert app.button(key="new_order_create").disabled
    assert "Choose the customer the order is for." in shown_text(app.error[0].value)
    app.selectbox(key="new_order_customer").set_value(5).run()
    # A new search shows other products; the T-shirt line stays, with the default quantity 1.
    _add_product(app, "mug")
    assert app.session_state["new_order_quantity_1"] == 1
    assert [line["label"] for line in app.session_state["new_order_lines"]] == [
        "T-shirt (TS-1) · 20.00",
        "Mug (MUG-1) · 10.00",
    ]
    app.number_input(key="new_order_quantity_1").set_value(2).run()
    app.number_input(key="new_order_shipping").set_value(5.0).run()
    metrics = {metric.label: metric.value for metric in app.metric}
    # 2 × 20 + 10 = 50.00; tax 10 % = 5.00; shipping 5.00; total 60.00
    assert (metrics["Subtotal"], metrics["Tax"], metrics["Total"]) == ("$50.00", "$5.00", "$60.00")
    app.button(key="new_order_create").click().run()
    assert not app.exception, app.exception
    with sqlite_engine.connect() as connection:
        newest = connection.execute(select(orders).order_by(orders.c.id.desc()).limit(1)).mappings().one()
        items = connection.execute(
            select(order_items.c.product_id, order_items.c.quantity).where(order_items.c.order_id == newest["id"])
        ).all()
    assert (newest["total"], newest["status"], newest["customer_id"]) == (Decimal("60.00"), "pending", 5)
    assert sorted(tuple(item) for item in items) == [(1, 2), (2, 1)]
    assert app.session_state["new_order_lines"] == []


def test_a_line_without_quantity_is_named_instead_of_silently_dropped(shop_url: str, sqlite_engine: Engine) -> None:
    app = _open(shop_url, "sam", "pages/orders.py")
    app.selectbox(key="new_order_customer").set_value(5).run()
    _add_product(app, "shirt")
    _add_product(app, "mug")
    app.number_input(key="new_order_quantity_2").set_value(None).run()
    assert "Item 2 (Mug (MUG-1) · 10.00): enter a quantity of 1 or more." in shown_text(app.error[0].value)
    assert app.button(key="new_order_create").disabled
    # Adding the same product again adds one to its line; removing a line keeps the others.
    _add_product(app, "shirt")
    assert app.session_state["new_order_quantity_1"] == 2
    app.button(key="new_order_remove_2").click().run()
    assert [line["product_id"] for line in app.session_state["new_order_lines"]] == [1]
    assert not app.error
    assert not app.button(key="new_order_create").disabled
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(orders)).scalar_one() == 8


def test_editing_an_orders_items_on_the_orders_page_recomputes_its_total(shop_url: str, sqlite_engine: Engine) -> None:
    app = _open(shop_url, "sam", "pages/orders.py")
    app.selectbox(key="orders_items_order").set_value("O7").run()
    app.session_state["order_items_7__edits0"] = {
        "edited_rows": {0: {"quantity": 3}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()
    app.button(key="order_items_7__save").click().run()
    assert not app.exception, app.exception
    with sqlite_engine.connect() as connection:
        total = connection.execute(select(orders.c.total).where(orders.c.id == 7)).scalar_one()
    # O7: 3 mugs × 10.00 = 30.00; tax keeps 10 % = 3.00; discount 5.00 → 28.00
    assert total == Decimal("28.00")


def test_customer_360_shows_alices_value(shop_url: str) -> None:
    app = _open(shop_url, "sam", "pages/customer_360.py")
    app.text_input(key="c360_search").input("alice").run()
    app.selectbox(key="c360_match").set_value(1).run()
    metrics = {metric.label: metric.value for metric in app.metric}
    # O1 49 + O2 100 + O8 27 = 176.00 over 3 orders; AOV 58.67; 1200 points → silver.
    assert (metrics["Spent so far"], metrics["Counted orders"], metrics["Average order value"]) == (
        "$176.00",
        "3",
        "$58.67",
    )
    assert "Silver tier" in app.subheader[0].value
    expected_spend = metrics["Expected spend, next 12 months"]
    assert expected_spend == "—" or expected_spend.startswith("$")


def test_inventory_page_counts_low_and_out_of_stock(shop_url: str) -> None:
    app = _open(shop_url, "ann", "pages/inventory.py")
    metrics = {metric.label: metric.value for metric in app.metric}
    # Mug: 8 − 5 = 3 ≤ reorder 10 (low); Jacket: 0 (out); T-shirt 49 fine.
    assert (metrics["Stock items"], metrics["Low stock"], metrics["Out of stock"]) == ("3", "1", "1")


def test_the_records_section_is_in_every_role_menu() -> None:
    from crm.ui.navigation import pages_for_role

    for role in ("admin", "manager", "analyst", "agent"):
        assert "pages/customers.py" in [page.path for page in pages_for_role(role)]
    assert Path("pages/customers.py").exists()


def test_record_grids_offer_downloads_of_every_matching_row_by_role(tmp_path: Path) -> None:
    """Managers download customers (personal data); agents may export products but not customers."""
    url = make_demo_database(tmp_path / "downloads.db", customers=120, orders=600)
    manager = app_as(url, "manager")
    manager.run()
    manager.switch_page("pages/customers.py").run()
    assert not manager.exception
    labels = [button.label for button in manager.get("download_button")]
    assert {"Download CSV", "Download XLSX"} <= set(labels)
    agent = app_as(url, "agent")
    agent.run()
    agent.switch_page("pages/customers.py").run()
    assert not agent.get("download_button")
    assert any("may not export personal data" in caption.value for caption in agent.caption)
    agent.switch_page("pages/products.py").run()
    assert not agent.exception
    assert "Download CSV" in [button.label for button in agent.get("download_button")]


def test_stock_movements_are_added_with_the_form_and_the_ledger_grid_is_read_only(
    shop_url: str, sqlite_engine: Engine
) -> None:
    app = _open(shop_url, "sam", "pages/inventory.py")
    assert "stock_movements__save" not in [button.key for button in app.button]
    app.text_input(key="stock_movement_search").input("mug").run()
    app.selectbox(key="stock_movement_type").set_value("out").run()
    app.number_input(key="stock_movement_quantity").set_value(4).run()
    app.button(key="stock_movement_add").click().run()
    # Mug: 8 on hand, 5 reserved by O7, so 4 may not go; the message says why and nothing is saved.
    assert "5 of them reserved for open orders, 4 needed" in shown_text(app.error[0].value)
    app.number_input(key="stock_movement_quantity").set_value(3).run()
    app.text_input(key="stock_movement_note").input("Broken in transit").run()
    app.button(key="stock_movement_add").click().run()
    assert not app.exception, app.exception
    shown = [shown_text(success.value) for success in app.success]
    assert shown == ["Movement 1 recorded: out 3 of Mug (MUG-1) in W1."]
    # The form is ready for the next movement.
    assert (app.number_input(key="stock_movement_quantity").value, app.text_input(key="stock_movement_note").value) == (
        1,
        "",
    )
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(inventory.c.on_hand).where(inventory.c.product_id == 2)).scalar_one() == 5
        assert connection.execute(select(stock_movements.c.note)).scalar_one() == "Broken in transit"


def test_analysts_see_the_stock_ledger_without_the_movement_form(shop_url: str) -> None:
    app = _open(shop_url, "ann", "pages/inventory.py")
    assert "stock_movement_add" not in [button.key for button in app.button]
    assert "Your role may not add stock movements." in " ".join(caption.value for caption in app.caption)


def test_the_warehouse_filter_narrows_levels_alerts_and_counts(shop_url: str, sqlite_engine: Engine) -> None:
    now = utc_now()
    with sqlite_engine.begin() as connection:
        connection.execute(warehouses.insert().values(id=2, code="W2", name="Second", created_at=now, updated_at=now))
        connection.execute(
            inventory.insert().values(
                product_id=1, warehouse_id=2, on_hand=0, reserved=0, reorder_level=5, created_at=now, updated_at=now
            )
        )
    app = _open(shop_url, "ann", "pages/inventory.py")
    metrics = {metric.label: metric.value for metric in app.metric}
    assert (metrics["Stock items"], metrics["Out of stock"]) == ("4", "2")
    app.selectbox(key="inventory_warehouse").set_value("W2").run()
    metrics = {metric.label: metric.value for metric in app.metric}
    assert (metrics["Stock items"], metrics["Low stock"], metrics["Out of stock"]) == ("1", "0", "1")
    assert "1 inventory match" in " ".join(caption.value for caption in app.caption)
    alerts = app.dataframe[0].value
    assert list(alerts["warehouse"]) == ["W2"]
    labels = [button.label for button in app.get("download_button")]
    assert labels.count("Download CSV") >= 3  # levels, alerts and warehouses


def test_grid_columns_leave_checking_to_the_server_so_a_typed_minus_is_reported(
    shop_url: str, sqlite_engine: Engine
) -> None:
    app = _open(shop_url, "sam", "pages/products.py")
    columns = json.loads(app.dataframe[0].proto.columns)
    limits = {"min_value", "max_value", "max_chars", "validate", "required"}
    assert {name: sorted(limits & set(column.get("type_config", {}))) for name, column in columns.items()} == {
        name: [] for name in columns
    }
    # Whole-number and money columns let any typed digit through (an integer step would drop a ".").
    steps = {name: column["type_config"].get("step") for name, column in columns.items() if "type_config" in column}
    assert all(step is None or step < 0.01 for step in steps.values()), steps
    assert not any(column.get("required") for column in columns.values())
    assert columns["price"]["help"] == "Required. Changes are kept in price history."
    app.session_state["products__edits0"] = {"edited_rows": {0: {"price": -5}}, "added_rows": [], "deleted_rows": []}
    app.run()
    app.button(key="products__save").click().run()
    errors = " ".join(shown_text(error.value) for error in app.error)
    assert "Row 1 (id 1), Price: -5 is negative; it must be 0 or more." in errors
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(products.c.price).where(products.c.id == 1)).scalar_one() == Decimal("20.00")


def test_grids_without_search_terms_show_no_search_box_and_dates_are_the_apps_days(shop_url: str) -> None:
    app = _open(shop_url, "sam", "pages/activities.py")
    keys = [box.key for box in app.text_input]
    assert "visits_search" in keys
    assert "visit_payments_search" not in keys  # payments have no text to search
    dates = {date_input.key: date_input for date_input in app.date_input}
    assert dates["visit_payments_dates"].label == "Date range"
    assert dates["visit_payments_dates"].help == "Calendar days in UTC, the app's time zone."


def test_customer_360_tables_download_for_roles_that_may_export_personal_data(shop_url: str) -> None:
    admin = _open(shop_url, "ada", "pages/customer_360.py")
    admin.text_input(key="c360_search").input("alice").run()
    admin.selectbox(key="c360_match").set_value(1).run()
    assert not admin.exception, admin.exception
    # Alice has orders, transactions, a visit with its payment, an interaction and a ticket.
    keys = [button.proto.id.rsplit("-", 1)[-1] for button in admin.get("download_button")]
    # Alice has no follow-up due: six tables, CSV and XLSX each.
    assert sorted(key.removeprefix("download_csv_") for key in keys if key.startswith("download_csv_")) == [
        "customer_1_interactions",
        "customer_1_orders",
        "customer_1_tickets",
        "customer_1_transactions",
        "customer_1_visit_payments",
        "customer_1_visits",
    ]
    assert len(keys) == 12
    agent = _open(shop_url, "sam", "pages/customer_360.py")
    agent.text_input(key="c360_search").input("alice").run()
    agent.selectbox(key="c360_match").set_value(1).run()
    assert not agent.get("download_button")
    assert any("may not export personal data" in caption.value for caption in agent.caption)


def test_a_batch_status_change_clears_the_selection_and_a_refusal_keeps_it(
    shop_url: str, sqlite_engine: Engine
) -> None:
    app = _open(shop_url, "sam", "pages/orders.py")
    app.multiselect(key="orders_batch_selection").set_value(["O7"]).run()
    app.selectbox(key="orders_batch_status").set_value("cancelled").run()
    app.button(key="orders_batch_apply").click().run()
    assert app.multiselect(key="orders_batch_selection").value == []
    # Another user ships O8 meanwhile: the batch with O8 is refused as a whole and the choice stays.
    app.multiselect(key="orders_batch_selection").set_value(["O8"]).run()
    with sqlite_engine.begin() as connection:
        connection.execute(orders.update().where(orders.c.id == 8).values(version=orders.c.version + 1))
    app.button(key="orders_batch_apply").click().run()
    assert "Order O8 was changed by someone else" in shown_text(app.error[0].value)
    assert app.multiselect(key="orders_batch_selection").value == ["O8"]
