"""The evidence bundle a report carries, and its verifier.

A signed report embeds `auditreg-evidence.json`: the ledger entries its sections rest on,
each with an RFC 9162 inclusion proof against one signed checkpoint, that checkpoint (a C2SP
signed note) and the public keys of the ledger. With it, a reviewer checks every claim of
the report against the ledger without trusting our server:

    {
      "format": "auditreg-evidence", "version": 1,
      "report": {"id", "kind", "subject", "use_case", "requested_by", "requested_at"},
      "checkpoint": "<signed note>",
      "keys": ["<verifier key>", ...],
      "sections": {"<section>": [seq, ...], ...},
      "entries": [{"seq": n, "hash": "<hex>", "entry": "<canonical JSON>",
                   "proof": ["<hex>", ...]}, ...]
    }

`entry` is the entry's canonical JSON (RFC 8785) text: its UTF-8 bytes are what the leaf
hash covers, `SHA-256(0x00 || bytes)`.

Pure code: only the standard library and `cryptography` (through the ledger's pure
modules), so the `auditreg` client verifies a report with no Django.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from auditreg.proofs import merkle
from auditreg.proofs.note import Checkpoint, NoteError, VerifierKey, open_checkpoint

FORMAT = "auditreg-evidence"
VERSION = 1
ATTACHMENT_NAME = "auditreg-evidence.json"


@dataclass
class BundleResult:
    problems: list[str] = field(default_factory=list)
    tree_size: int = 0
    root: bytes = b""
    origin: str = ""
    entries: int = 0
    keys: list[str] = field(default_factory=list)  # the keys the checkpoint verified with
    pinned: bool = False  # checked against keys the verifier trusts, not the bundle's own

    @property
    def ok(self) -> bool:
        return not self.problems


def encode(bundle: dict[str, Any]) -> bytes:
    """The attachment's bytes: stable, human-readable JSON."""
    return json.dumps(bundle, indent=1, sort_keys=True, ensure_ascii=False).encode()


def verify_bundle(bundle: object, keyring: Iterable[VerifierKey] | None = None) -> BundleResult:
    """Check the checkpoint's signature (against `keyring` when given, else the keys the
    bundle carries, which the caller should compare with the published ones), then every
    entry's hash and inclusion proof against the checkpoint's root, and that every section
    cites only entries the bundle proves. Never raises: every failure is a problem."""
    result = BundleResult()
    if not isinstance(bundle, dict):
        result.problems.append("the evidence is not a JSON object")
        return result
    if bundle.get("format") != FORMAT or bundle.get("version") != VERSION:
        result.problems.append(f"the evidence is not {FORMAT} version {VERSION}")
        return result
    keys = _keys(bundle, keyring, result)
    checkpoint = _checkpoint(bundle.get("checkpoint"), keys, result)
    if checkpoint is None:
        return result
    proven = _entries(bundle.get("entries"), result)
    sections = bundle.get("sections")
    if not isinstance(sections, dict):
        result.problems.append("the evidence has no sections")
        return result
    for name, seqs in sections.items():
        if not isinstance(seqs, list):
            result.problems.append(f"section {name!r}: its entries are not a list")
            continue
        missing = [seq for seq in seqs if seq not in proven]
        if missing:
            result.problems.append(f"section {name!r} cites entries with no proof: {missing}")
    return result


def _keys(
    bundle: dict[str, Any], keyring: Iterable[VerifierKey] | None, result: BundleResult
) -> list[VerifierKey]:
    if keyring is not None:
        result.pinned = True
        return list(keyring)
    keys = []
    for text in bundle.get("keys") or []:
        try:
            keys.append(VerifierKey.parse(text))
        except (NoteError, TypeError, ValueError):
            result.problems.append(f"the evidence holds a malformed key {text!r}")
    return keys


def _checkpoint(note: object, keys: list[VerifierKey], result: BundleResult) -> Checkpoint | None:
    if not isinstance(note, str):
        result.problems.append("the evidence has no checkpoint")
        return None
    try:
        checkpoint = open_checkpoint(note, keys)
    except NoteError as exc:
        result.problems.append(f"the checkpoint does not verify: {exc}")
        return None
    result.tree_size, result.root, result.origin = (
        checkpoint.size,
        checkpoint.root_hash,
        checkpoint.origin,
    )
    result.keys = [f"{key.name}+{key.key_hash:08x}" for key in keys]
    return checkpoint


def _entries(entries: object, result: BundleResult) -> set[int]:
    """Check each entry; return the seqs proven included."""
    proven: set[int] = set()
    if not isinstance(entries, list) or not entries:
        result.problems.append("the evidence holds no entries")
        return proven
    for item in entries:
        seq = item.get("seq") if isinstance(item, dict) else None
        problem = _entry_problem(item, result.tree_size, result.root)
        if problem:
            result.problems.append(f"entry {seq}: {problem}")
        elif isinstance(seq, int):
            proven.add(seq)
    result.entries = len(proven)
    return proven


def _entry_problem(item: object, size: int, root: bytes) -> str | None:
    if not isinstance(item, dict):
        return "not a JSON object"
    seq, text, stated, proof = (item.get(k) for k in ("seq", "entry", "hash", "proof"))
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(text, str):
        return "needs a seq and the entry's canonical JSON"
    leaf = merkle.leaf_hash(text.encode())
    if stated != leaf.hex():
        return "the stated hash is not the hash of the entry's bytes"
    try:
        document = json.loads(text)
    except ValueError:
        return "the entry is not JSON"
    if not isinstance(document, dict) or document.get("seq") != seq:
        return "the entry's bytes say another seq"
    if not isinstance(proof, list) or not all(isinstance(node, str) for node in proof):
        return "the inclusion proof is not a list of hex hashes"
    try:
        path = [bytes.fromhex(node) for node in proof]
    except ValueError:
        return "the inclusion proof is not a list of hex hashes"
    if not merkle.verify_inclusion(leaf, seq, size, path, root):
        return f"not included in the checkpoint's tree of {size} entries"
    return None
