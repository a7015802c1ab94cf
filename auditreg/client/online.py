"""Check a running server's ledger against its signed checkpoint, trusting nothing it says.

The checkpoint's signature is checked with the verifier keys the caller trusts (the
published key), and every served entry's hash is recomputed from its canonical bytes. Then
each entry the checkpoint covers must be shown to be in the signed tree:

* the whole ledger: the offline verifier's `ChainVerifier` walks the hash chain and
  recomputes the Merkle root of the first `size` entries, which must be the signed root.
  One pass over the entry pages proves every entry at once;
* one subject's entries: each by its RFC 9162 inclusion proof against the signed root.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from auditreg.client.client import Client
from auditreg.proofs import merkle
from auditreg.proofs.export import ChainVerifier, LedgerBroken, claimed_checkpoint
from auditreg.proofs.note import Checkpoint, NoteError, VerifierKey, open_note


@dataclass
class Report:
    checkpoint: Checkpoint | None = None
    signers: list[VerifierKey] = field(default_factory=list)
    proved: int = 0  # entries shown to be in the signed tree
    later: int = 0  # entries recorded after the checkpoint, not yet covered by one
    failures: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.checkpoint is not None and not self.failures

    def summary(self) -> str:
        checkpoint = self.checkpoint
        if checkpoint is None:
            return "no checkpoint verified"
        signed = (
            "signed by " + ", ".join(f"{key.name}+{key.key_hash:08x}" for key in self.signers)
            if self.signers
            else "signature NOT checked (give --key, the published verifier key)"
        )
        return (
            f"ledger intact: checkpoint {checkpoint.origin} at tree size {checkpoint.size}, "
            f"root {checkpoint.root_hash.hex()}, {signed}; {self.proved} entries proved in it; "
            f"{self.later} recorded since (not yet in a checkpoint)"
        )


def verify_online(client: Client, keys: list[VerifierKey], subject: str | None = None) -> Report:
    """Verify the entries of `subject` (default: the whole ledger). What the server sends
    never raises: every disagreement is a line of `Report.failures`."""
    report = Report()
    served = client.latest_checkpoint()
    try:
        report.checkpoint, report.signers = _open_checkpoint(served.get("note"), keys)
    except (LedgerBroken, NoteError) as exc:
        report.failures.append(f"the latest checkpoint does not verify: {exc}")
        return report
    report.failures += _served_fields_agree(served, report.checkpoint)
    if subject is None:
        _verify_chain(client, report)
    else:
        _verify_subject(client, report, subject)
    return report


def _open_checkpoint(note: object, keys: list[VerifierKey]) -> tuple[Checkpoint, list[VerifierKey]]:
    if not isinstance(note, str):
        raise NoteError("the server sent no signed note")
    if not keys:
        return claimed_checkpoint(note), []
    text, signers = open_note(note, keys)
    return Checkpoint.parse(text), signers


def _served_fields_agree(served: dict[str, Any], checkpoint: Checkpoint) -> list[str]:
    root = checkpoint.root_hash.hex()
    if served.get("tree_size") == checkpoint.size and served.get("root_hash") == root:
        return []
    return [
        f"the checkpoint's fields (size {served.get('tree_size')}, root {served.get('root_hash')})"
        f" differ from its signed note (size {checkpoint.size}, root {root})"
    ]


def _verify_chain(client: Client, report: Report) -> None:
    checkpoint = report.checkpoint
    assert checkpoint is not None
    chain: ChainVerifier | None = ChainVerifier([], [], origin=None)
    for item in client.entries():
        if not _well_formed(item, report):
            continue
        report.failures += _check_entry(item, None)
        if chain is None:
            continue
        try:
            chain.add(item["seq"], bytes.fromhex(item["hash"]), item["entry"].encode())
        except (LedgerBroken, ValueError) as exc:
            report.failures.append(f"hash chain: {exc}")
            chain = None  # after the first break the chain says nothing more
            continue
        if chain.size == checkpoint.size:
            wrong_root = _root_disagrees(chain, checkpoint)
            report.failures += wrong_root
            report.proved = 0 if wrong_root else chain.size
        elif chain.size > checkpoint.size:
            report.later += 1
    if chain is not None and chain.size < checkpoint.size:
        report.failures.append(
            f"the server served {chain.size} entries but the checkpoint covers {checkpoint.size}"
        )


def _root_disagrees(chain: ChainVerifier, checkpoint: Checkpoint) -> list[str]:
    root = chain.frontier.root()
    if root == checkpoint.root_hash:
        return []
    return [
        f"the first {checkpoint.size} entries hash to root {root.hex()}, not the signed "
        f"{checkpoint.root_hash.hex()} (an entry was rewritten)"
    ]


def _verify_subject(client: Client, report: Report, subject: str) -> None:
    checkpoint = report.checkpoint
    assert checkpoint is not None
    for item in client.entries(subject=subject):
        if not _well_formed(item, report):
            continue
        report.failures += _check_entry(item, subject)
        seq = item["seq"]
        if seq >= checkpoint.size:
            report.later += 1
        elif _included(client, checkpoint, seq, merkle.leaf_hash(item["entry"].encode())):
            report.proved += 1
        else:
            report.failures.append(
                f"seq {seq}: not in the signed tree of {checkpoint.size} entries "
                "(its inclusion proof fails)"
            )


def _included(client: Client, checkpoint: Checkpoint, seq: int, leaf: bytes) -> bool:
    proof = _hashes(client.inclusion_proof(seq, checkpoint.size).get("proof"))
    return proof is not None and merkle.verify_inclusion(
        leaf, seq, checkpoint.size, proof, checkpoint.root_hash
    )


def _well_formed(item: object, report: Report) -> bool:
    if (
        isinstance(item, dict)
        and type(item.get("seq")) is int
        and isinstance(item.get("entry"), str)
        and isinstance(item.get("hash"), str)
    ):
        return True
    report.failures.append(f"an entry of the wrong shape was served: {str(item)[:200]}")
    return False


def _check_entry(item: dict[str, Any], subject: str | None) -> list[str]:
    """What is wrong with one served entry on its own: its hash, and the columns served
    beside it, must be those of its canonical bytes."""
    seq, body = item["seq"], item["entry"].encode()
    leaf = merkle.leaf_hash(body).hex()
    failures = []
    if item["hash"] != leaf:
        failures.append(f"seq {seq}: hash mismatch: served {item['hash']}, bytes give {leaf}")
    try:
        document = json.loads(body)
        inside = {name: document[name] for name in ("seq", "kind", "subject")}
    except (ValueError, KeyError, TypeError):
        return [*failures, f"seq {seq}: the entry's bytes are not a ledger entry"]
    wrong = [name for name, value in inside.items() if item.get(name) != value]
    if subject is not None and inside["subject"] != subject:
        wrong.append("subject asked for")
    if wrong:
        failures.append(f"seq {seq}: served {', '.join(wrong)} differ from its hashed bytes")
    return failures


def _hashes(nodes: object) -> list[bytes] | None:
    if not isinstance(nodes, list) or not all(isinstance(node, str) for node in nodes):
        return None
    try:
        return [bytes.fromhex(node) for node in nodes]
    except ValueError:
        return None


@dataclass
class ClientLedger:
    """A ledger reached over its REST API: nothing it says is trusted unless it verifies."""

    client: Client

    def latest_note(self) -> str:
        note = self.client.latest_checkpoint().get("note")
        if not isinstance(note, str):
            raise ValueError("the server sent no signed checkpoint")
        return note

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        proof = self.client.consistency_proof(first, second).get("proof")
        if not isinstance(proof, list) or not all(isinstance(node, str) for node in proof):
            raise ValueError("the server sent a malformed consistency proof")
        return [bytes.fromhex(node) for node in proof]
