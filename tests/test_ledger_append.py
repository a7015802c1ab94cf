import json
from itertools import pairwise
from typing import Any

import pytest
from django.db import transaction

from auditreg.errors import DomainError
from auditreg.ledger import services
from auditreg.ledger.models import Entry
from auditreg.proofs import merkle
from auditreg.proofs.entry import Actor
from auditreg.proofs.export import GENESIS_PREV
from tests.conftest import DANA, append_many

pytestmark = pytest.mark.django_db


def test_first_entry_has_seq_zero_and_links_to_genesis(clock):
    entry = services.append(
        kind="model.registered", subject="model:credit-pd", payload={}, actor=DANA
    )
    assert entry.seq == 0
    assert entry.document["prev"] == GENESIS_PREV


def test_append_links_to_previous_hash_and_seq_is_gapless(ledger):
    entries = ledger(20)
    assert [entry.seq for entry in entries] == list(range(20))
    for previous, entry in pairwise(entries):
        assert entry.document["prev"] == bytes(previous.hash).hex()


def test_entry_hash_is_rfc9162_leaf_hash_of_canonical_bytes(clock):
    entry = services.append(
        kind="version.registered",
        subject="model:credit-pd/3",
        payload={"b": [1, "two", None, True], "a": {"z": "0.10", "y": 2}},
        actor=Actor("service:trainer", "Nightly training pipeline"),
    )
    body = bytes(entry.body)
    assert bytes(entry.hash) == merkle.leaf_hash(body)
    expected = (
        '{"actor":{"id":"service:trainer","name":"Nightly training pipeline"},'
        '"kind":"version.registered","payload":{"a":{"y":2,"z":"0.10"},"b":[1,"two",null,true]},'
        f'"prev":"{GENESIS_PREV}","seq":0,"subject":"model:credit-pd/3",'
        '"time":"2026-03-31T12:00:00.000000Z"}'
    )
    assert body == expected.encode()


def test_entry_columns_repeat_the_hashed_fields(clock):
    entry = services.append(
        kind="model.registered", subject="model:x", payload={"k": 1}, actor=DANA
    )
    entry.refresh_from_db()
    document = json.loads(bytes(entry.body))
    assert (entry.kind, entry.subject, entry.actor) == (
        document["kind"],
        document["subject"],
        document["actor"]["id"],
    )
    assert entry.actor_name == "Dana Developer"
    assert entry.payload == {"k": 1}


def test_recorded_time_never_goes_backwards_when_the_clock_does(clock):
    first = services.append(kind="test.recorded", subject="model:x", payload={}, actor=DANA)
    clock.advance(hours=-5)
    second = services.append(kind="test.recorded", subject="model:x", payload={}, actor=DANA)
    assert second.recorded_at == first.recorded_at
    assert second.document["time"] == first.document["time"]
    clock.advance(hours=6)
    third = services.append(kind="test.recorded", subject="model:x", payload={}, actor=DANA)
    assert third.recorded_at > second.recorded_at


def test_rolled_back_append_leaves_no_gap(ledger):
    ledger(3)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.append(kind="test.recorded", subject="model:x", payload={}, actor=DANA)
        raise RuntimeError("the caller's change failed")
    entry = services.append(kind="test.recorded", subject="model:x", payload={}, actor=DANA)
    assert entry.seq == 3
    assert Entry.objects.count() == 4


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("payload", {"amount": 1.5e400}, "not a JSON number"),
        ("payload", {"when": __import__("datetime").date(2026, 1, 1)}, "not a JSON-native value"),
        ("payload", {"id": 2**53}, "outside the exact JSON range"),
        ("payload", {"pair": (1, 2)}, "not a JSON-native value"),
        ("payload", {1: "x"}, "keys must be strings"),
        ("payload", {"bad": "\ud800"}, "lone surrogate"),
        ("payload", ["not", "an", "object"], "must be a JSON object"),
        ("payload", {"raw": b"bytes"}, "not a JSON-native value"),
        ("kind", "Model Registered", "kind"),
        ("kind", "registered", "kind"),
        ("subject", "credit pd", "subject"),
        ("subject", "", "subject"),
        ("subject", "model:x\n", "subject"),
        ("kind", "model.registered\n", "kind"),
        ("actor", Actor("user:alice\n", "Alice"), "actor id"),
        ("subject", "model:" + "x" * 300, "subject"),
        ("actor", Actor("alice", "Alice"), "actor id"),
        ("actor", Actor("user:alice", "  "), "display name"),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(ledger, field, value, message):
    ledger(2)
    arguments: dict[str, Any] = {
        "kind": "test.recorded",
        "subject": "model:x",
        "payload": {},
        "actor": DANA,
    }
    arguments[field] = value
    with pytest.raises(DomainError, match=message):
        services.append(**arguments)
    assert Entry.objects.count() == 2


def test_payload_that_is_too_large_is_refused(ledger):
    with pytest.raises(DomainError, match="bytes"):
        services.append(
            kind="test.recorded", subject="model:x", payload={"x": "a" * 1_000_001}, actor=DANA
        )
    assert Entry.objects.count() == 0


def test_stored_subtrees_serve_proofs_equal_to_recomputed_ones(ledger):
    entries = ledger(37)
    leaves = [bytes(entry.hash) for entry in entries]
    for size in range(1, 38):
        root = services.root_at(size)
        assert root == merkle.root_hash(leaves[:size])
        for index in range(size):
            proof = services.inclusion_proof(index, size)
            assert proof == merkle.inclusion_proof(leaves, index, size)
            assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
        for size1 in range(1, size + 1):
            proof = services.consistency_proof(size1, size)
            assert proof == merkle.consistency_proof(leaves, size1, size)
            assert merkle.verify_consistency(size1, size, services.root_at(size1), root, proof)


@pytest.mark.parametrize(("index", "size"), [(5, 5), (-1, 3), (0, 0), (0, 11)])
def test_inclusion_proof_for_a_missing_entry_or_size_is_refused(ledger, index, size):
    ledger(10)
    with pytest.raises(DomainError):
        services.inclusion_proof(index, size)


@pytest.mark.parametrize(("size1", "size2"), [(0, 5), (6, 5), (3, 11)])
def test_consistency_proof_for_impossible_sizes_is_refused(ledger, size1, size2):
    ledger(10)
    with pytest.raises(DomainError):
        services.consistency_proof(size1, size2)


def test_empty_ledger_root_is_hash_of_nothing(db):
    assert services.tree_size() == 0
    assert services.root_at(0).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_many_appends_in_one_transaction_form_one_chain(db):
    with transaction.atomic():
        entries = append_many(50)
    assert [entry.seq for entry in entries] == list(range(50))
