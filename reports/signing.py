"""PAdES signatures on rendered reports, with the organisation's document-signing key.

The signature is added as an incremental update, so the PDF/A-3b file it signs is kept
byte for byte and the signature covers all of it. With AUDITREG_TSA_URL set, an RFC 3161
timestamp from that authority proves when it was signed (PAdES B-T); otherwise the time is
the signer's own claim (B-B). No database access: the key and certificates come from files
(`reports.certs`).
"""

import io
import os

from django.conf import settings
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.sign import fields, signers, timestamps

from auditreg.errors import DomainError
from reports.certs import SigningFiles, signing_files

FIELD_NAME = "auditreg"
TSA_TIMEOUT = 10  # seconds


def sign_pdf(pdf: bytes, *, reason: str, location: str | None = None) -> bytes:
    """The PDF with one PAdES signature over the whole file, in a new signature field."""
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    signer = signers.PdfSigner(meta, load_signer(), timestamper=_timestamper())
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    _same_producer_as_xmp(writer)
    signed: io.BytesIO = signer.sign_pdf(writer, output=io.BytesIO())
    return signed.getvalue()


def _same_producer_as_xmp(writer: IncrementalPdfFileWriter) -> None:
    """pyHanko names itself the producer in the XMP packet but appends its name to the Info
    dictionary's producer; PDF/A requires the two to agree, so both name pyHanko."""
    if "/Info" in writer.trailer:
        info = writer.trailer["/Info"]
        info["/Producer"] = generic.TextStringObject(VENDOR)
        writer.update_container(info)


def load_signer(files: SigningFiles | None = None) -> signers.SimpleSigner:
    """The configured key and certificate, with the CA chain to embed in each signature."""
    files = files or signing_files()
    load = signers.SimpleSigner.load
    chain = [str(path) for path in files.chain]
    signer: signers.SimpleSigner | None = load(str(files.key), str(files.cert), chain)  # type: ignore[no-untyped-call]
    if signer is None:  # pyHanko logs why
        raise DomainError(f"cannot load the document-signing key {files.key} and {files.cert}")
    return signer


def _timestamper() -> timestamps.TimeStamper | None:
    url = getattr(settings, "AUDITREG_TSA_URL", None) or os.environ.get("AUDITREG_TSA_URL")
    if not url:
        return None
    return timestamps.HTTPTimeStamper(url, timeout=TSA_TIMEOUT)
