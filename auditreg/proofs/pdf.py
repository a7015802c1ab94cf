"""Verify a signed report offline: its PAdES signature, then the evidence it carries.

1. The PDF holds exactly one signature, and pyHanko's validator finds it intact and valid,
   issued under a trusted root when the caller gives roots (the organisation's CA).
2. The signature covers the whole file, or what was appended after it is only validation
   data (a document security store, document timestamps): any other incremental update
   could change what a reader shows without touching the signed bytes.
3. The evidence bundle `auditreg-evidence.json` is read from the revision the signature
   covers, and must be the one a reader sees now; `auditreg.proofs.evidence.verify_bundle` checks
   the checkpoint's signature and every entry's inclusion proof.
4. Given a ledger (`auditreg.client.online.ClientLedger`, or the database's in
   `manage.py verify_report`), its
   latest signed checkpoint must extend the report's: an RFC 9162 consistency proof.

No Django: the `auditreg` client runs this. Every failure is a line of `Verdict.problems`.

The file comes from anyone, so reading it never raises: whatever pyHanko, asn1crypto or zlib
raise on crafted bytes (a broken stream, objects nested past the interpreter's recursion
limit, an assertion deep in a parser) makes the verdict "unreadable". Streams decode within
`DECODE_LIMITS`, so a compression bomb is refused after a few megabytes.
"""

import io
import json
import logging
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits
from pyhanko.pdf_utils.metadata.info import view_from_info_dict
from pyhanko.pdf_utils.metadata.xmp_xml import meta_from_xmp, parse_xmp
from pyhanko.pdf_utils.misc import PdfDecodeLimitError, PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.rw_common import PdfHandler
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, DiffResult, ModificationLevel
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    validate_pdf_signature,
)
from pyhanko_certvalidator import ValidationContext

from auditreg.proofs import merkle
from auditreg.proofs.evidence import ATTACHMENT_NAME, BundleResult, verify_bundle
from auditreg.proofs.note import Checkpoint, NoteError, VerifierKey, open_checkpoint

# What a reader shows as the document's identity. pyHanko lets the Info dictionary and the
# XMP packet change after signing (it updates the producer and dates itself when it adds a
# timestamp), so these must read as they did when signed.
SHOWN = ("title", "author", "subject", "keywords")

# A signed report decodes to well under a megabyte (its fonts, its evidence); an audit
# extract over a long period to a few. pyHanko's defaults (256 MiB a stream, and 256 MiB or
# 100 times the file for the whole document) suit any PDF; these suit ours, so a 4 GiB
# Flate bomb costs 32 MiB and a few milliseconds before it is refused.
MiB = 1024 * 1024
DECODE_LIMITS = DecodeLimits(
    per_stream=StreamDecodeLimits(max_output_size=32 * MiB),
    document_budget=DocumentDecodeBudget(base_allowance=64 * MiB, max_ratio=8),
)

# pyHanko logs an untrusted signer's path-building failure with a traceback; the verdict
# says it in one line. Importing this module prints nothing; applications that configure
# logging still receive the records unless they call `quiet_pyhanko`.
PYHANKO_LOGGERS = ("pyhanko", "pyhanko_certvalidator")
for _name in PYHANKO_LOGGERS:
    logging.getLogger(_name).addHandler(logging.NullHandler())


def quiet_pyhanko() -> None:
    """Keep pyHanko's warnings (an untrusted signer, with a traceback) out of a log that
    reports the verdict instead: the command line and the portal's verify page."""
    for name in PYHANKO_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


class Ledger(Protocol):
    """Where a verifier reads the ledger's latest signed checkpoint and proofs from."""

    def latest_note(self) -> str: ...

    def consistency_proof(self, first: int, second: int) -> list[bytes]: ...


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    unreadable: str = ""  # why the file could not be read as a PDF at all, if it could not
    warnings: list[str] = field(default_factory=list)
    signer: str = ""
    signed_at: datetime | None = None
    timestamped: bool = False  # `signed_at` comes from a trusted timestamp authority
    coverage: str = ""
    tree_size: int = 0  # the checkpoint the evidence is proved against
    root: bytes = b""
    entries: int = 0
    ledger_size: int | None = None  # the ledger's checkpoint it was shown consistent with
    evidence: dict[str, Any] = field(default_factory=dict, repr=False)  # as signed

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        when = self.signed_at.isoformat() if self.signed_at else "an unknown time"
        claim = "timestamped" if self.timestamped else "the signer's own clock"
        lines = [
            f"report signed by {self.signer or 'nobody'} at {when} ({claim}); {self.coverage}",
            f"evidence: {self.entries} entries proved in the checkpoint at tree size "
            f"{self.tree_size}, root {self.root.hex()}",
        ]
        if self.ledger_size is not None:
            lines.append(f"the ledger's checkpoint at tree size {self.ledger_size} extends it")
        return "\n".join(lines + [f"warning: {warning}" for warning in self.warnings])

    def failures(self) -> str:
        """What a verifier prints when the report does not verify: each problem, then the
        verdict."""
        lines = [f"FAILED {problem}" for problem in self.problems]
        return "\n".join([*lines, f"report NOT verified: {len(lines)} problems"])


def verify_pdf(
    data: bytes,
    *,
    trust_roots: Sequence[x509.Certificate] | None = None,
    keys: list[VerifierKey] | None = None,
    ledger: Ledger | None = None,
) -> Verdict:
    """Verify a signed report. `trust_roots`: the CA certificates the signer must chain to
    (none: the signer is reported, not trusted). `keys`: the ledger's published verifier
    keys (none: the keys the report carries, a warning). `ledger`: also prove the report's
    checkpoint is in the ledger's history as it stands now. Never raises."""
    verdict = Verdict()
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False, decode_limits=DECODE_LIMITS)
        signatures = reader.embedded_regular_signatures
        if len(signatures) != 1:
            verdict.problems.append(
                "the PDF is not signed"
                if not signatures
                else f"the PDF holds {len(signatures)} signatures; a report has exactly one"
            )
            return verdict
        _check_signature(signatures[0], trust_roots, verdict)
        bundle = _signed_evidence(reader, signatures[0], verdict)
    except Exception as exc:  # crafted bytes: any error of the parsers (see the module doc)
        return _unreadable(exc)
    if bundle is not None:
        _check_evidence(bundle, keys, ledger, verdict)
    return verdict


def _unreadable(exc: BaseException) -> Verdict:
    """The verdict on a file the PDF parsers gave up on, with their reason in one line."""
    if isinstance(exc, RecursionError):
        reason = "its objects are nested too deeply"
    elif isinstance(exc, PdfDecodeLimitError):
        reason = f"a stream decodes to more data than a report's may ({_one_line(exc)})"
    elif str(exc).strip():
        reason = _one_line(exc)
    else:
        reason = f"the PDF parser failed on it ({type(exc).__name__})"
    return Verdict(problems=[f"not a readable PDF: {reason}"], unreadable=reason)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:199] + "…"


def _check_evidence(
    bundle: dict[str, Any], keys: list[VerifierKey] | None, ledger: Ledger | None, verdict: Verdict
) -> None:
    result = verify_bundle(bundle, keys)
    verdict.problems += [f"evidence: {problem}" for problem in result.problems]
    verdict.tree_size, verdict.root, verdict.entries = (
        result.tree_size,
        result.root,
        result.entries,
    )
    verdict.evidence = bundle
    if not result.pinned:
        verdict.warnings.append(
            "the ledger checkpoint was checked against the keys the report carries; "
            "give the ledger's published verifier key"
        )
    if ledger is not None and result.tree_size:
        _check_consistency(ledger, bundle, result, keys, verdict)


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM file (one or more) or of a DER one."""
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


# --- The signature -----------------------------------------------------------------------------


def _check_signature(
    signature: EmbeddedPdfSignature,
    trust_roots: Sequence[x509.Certificate] | None,
    verdict: Verdict,
) -> None:
    roots = [root for cert in trust_roots or [] for root in _asn1(cert)]
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        status = validate_pdf_signature(signature, context, diff_policy=DEFAULT_DIFF_POLICY)
    except PdfDecodeLimitError:
        raise  # a compression bomb: the file is refused as unreadable
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        verdict.problems.append(f"the signature cannot be validated: {exc}")
        return
    verdict.signer = status.signing_cert.subject.human_friendly
    verdict.signed_at = status.signer_reported_dt
    stamp = status.timestamp_validity
    if stamp is not None and not (stamp.intact and stamp.valid):
        verdict.problems.append("the signature's timestamp token does not verify")
    elif stamp is not None:
        verdict.signed_at, verdict.timestamped = stamp.timestamp, stamp.trusted
        if not stamp.trusted:
            verdict.warnings.append(
                f"the timestamp authority {stamp.signing_cert.subject.human_friendly} is not "
                "trusted (give its root certificate too)"
            )
    if not status.intact:
        verdict.problems.append("the signed bytes were changed: the document digest differs")
    elif not status.valid:
        verdict.problems.append("the signature does not verify with the signer's certificate")
    elif not trust_roots:
        verdict.warnings.append(
            "signer not checked against a trusted root (give the organisation's CA certificate)"
        )
    elif not status.trusted:
        verdict.problems.append(
            f"the signer {verdict.signer} is not trusted: its certificate does not chain to "
            f"a given root ({status.trust_problem_indic})"
        )
    verdict.problems += _coverage_problems(signature, status, verdict)


def _coverage_problems(
    signature: EmbeddedPdfSignature, status: PdfSignatureStatus, verdict: Verdict
) -> list[str]:
    """The signature covers the file, or only validation data was added since: a document
    security store, document timestamps, and no change to what a reader shows."""
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        verdict.coverage = "the signature covers the whole file"
        return []
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        verdict.coverage = "the signature does not cover its whole revision"
        return [verdict.coverage]
    verdict.coverage = "the file was changed after it was signed"
    diff = status.diff_result
    if not isinstance(diff, DiffResult) or diff.modification_level > ModificationLevel.LTA_UPDATES:
        reason = f" ({diff})" if diff is not None and not isinstance(diff, DiffResult) else ""
        return [f"a later incremental update changed the document{reason}"]
    try:
        then = _shown(signature.reader.get_historical_resolver(signature.signed_revision))
        now = _shown(signature.reader)
    except PdfDecodeLimitError:
        raise
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        return [f"cannot read the document's metadata: {exc}"]
    changed = [name for name in sorted(then.keys() | now.keys()) if then.get(name) != now.get(name)]
    if changed:
        return [f"a later incremental update changed the document's {', '.join(changed)}"]
    verdict.coverage = "the signature covers the file up to validation data added since"
    return []


def _shown(pdf: PdfHandler) -> dict[str, str]:
    """The document's title, author, subject and keywords, in its Info dictionary and XMP."""
    shown = {}
    info = pdf.trailer_view.raw_get("/Info") if "/Info" in pdf.trailer_view else None
    if isinstance(info, generic.IndirectObject):  # read it in this revision, not the latest
        info = pdf.get_object(info.reference)
    if isinstance(info, generic.DictionaryObject):
        meta = view_from_info_dict(info, strict=False)
        shown.update({f"{name} (Info)": str(getattr(meta, name)) for name in SHOWN})
    xmp = pdf.root.get("/Metadata")
    if xmp is not None:
        meta = meta_from_xmp(parse_xmp(io.BytesIO(xmp.get_object().data)))
        shown.update({f"{name} (XMP)": str(getattr(meta, name)) for name in SHOWN})
    return shown


def _asn1(cert: x509.Certificate) -> list[Any]:
    """pyHanko's form of a certificate (asn1crypto's)."""
    return list(load_certs_from_pemder_data(cert.public_bytes(Encoding.DER)))


# --- The evidence ------------------------------------------------------------------------------


def _signed_evidence(
    reader: PdfFileReader, signature: EmbeddedPdfSignature, verdict: Verdict
) -> dict[str, Any] | None:
    """The evidence bundle as it was signed; a problem too if a reader now sees another."""
    signed = reader.get_historical_resolver(signature.signed_revision)
    try:
        data = attachment(signed, ATTACHMENT_NAME)
        current = attachment(reader, ATTACHMENT_NAME)
    except PdfDecodeLimitError:
        raise
    except (PdfError, ValueError, KeyError, TypeError, zlib.error) as exc:
        verdict.problems.append(f"cannot read the attachment {ATTACHMENT_NAME}: {exc}")
        return None
    if data is None:
        verdict.problems.append(f"the signed PDF has no attachment {ATTACHMENT_NAME}")
        return None
    if current != data:
        verdict.problems.append(
            f"the attachment {ATTACHMENT_NAME} was replaced or removed after signing"
        )
    try:
        bundle = json.loads(data)
    except ValueError as exc:
        verdict.problems.append(f"the attachment {ATTACHMENT_NAME} is not JSON: {exc}")
        return None
    if not isinstance(bundle, dict):
        verdict.problems.append(f"the attachment {ATTACHMENT_NAME} is not a JSON object")
        return None
    return bundle


def attachment(pdf: PdfHandler, name: str) -> bytes | None:
    """The bytes of the embedded file `name` (the document's EmbeddedFiles name tree)."""
    try:
        tree = pdf.root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        return None
    for key, spec in _name_tree(tree):
        if key == name:
            files = spec["/EF"]
            stream = files.get("/UF") or files["/F"]
            data: bytes = stream.get_object().data
            return data
    return None


def _name_tree(node: generic.DictionaryObject, depth: int = 0) -> Iterable[tuple[str, Any]]:
    if depth > 32:  # a name tree deeper than this is a loop
        raise ValueError("the EmbeddedFiles name tree is too deep")
    names = node.get("/Names", [])
    for index in range(0, len(names) - 1, 2):
        yield str(names[index]), names[index + 1].get_object()
    for kid in node.get("/Kids", []):
        yield from _name_tree(kid.get_object(), depth + 1)


# --- The ledger today --------------------------------------------------------------------------


def _check_consistency(
    ledger: Ledger,
    bundle: dict[str, Any],
    result: BundleResult,
    keys: list[VerifierKey] | None,
    verdict: Verdict,
) -> None:
    """The ledger's latest signed checkpoint must be an extension of the report's."""
    keyring = keys if keys is not None else _bundle_keys(bundle)
    try:
        latest = open_checkpoint(ledger.latest_note(), keyring, origin=result.origin)
        proof = _consistency(ledger, result.tree_size, latest)
    except NoteError as exc:
        verdict.problems.append(f"the ledger's latest checkpoint does not verify: {exc}")
        return
    except Exception as exc:  # the outside world: an HTTP error, a database error
        verdict.problems.append(f"cannot check against the ledger: {exc}")
        return
    if proof is None:
        verdict.problems.append(
            f"the ledger's latest checkpoint (tree size {latest.size}) is older than the "
            f"report's ({result.tree_size}): the ledger was rolled back or forked"
        )
    elif not merkle.verify_consistency(
        result.tree_size, latest.size, result.root, latest.root_hash, proof
    ):
        verdict.problems.append(
            f"the report's checkpoint (tree size {result.tree_size}) is not in the ledger's "
            f"history as of its checkpoint at tree size {latest.size}: the consistency "
            "proof fails"
        )
    else:
        verdict.ledger_size = latest.size


def _consistency(ledger: Ledger, size: int, latest: Checkpoint) -> list[bytes] | None:
    if latest.size < size:
        return None
    return [] if latest.size == size else ledger.consistency_proof(size, latest.size)


def _bundle_keys(bundle: dict[str, Any]) -> list[VerifierKey]:
    keys = []
    for text in bundle.get("keys") or []:
        try:
            keys.append(VerifierKey.parse(text))
        except (NoteError, TypeError, ValueError):
            continue  # verify_bundle has already named it
    return keys
