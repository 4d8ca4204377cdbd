"""The glossary: one definition per name, horizon labels map onto one term."""

from __future__ import annotations

import pytest

from crm.glossary import GLOSSARY, TOPICS, definition, term_of


def test_every_term_has_a_definition_and_a_known_topic():
    assert all(term.definition.strip() and term.topic in TOPICS for term in GLOSSARY.values())


def test_no_two_names_share_one_definition():
    definitions = [term.definition for term in GLOSSARY.values()]
    assert len(definitions) == len(set(definitions))


def test_a_label_with_a_horizon_is_the_term_with_n_months():
    assert term_of("Expected spend, next 24 months") == "Expected spend, next N months"
    assert definition("Expected spend, next 24 months", 24).startswith(
        "What this customer will likely spend in the next 24 months"
    )


def test_a_label_outside_the_glossary_is_refused():
    with pytest.raises(KeyError):
        definition("Orders")
