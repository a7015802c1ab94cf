"""Ledger reads over the API: entries, and proofs a client verifies against the checkpoint."""

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Scope
from auditreg.ledger.keys import load_keyring
from auditreg.proofs import merkle
from auditreg.proofs.note import open_checkpoint
from tests.conftest import append_many
from tests.test_api_tokens import client_with, issue


@pytest.fixture
def reader(people) -> APIClient:
    append_many(40)
    call_command("checkpoint", stdout=io.StringIO())
    _, token = accounts.issue_token(
        principal=people.trainer, name="reader", scopes=[Scope.READ], by=people.ada
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_entries_page_in_seq_order_and_filter(reader):
    first = reader.get("/api/v1/ledger/entries", {"limit": 10}).json()
    assert [e["seq"] for e in first["results"]] == list(range(10))
    second = reader.get(first["next"]).json()
    assert second["results"][0]["seq"] == 10
    tests = reader.get("/api/v1/ledger/entries", {"kind": "test.recorded", "limit": 1000}).json()
    assert len(tests["results"]) == 40
    assert all(e["subject"] == "model:credit-pd/1" for e in tests["results"])


def test_entry_carries_its_canonical_bytes_and_hash(reader):
    entry = reader.get("/api/v1/ledger/entries/3").json()
    assert merkle.leaf_hash(entry["entry"].encode()).hex() == entry["hash"]
    assert reader.get("/api/v1/ledger/entries/100000").status_code == 404


def test_inclusion_proof_verifies_against_the_signed_checkpoint(reader):
    checkpoint = reader.get("/api/v1/checkpoints/latest").json()
    signed = open_checkpoint(checkpoint["note"], load_keyring())
    for seq in (0, 7, signed.size - 1):
        proof = reader.get("/api/v1/ledger/proofs/inclusion", {"seq": seq}).json()
        assert proof["tree_size"] == signed.size
        assert merkle.verify_inclusion(
            bytes.fromhex(proof["leaf_hash"]),
            seq,
            signed.size,
            [bytes.fromhex(node) for node in proof["proof"]],
            signed.root_hash,
        )


def test_consistency_proof_verifies(reader):
    size = reader.get("/api/v1/checkpoints/latest").json()["tree_size"]
    proof = reader.get("/api/v1/ledger/proofs/consistency", {"first": 17}).json()
    assert merkle.verify_consistency(
        17,
        size,
        bytes.fromhex(proof["first_root"]),
        bytes.fromhex(proof["second_root"]),
        [bytes.fromhex(node) for node in proof["proof"]],
    )


@pytest.mark.parametrize(
    ("url", "params", "status", "detail"),
    [
        ("inclusion", {}, 400, "'seq' is required"),
        ("inclusion", {"seq": "-1"}, 400, "whole number"),
        ("inclusion", {"seq": "x"}, 400, "whole number"),
        ("inclusion", {"seq": "500"}, 400, "is not in a tree"),
        ("consistency", {"first": "0"}, 422, "no consistency proof"),
        ("consistency", {"first": "9", "second": "5"}, 422, "no consistency proof"),
        ("consistency", {"first": "5", "second": "99999"}, 422, "tree size 99999"),
    ],
)
def test_bad_proof_requests_get_a_clear_problem(reader, url, params, status, detail):
    answer = reader.get(f"/api/v1/ledger/proofs/{url}", params)
    assert answer.status_code == status
    assert answer["Content-Type"] == "application/problem+json"
    assert detail in answer.json()["detail"]


def test_an_inclusion_proof_with_an_explicit_size_needs_no_checkpoint(people):
    client = client_with(issue(people, Scope.READ))
    answer = client.get("/api/v1/ledger/proofs/inclusion", {"seq": 0, "tree_size": 2})
    assert answer.status_code == 200, answer.content
    assert answer.json()["tree_size"] == 2
