"""A database owner switches the triggers off and edits history: verification names the
first bad seq and what is wrong, from the database and from an offline export."""

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from django.core.management import CommandError, call_command

from auditreg.ledger import services
from auditreg.ledger.export import export_ledger
from auditreg.ledger.integrity import verify_database
from auditreg.ledger.models import Checkpoint, Entry
from auditreg.proofs import merkle
from auditreg.proofs.export import LedgerBroken, verify_export
from auditreg.proofs.note import Checkpoint as CheckpointNote
from auditreg.proofs.note import SignerKey, sign_checkpoint
from auditreg.proofs.subtrees import Frontier
from tests.conftest import lift_append_only, raw

pytestmark = pytest.mark.django_db

ORIGIN = "auditreg.test/ledger"


@pytest.fixture
def history(ledger, clock):
    """12 entries, one minute apart, with signed checkpoints at sizes 8 and 12."""
    for _ in range(8):
        clock.advance(minutes=1)
        ledger(1)
    services.checkpoint(origin=ORIGIN)
    for _ in range(4):
        clock.advance(minutes=1)
        ledger(1)
    services.checkpoint(origin=ORIGIN)
    lift_append_only()


def verify_ledger_error() -> str:
    with pytest.raises(CommandError) as caught:
        call_command("verify_ledger", "--quiet")
    assert caught.value.returncode == 1
    return str(caught.value)


def offline_error() -> str:
    buffer = io.BytesIO()
    export_ledger(buffer)
    buffer.seek(0)
    with pytest.raises(LedgerBroken) as caught:
        verify_export(buffer)
    return str(caught.value)


def rewrite_from(seq: int, change: Callable[[dict[str, Any]], None]) -> None:
    """The thorough forger: edit entry `seq`, then recompute every later hash, link and
    subtree so the chain itself looks intact. Only the signed checkpoints can tell."""
    frontier = Frontier()
    prev = "0" * 64
    for entry in Entry.objects.order_by("seq"):
        document = entry.document
        if entry.seq >= seq:
            document["prev"] = prev
            if entry.seq == seq:
                change(document)
            body = rfc8785.dumps(document)
            leaf = merkle.leaf_hash(body)
            completed = b"".join(frontier.append(leaf))
            raw(
                "UPDATE ledger_entry SET body = %s, hash = %s, subtrees = %s, recorded_at = %s "
                "WHERE seq = %s",
                [body, leaf, completed, entry.recorded_at, entry.seq],
            )
        else:
            leaf = bytes(entry.hash)
            frontier.append(leaf)
        prev = leaf.hex()


def checkpoint_root_line(size: int) -> str:
    note = Checkpoint.objects.get(tree_size=size).note
    return note.split("\n")[2]


def edit_payload(seq: int, *, rehash: bool = False) -> None:
    entry = Entry.objects.get(seq=seq)
    body = bytes(entry.body).replace(b'"score":"0.8412"', b'"score":"0.9999"')
    assert body != bytes(entry.body)
    raw("UPDATE ledger_entry SET body = %s WHERE seq = %s", [body, seq])
    if rehash:
        raw("UPDATE ledger_entry SET hash = %s WHERE seq = %s", [merkle.leaf_hash(body), seq])


def swap_rows(a: int, b: int) -> None:
    raw("UPDATE ledger_entry SET seq = -1000 WHERE seq = %s", [a])
    raw("UPDATE ledger_entry SET seq = %s WHERE seq = %s", [a, b])
    raw("UPDATE ledger_entry SET seq = %s WHERE seq = -1000", [b])


def test_intact_ledger_verifies(history):
    call_command("verify_ledger", "--quiet", stdout=(out := io.StringIO()))
    assert "ledger intact: 12 entries" in out.getvalue()
    assert "2 signed checkpoints verified" in out.getvalue()


TAMPERING = {
    "edited payload bytes": (lambda: edit_payload(4), "seq 4: hash mismatch"),
    "edited stored hash": (
        lambda: raw("UPDATE ledger_entry SET hash = %s WHERE seq = 4", [b"\x01" * 32]),
        "seq 4: hash mismatch",
    ),
    "row moved to a new seq past the end": (
        lambda: raw("UPDATE ledger_entry SET seq = 1000 WHERE seq = 4"),
        "seq 4: entry is missing",
    ),
    "row moved to a negative seq": (
        lambda: raw("UPDATE ledger_entry SET seq = -1 WHERE seq = 4"),
        "seq 4: entry is stored out of place",
    ),
    "entry deleted in the middle": (
        lambda: raw("DELETE FROM ledger_entry WHERE seq = 4"),
        "seq 4: entry is missing",
    ),
    "first entry deleted": (
        lambda: raw("DELETE FROM ledger_entry WHERE seq = 0"),
        "seq 0: entry is missing",
    ),
    "entries deleted at the end": (
        lambda: raw("DELETE FROM ledger_entry WHERE seq >= 9"),
        "seq 9: entries missing after a checkpoint",
    ),
    "two entries swapped": (lambda: swap_rows(4, 5), "seq 4: entry bytes say seq 5"),
    "payload edited and its hash recomputed": (
        lambda: edit_payload(4, rehash=True),
        "seq 5: broken link",
    ),
    "history rewritten from seq 4 with every hash recomputed": (
        lambda: rewrite_from(4, lambda document: document["payload"].update(score="0.9999")),
        "seq 7: checkpoint at tree size 8: root mismatch",
    ),
    "history rewritten after the last checkpoint": (
        lambda: rewrite_from(10, lambda document: document["payload"].update(score="0.9999")),
        "seq 11: checkpoint at tree size 12: root mismatch",
    ),
    "recorded time moved backwards and the chain recomputed": (
        lambda: rewrite_from(
            4, lambda document: document.update(time="2020-01-01T00:00:00.000000Z")
        ),
        "seq 4: time goes backwards",
    ),
    "checkpoint note's root replaced": (
        lambda: raw(
            "UPDATE ledger_checkpoint SET note = replace(note, %s, %s) WHERE tree_size = 8",
            [checkpoint_root_line(8), "A" * 43 + "="],
        ),
        "seq 7: checkpoint at tree size 8: signature or format does not verify",
    ),
    "checkpoint re-signed with a key that is not in the keyring": (
        lambda: raw(
            "UPDATE ledger_checkpoint SET note = %s WHERE tree_size = 12",
            [
                sign_checkpoint(
                    CheckpointNote(ORIGIN, 12, services.root_at(12)),
                    SignerKey.generate(ORIGIN),
                )
            ],
        ),
        "seq 11: checkpoint at tree size 12: signature or format does not verify",
    ),
}

COLUMN_TAMPERING = {
    "kind column edited": (
        lambda: raw("UPDATE ledger_entry SET kind = 'approval.signed' WHERE seq = 4"),
        "seq 4: kind column",
    ),
    "subject column edited": (
        lambda: raw("UPDATE ledger_entry SET subject = 'model:other' WHERE seq = 4"),
        "seq 4: subject column",
    ),
    "actor column edited": (
        lambda: raw("UPDATE ledger_entry SET actor = 'user:mallory' WHERE seq = 4"),
        "seq 4: actor column",
    ),
    "recorded_at column edited": (
        lambda: raw(
            "UPDATE ledger_entry SET recorded_at = %s WHERE seq = 4",
            [Entry.objects.get(seq=2).recorded_at],
        ),
        "seq 4: recorded_at column",
    ),
    "stored subtree hashes edited": (
        lambda: raw("UPDATE ledger_entry SET subtrees = %s WHERE seq = 7", [b"\x00" * 96]),
        "seq 7: stored subtree hashes",
    ),
    "checkpoint size column edited": (
        lambda: raw("UPDATE ledger_checkpoint SET tree_size = 10 WHERE tree_size = 12"),
        "tree_size or root_hash column does not match its signed note",
    ),
    "checkpoint root column edited": (
        lambda: raw(
            "UPDATE ledger_checkpoint SET root_hash = %s WHERE tree_size = 8", [b"\x02" * 32]
        ),
        "tree_size or root_hash column does not match its signed note",
    ),
}


ALL_TAMPERING = TAMPERING | COLUMN_TAMPERING


@pytest.mark.parametrize("case", TAMPERING, ids=list(TAMPERING))
def test_verify_ledger_names_the_first_bad_seq(history, case):
    tamper, expected = TAMPERING[case]
    tamper()
    assert expected in verify_ledger_error()


@pytest.mark.parametrize("pipelined", [True, False], ids=["two-processes", "one-process"])
@pytest.mark.parametrize("case", list(ALL_TAMPERING))
def test_verification_in_one_process_or_two_gives_the_same_verdict(history, case, pipelined):
    tamper, expected = ALL_TAMPERING[case]
    tamper()
    with pytest.raises(LedgerBroken) as caught:
        verify_database(pipelined=pipelined)
    assert expected in str(caught.value)


@pytest.mark.parametrize("case", TAMPERING, ids=list(TAMPERING))
def test_offline_verifier_gives_the_same_verdict_on_an_export(history, case):
    tamper, expected = TAMPERING[case]
    tamper()
    assert expected in offline_error()


@pytest.mark.parametrize("case", COLUMN_TAMPERING, ids=list(COLUMN_TAMPERING))
def test_verify_ledger_notices_query_columns_that_disagree_with_the_hashed_bytes(history, case):
    tamper, expected = COLUMN_TAMPERING[case]
    tamper()
    assert expected in verify_ledger_error()


@pytest.mark.parametrize("pipelined", [True, False], ids=["two-processes", "one-process"])
def test_intact_ledger_gives_the_same_verdict_in_one_process_or_two(history, pipelined):
    verdict = verify_database(pipelined=pipelined)
    assert verdict.entries == 12
    assert [checkpoint.size for checkpoint in verdict.checkpoints] == [8, 12]
    assert verdict.root == services.root_at(12)


def test_verdict_is_one_line(history):
    edit_payload(6)
    message = verify_ledger_error()
    assert "\n" not in message.strip()
    assert message.startswith("ledger NOT intact: seq 6: hash mismatch")


def test_export_lines_carry_the_exact_hashed_bytes(history):
    buffer = io.BytesIO()
    export_ledger(buffer)
    lines = buffer.getvalue().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "auditreg-ledger-export"
    assert len(header["keys"]) == 1
    entries = [json.loads(line) for line in lines if b'"entry"' in line]
    assert len(entries) == 12
    for record in entries:
        stored = Entry.objects.get(seq=record["seq"])
        assert record["entry"].encode() == bytes(stored.body)
        assert merkle.leaf_hash(record["entry"].encode()).hex() == record["hash"]
