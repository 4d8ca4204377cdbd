"""``python -m crm service stats`` and ``kb search``: the JSON contract of issue 13, one-line refusals."""

from __future__ import annotations

import json

import pytest

from crm.cli import main
from tests.fixtures.tiny_shop import TinyShop
from tests.service.knowledge_support import build_knowledge_base


def _url(tiny_shop: TinyShop) -> str:
    return tiny_shop.engine.url.render_as_string(hide_password=False)


def test_stats_print_exactly_the_issues_keys_with_hand_computed_values(
    tiny_shop: TinyShop, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1–17 March: T2 (high, answered after 4 h, open 132 h at the end: missed) and T3 (urgent, 0.5 h, resolved
    # after 30 h > 24: missed). First responses 0.5, 4: median 2.25, p90 0.5 + 0.9 × 3.5 = 3.65.
    assert (
        main(
            [
                "--database-url",
                _url(tiny_shop),
                "service",
                "stats",
                "--from",
                "2025-03-01",
                "--to",
                "2025-03-17",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {
        "opened": 2,
        "resolved": 1,
        "backlog": 1,
        "first_response_hours_median": 2.25,
        "first_response_hours_p90": 3.65,
        "resolution_hours_median": 30.0,
        "resolution_hours_p90": 30.0,
        "sla_attainment": 0.0,
        "csat_average": 2.0,
    }


def test_stats_without_tickets_give_zero_counts_and_nulls(
    tiny_shop: TinyShop, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--database-url", _url(tiny_shop), "service", "stats", "--to", "2024-12-31", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["opened"], stats["backlog"], stats["sla_attainment"], stats["csat_average"]) == (0, 0, None, None)


def test_stats_as_text_name_every_number(tiny_shop: TinyShop, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["--database-url", _url(tiny_shop), "service", "stats", "--from", "2025-01-01", "--to", "2025-01-31"]) == 0
    )
    out = capsys.readouterr().out
    assert "Tickets created from 2025-01-01 to 2025-01-31" in out
    assert "sla attainment" in out and "100.0%" in out and "csat average" in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "2025-13-01"], "error: --from '2025-13-01' is not a date (YYYY-MM-DD)"),
        (["--from", "2025-03-02", "--to", "2025-03-01"], "error: --from 2025-03-02 is after --to 2025-03-01"),
    ],
)
def test_a_bad_period_is_one_error_line_and_exit_2(
    tiny_shop: TinyShop, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert main(["--database-url", _url(tiny_shop), "service", "stats", *arguments]) == 2
    assert capsys.readouterr().err == message + "\n"


def test_kb_search_lists_hits_best_first(tiny_shop: TinyShop, capsys: pytest.CaptureFixture[str]) -> None:
    kb = build_knowledge_base(tiny_shop.engine)
    assert main(["--database-url", _url(tiny_shop), "kb", "search", "damaged refund", "--json"]) == 0
    (hit,) = json.loads(capsys.readouterr().out)
    assert hit.pop("score") > 0
    assert hit == {
        "kind": "article",
        "id": kb.draft_article,
        "title": "Refund exceptions (internal draft)",
        "status": "draft",
        "category": "Shipping › Returns",
    }
    assert main(["--database-url", _url(tiny_shop), "kb", "search", "?!"]) == 2
    assert capsys.readouterr().err == "error: the query has no words to search for\n"
