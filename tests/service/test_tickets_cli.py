"""``python -m crm tickets add|note|status``: the exact contract, and one-line refusals with exit code 2."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from crm.cli import main
from crm.schema import ticket_notes, tickets
from crm.service.numbering import local_day
from tests.fixtures.tiny_shop import TinyShop


def _run(engine: Engine, *arguments: str) -> int:
    return main(["--database-url", engine.url.render_as_string(hide_password=False), "tickets", *arguments])


def _row(engine: Engine, number: str) -> dict[str, object]:
    with engine.connect() as connection:
        return dict(connection.execute(select(tickets).where(tickets.c.ticket_number == number)).one()._mapping)


def _notes(engine: Engine, number: str) -> list[tuple[str, str, int | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(ticket_notes.c.note_type, ticket_notes.c.body, ticket_notes.c.author_id)
            .join(tickets, tickets.c.id == ticket_notes.c.ticket_id)
            .where(tickets.c.ticket_number == number)
            .order_by(ticket_notes.c.id)
        ).all()
    return [tuple(row) for row in rows]


def test_add_prints_the_new_number_and_takes_email_priority_category_and_order(
    tiny_shop: TinyShop, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = tiny_shop.engine
    code = _run(
        engine,
        "add",
        "--customer",
        "ALICE@example.com",
        "--subject",
        "Late parcel",
        "--priority",
        "high",
        "--category",
        "shipping",
        "--order",
        "O2",
    )
    number = capsys.readouterr().out.strip()
    assert code == 0 and number == f"CS{local_day()}0001"
    row = _row(engine, number)
    assert (row["customer_id"], row["priority"], row["category"], row["order_id"]) == (1, "high", "shipping", 2)
    assert _run(engine, "add", "--customer", "2", "--subject", "Question") == 0
    second = capsys.readouterr().out.strip()
    assert second == f"CS{local_day()}0002" and _row(engine, second)["category"] == "general"


def test_note_and_status_act_as_the_named_user(tiny_shop: TinyShop, capsys: pytest.CaptureFixture[str]) -> None:
    engine = tiny_shop.engine
    _run(engine, "add", "--customer", "1", "--subject", "Broken zip")
    number = capsys.readouterr().out.strip()
    assert _run(engine, "note", number, "--type", "reply", "--body", "Sorry! A new one is coming.", "--as", "sam") == 0
    assert _run(engine, "note", number, "--type", "internal", "--body", "Supplier defect?", "--as", "sam") == 0
    assert _run(engine, "status", number, "resolved", "--note", "Replaced.", "--as", "sam") == 0
    assert capsys.readouterr().out.splitlines() == [
        f"Reply added to {number}.",
        f"Internal note added to {number}.",
        f"{number} is now resolved.",
    ]
    row = _row(engine, number)
    assert row["status"] == "resolved" and row["first_response_at"] is not None and row["resolved_at"] is not None
    assert _notes(engine, number)[1:] == [
        ("customer_reply", "Sorry! A new one is coming.", 2),
        ("internal", "Supplier defect?", 2),
        ("system", "sam changed the status: open → resolved.", 2),
        ("resolution", "Replaced.", 2),
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ("add", "--customer", "nobody@example.com", "--subject", "x"),
            "error: There is no customer nobody@example.com.",
        ),
        (("add", "--customer", "1", "--subject", "x", "--order", "O3"), "error: Order O3 belongs to another customer."),
        (("add", "--customer", "1", "--subject", "x", "--priority", "asap"), "error: Unknown priority “asap”"),
        (("status", "{number}", "resolved"), "error: The resolution note is empty; write what it should say."),
        (("status", "{number}", "closed"), "error: Ticket {number} cannot go from open to closed;"),
        (("note", "{number}", "--type", "gossip", "--body", "x"), "error: Unknown note type “gossip”"),
        (("note", "CS209901010001", "--type", "reply", "--body", "x"), "error: There is no ticket CS209901010001."),
        (("note", "{number}", "--type", "reply", "--body", "x", "--as", "ghost"), "error: There is no active user"),
    ],
)
def test_refusals_are_one_line_with_exit_code_two(
    tiny_shop: TinyShop, capsys: pytest.CaptureFixture[str], arguments: tuple[str, ...], message: str
) -> None:
    engine = tiny_shop.engine
    _run(engine, "add", "--customer", "1", "--subject", "Open one")
    number = capsys.readouterr().out.strip()
    assert _run(engine, *(argument.format(number=number) for argument in arguments)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith(message.format(number=number))
