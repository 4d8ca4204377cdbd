"""One glossary: every KPI label on the pages is a glossary term whose definition is its help, the same name
shows the same number on every page, and the Definitions page lists every term for every role."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm.glossary import GLOSSARY, definition, term_of
from tests.ui.apptest_support import app_as, copy_database, make_demo_database

KPI_PAGES = [
    "pages/overview.py",
    "pages/revenue.py",
    "pages/demographics.py",
    "pages/behavior.py",
    "pages/segmentation.py",
    "pages/cohorts.py",
    "pages/clv.py",
    "pages/inventory.py",
]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("glossary-demo") / "crm.db"
    make_demo_database(path, customers=300, orders=3_000)
    return copy_database(path, tmp_path_factory.mktemp("glossary-copy"))


@pytest.fixture(scope="module")
def labels_by_page(demo_url: str) -> dict[str, list[tuple[str, str, str]]]:
    """(label, value, help) of every KPI card on every page, as the admin sees them."""
    app = app_as(demo_url, "admin")
    app.run()
    shown: dict[str, list[tuple[str, str, str]]] = {}
    for page in KPI_PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
        shown[page] = [(metric.label, metric.value, metric.help) for metric in app.metric]
    return shown


def test_every_kpi_label_on_the_pages_is_a_glossary_term(labels_by_page) -> None:
    unknown = {
        (page, label)
        for page, cards in labels_by_page.items()
        for label, _, _ in cards
        if term_of(label) not in GLOSSARY
    }
    assert not unknown, f"add these to crm/glossary.py or rename them: {sorted(unknown)}"
    assert sum(len(cards) for cards in labels_by_page.values()) >= 30  # the pages did show their cards


def test_every_kpi_help_starts_with_the_glossary_definition(labels_by_page) -> None:
    for page, cards in labels_by_page.items():
        for label, _, help_text in cards:
            months = next((int(word) for word in label.split() if word.isdigit()), None)
            assert help_text.startswith(definition(label, months)), (page, label, help_text)


def _value(cards: list[tuple[str, str, str]], label: str, occurrence: int = -1) -> str:
    return [value for shown, value, _ in cards if shown == label][occurrence]


def test_the_same_name_shows_the_same_number_on_every_page(labels_by_page) -> None:
    overview, revenue = labels_by_page["pages/overview.py"], labels_by_page["pages/revenue.py"]
    # The selected period's cards are the Overview's last ones of each name (after Today and This month).
    for label in ("Revenue", "Purchase frequency", "Net cash"):
        assert _value(overview, label) == _value(revenue, label), label
    segmentation = labels_by_page["pages/segmentation.py"]
    assert _value(overview, "Conversion rate") == _value(segmentation, "Conversion rate")


def test_different_measures_have_different_names(labels_by_page) -> None:
    labels = {label for cards in labels_by_page.values() for label, _, _ in cards}
    # Orders in any status vs orders counted in revenue; customers created vs first bought; period vs history.
    assert {"Orders placed", "Counted orders", "New customers", "First-time buyers"} <= labels
    assert {"Purchase frequency", "Orders per buyer, whole history"} <= labels
    assert "Orders" not in labels and "New buyers" not in labels


@pytest.mark.parametrize("role", ["admin", "manager", "analyst", "agent"])
def test_every_role_can_read_the_definitions_page(demo_url: str, tmp_path: Path, role: str) -> None:
    app = app_as(demo_url, role)
    app.run()
    app.switch_page("pages/definitions.py").run()
    assert not app.exception
    assert app.title[0].value == "Definitions"
    text = "\n".join(element.value for element in app.markdown)
    assert all(name in text.replace("\\", "") for name in GLOSSARY)


def test_the_definitions_page_finds_a_term(demo_url: str) -> None:
    app = app_as(demo_url, "analyst")
    app.run()
    app.switch_page("pages/definitions.py").run()
    app.text_input(key="definitions_search").input("first-time").run()
    terms = [element.value for element in app.markdown if element.value.startswith("**")]
    assert len(terms) == 1 and "First-time buyers" in terms[0].replace("\\", "")
