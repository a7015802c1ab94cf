"""Building a report's evidence bundle (see `auditreg.proofs.evidence`) from the ledger."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

from auditreg.errors import DomainError
from auditreg.ledger import services as ledger
from auditreg.ledger.keys import load_keyring
from auditreg.ledger.models import Checkpoint, Entry
from auditreg.proofs import merkle
from auditreg.proofs.evidence import FORMAT, VERSION


def build_bundle(
    *,
    report: Mapping[str, Any],
    sections: Mapping[str, Iterable[int]],
    checkpoint: Checkpoint,
) -> dict[str, Any]:
    """The entries every section cites, each with its inclusion proof in the tree of
    `checkpoint`, with the signed checkpoint and the ledger's public keys."""
    cited = {section: sorted(set(seqs)) for section, seqs in sections.items()}
    seqs = sorted({seq for section in cited.values() for seq in section})
    late = [seq for seq in seqs if seq >= checkpoint.tree_size]
    if late:
        raise DomainError(
            f"entries {late[:5]} are newer than the checkpoint at tree size "
            f"{checkpoint.tree_size}: sign a new checkpoint first"
        )
    bodies = dict(Entry.objects.filter(seq__in=seqs).values_list("seq", "body"))
    proofs = ledger.inclusion_proofs(seqs, checkpoint.tree_size)
    entries = []
    for seq in seqs:
        body = bytes(bodies[seq])
        entries.append(
            {
                "seq": seq,
                "hash": merkle.leaf_hash(body).hex(),
                "entry": body.decode(),
                "proof": [node.hex() for node in proofs[seq]],
            }
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "report": dict(report),
        "checkpoint": checkpoint.note,
        "keys": [key.encode() for key in load_keyring()],
        "sections": cited,
        "entries": entries,
    }


def checkpoint_covering(seqs: Iterable[int]) -> Checkpoint:
    """The latest signed checkpoint, signed anew if it does not cover every seq."""
    needed = max(seqs, default=-1) + 1
    latest = ledger.latest_checkpoint()
    if latest is None or latest.tree_size < needed:
        latest, _ = ledger.checkpoint(origin=settings.AUDITREG_LEDGER_ORIGIN)
    return latest
