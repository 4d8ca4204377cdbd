"""``python -m crm segment preview|save|list``: the contract of the issue (JSON keys, exit codes, one-line errors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm.cli import main
from crm.db import init_database, make_engine
from crm.marketing.segments import get_segment
from tests.fixtures.tiny_shop import load_tiny_shop


@pytest.fixture
def url(tmp_path: Path) -> str:
    address = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(address)
    init_database(engine)
    load_tiny_shop(engine)
    engine.dispose()
    return address


def _rules(tmp_path: Path, rules: object, name: str = "rules.json") -> str:
    path = tmp_path / name
    path.write_text(rules if isinstance(rules, str) else json.dumps(rules), encoding="utf-8")
    return str(path)


def test_preview_json_prints_count_and_customer_ids(url: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rules = _rules(tmp_path, {"not": {"field": "days_since_last_order", "op": "<=", "value": 30}})
    assert main(["--database-url", url, "segment", "preview", "--rules", rules, "--as-of", "2025-03-31", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"count": 3, "customer_ids": [2, 3, 5]}
    # A later "today": Alice's and Dan's orders are older than 30 days too.
    assert main(["--database-url", url, "segment", "preview", "--rules", rules, "--as-of", "2025-05-31", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"count": 5, "customer_ids": [1, 2, 3, 4, 5]}


def test_preview_without_json_prints_a_sentence(url: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rules = _rules(tmp_path, {"all": [{"field": "gender", "op": "=", "value": "male"}]})
    assert main(["--database-url", url, "segment", "preview", "--rules", rules]) == 0
    assert capsys.readouterr().out.splitlines() == ["2 customers match (1 condition).", "customer ids: 2, 4"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"all": [{"field": "age", "op": ">", "value": 1}, {"any": [{"field": "totl_spent"}]}]}, "all[1].any[0]: "),
        ("{oops", "not valid JSON"),
        ({"match": "all", "rules": []}, "old flat format"),
    ],
)
def test_a_bad_rule_file_exits_2_with_one_line_naming_the_problem(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture, content: object, message: str
) -> None:
    rules = _rules(tmp_path, content)
    assert main(["--database-url", url, "segment", "preview", "--rules", rules, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and message in captured.err
    assert captured.err.count("\n") == 1


def test_a_missing_rule_file_exits_2(url: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--database-url", url, "segment", "preview", "--rules", str(tmp_path / "none.json")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read the rule file")


def test_save_then_list_and_a_taken_name_exits_2(url: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rules = _rules(tmp_path, {"all": [{"field": "source", "op": "=", "value": "website"}]})
    assert main(["--database-url", url, "segment", "save", "Web", "--rules", rules]) == 0
    assert capsys.readouterr().out == "Saved segment #1 “Web”.\n"
    assert main(["--database-url", url, "segment", "save", "web", "--rules", rules]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["--database-url", url, "segment", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"id": 1, "name": "Web", "rules": {"all": [{"field": "source", "op": "=", "value": "website"}]}}
    ]
    assert get_segment(make_engine(url), "Web").created_by is None


def test_save_as_an_agent_is_refused(url: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rules = _rules(tmp_path, {"all": []})
    assert main(["--database-url", url, "segment", "save", "All", "--rules", rules, "--as", "sam"]) == 2
    assert capsys.readouterr().err == "error: Your role (agent) may not manage segments.\n"
    assert main(["--database-url", url, "segment", "save", "All", "--rules", rules, "--as", "ada"]) == 0
    assert get_segment(make_engine(url), "All").created_by == 1
