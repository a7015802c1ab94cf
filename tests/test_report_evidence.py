"""A report's evidence bundle: every cited entry proven included in a signed checkpoint;
any altered entry, proof, checkpoint, key or citation is reported."""

import copy
import json

import pytest

from auditreg.errors import DomainError
from auditreg.ledger.keys import load_keyring
from auditreg.proofs.evidence import encode, verify_bundle
from auditreg.proofs.note import SignerKey
from reports.evidence import build_bundle, checkpoint_covering
from tests.conftest import append_many

REPORT = {"id": "r-1", "kind": "model-risk", "subject": "model:credit-pd/1"}


@pytest.fixture
def bundle(ledger):
    append_many(20)
    sections = {"identification": [0, 3], "approvals": [3, 7, 19]}
    checkpoint = checkpoint_covering([19])
    return build_bundle(report=REPORT, sections=sections, checkpoint=checkpoint)


def test_a_bundle_verifies_against_the_ledgers_own_keys(bundle):
    result = verify_bundle(json.loads(encode(bundle)), load_keyring())
    assert result.ok, result.problems
    assert (result.tree_size, result.entries, result.pinned) == (20, 4, True)
    # Without pinned keys the bundle's own keys are used, and said to be.
    unpinned = verify_bundle(bundle)
    assert unpinned.ok and not unpinned.pinned
    assert unpinned.keys == [f"{key.name}+{key.key_hash:08x}" for key in load_keyring()]


def test_a_checkpoint_covering_new_entries_is_signed_when_needed(ledger):
    append_many(5)
    first = checkpoint_covering([4])
    assert first.tree_size == 5
    assert checkpoint_covering([2]).pk == first.pk
    append_many(2)
    assert checkpoint_covering([6]).tree_size == 7


def test_entries_newer_than_the_checkpoint_are_refused(ledger):
    append_many(3)
    checkpoint = checkpoint_covering([2])
    append_many(1)
    with pytest.raises(DomainError, match="newer than the checkpoint"):
        build_bundle(report=REPORT, sections={"s": [3]}, checkpoint=checkpoint)


def forged(bundle, change):
    copied = copy.deepcopy(bundle)
    change(copied)
    return verify_bundle(copied, load_keyring())


def _entry(bundle, seq):
    return next(item for item in bundle["entries"] if item["seq"] == seq)


def _edit_payload(bundle):
    item = _entry(bundle, 3)
    item["entry"] = item["entry"].replace('"n":3', '"n":4')


def _edit_payload_and_hash(bundle):
    from auditreg.proofs import merkle

    _edit_payload(bundle)
    item = _entry(bundle, 3)
    item["hash"] = merkle.leaf_hash(item["entry"].encode()).hex()


def _move(bundle):
    _entry(bundle, 7)["seq"] = 8


def _swap_proof(bundle):
    _entry(bundle, 3)["proof"], _entry(bundle, 7)["proof"] = (
        _entry(bundle, 7)["proof"],
        _entry(bundle, 3)["proof"],
    )


def _truncate_proof(bundle):
    _entry(bundle, 19)["proof"].pop()


def _cite_unproven(bundle):
    bundle["sections"]["approvals"].append(11)


def _drop_entry(bundle):
    bundle["entries"] = [item for item in bundle["entries"] if item["seq"] != 0]


def _other_checkpoint_root(bundle):
    lines = bundle["checkpoint"].split("\n")
    lines[2] = "A" * 43 + "="
    bundle["checkpoint"] = "\n".join(lines)


def _resign_with_another_key(bundle):
    from auditreg.proofs.note import Checkpoint, open_note, sign_checkpoint

    text, _ = open_note(bundle["checkpoint"], load_keyring())
    other = SignerKey.generate(load_keyring()[0].name)
    bundle["checkpoint"] = sign_checkpoint(Checkpoint.parse(text), other)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_edit_payload, "entry 3: the stated hash is not the hash of the entry's bytes"),
        (_edit_payload_and_hash, "entry 3: not included in the checkpoint's tree of 20"),
        (_move, "entry 8: the entry's bytes say another seq"),
        (_swap_proof, "entry 3: not included"),
        (_truncate_proof, "entry 19: not included"),
        (_cite_unproven, "section 'approvals' cites entries with no proof: [11]"),
        (_drop_entry, "section 'identification' cites entries with no proof: [0]"),
        (_other_checkpoint_root, "the checkpoint does not verify"),
        (_resign_with_another_key, "the checkpoint does not verify"),
    ],
)
def test_every_forgery_is_reported(bundle, change, problem):
    result = forged(bundle, change)
    assert not result.ok
    assert any(problem in line for line in result.problems), result.problems


def test_garbage_is_reported_not_raised():
    assert verify_bundle([1, 2]).problems == ["the evidence is not a JSON object"]
    assert "is not auditreg-evidence" in verify_bundle({"format": "x"}).problems[0]
    result = verify_bundle({"format": "auditreg-evidence", "version": 1, "keys": ["nope"]})
    assert "malformed key" in result.problems[0]
    assert "no checkpoint" in result.problems[-1]


def test_batch_inclusion_proofs_equal_one_at_a_time(ledger):
    from auditreg.ledger import services as ledger_services

    append_many(37)
    seqs = [0, 1, 5, 16, 31, 36]
    batch = ledger_services.inclusion_proofs([*seqs, 5], 37)
    assert batch == {seq: ledger_services.inclusion_proof(seq, 37) for seq in seqs}
    with pytest.raises(DomainError, match="no inclusion proof"):
        ledger_services.inclusion_proofs([37], 37)
