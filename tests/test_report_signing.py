"""Signed reports: a PAdES signature by the organisation's certificate over a PDF/A-3b file
that carries its evidence; verified by pyHanko's validator and by `verify_pdf`, which
reports a flipped byte, a swapped attachment, any later update, a foreign CA, no
signature, and a ledger whose history no longer holds the report's checkpoint."""

import asyncio
import datetime
import http.server
import io
import json
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import tsp  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.management import CommandError, call_command
from pyhanko.keys import (
    load_cert_from_pemder,
    load_certs_from_pemder_data,
    load_private_key_from_pemder,
)
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers, timestamps
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Scope
from auditreg.client.cli import main as auditreg
from auditreg.ledger import services as ledger
from auditreg.ledger.keys import load_keyring
from auditreg.proofs.evidence import ATTACHMENT_NAME, encode
from auditreg.proofs.pdf import attachment, verify_pdf
from reports.certs import DOCUMENT_SIGNING, read_certificates
from reports.evidence import build_bundle, checkpoint_covering
from reports.render import html_to_pdf
from reports.signing import FIELD_NAME, load_signer, sign_pdf
from tests.conftest import append_many

HTML = """<!doctype html><html><head><title>Model risk report: credit-pd v1</title></head>
<body><h1>Model risk report</h1><p>credit-pd version 1, risk tier high.</p></body></html>"""
DER = serialization.Encoding.DER
REPORT = {"id": "r-1", "kind": "model-risk", "subject": "model:credit-pd/1"}


def render(evidence: bytes) -> bytes:
    """A PDF/A-3b with the evidence attached, as the report pipeline renders it."""
    return html_to_pdf(HTML, attachment=evidence)


def make_ca(directory: Path, organisation: str) -> Path:
    call_command(
        "init_signing_cert",
        "--organisation",
        organisation,
        "--common-name",
        f"{organisation} model reports",
        stdout=io.StringIO(),
    )
    return directory / "ca.crt"


@pytest.fixture(autouse=True)
def signing_dir(settings, tmp_path: Path, monkeypatch) -> Path:
    for name in ("AUDITREG_SIGNING_KEY", "AUDITREG_SIGNING_CERT", "AUDITREG_SIGNING_CHAIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AUDITREG_TSA_URL", raising=False)
    settings.AUDITREG_SIGNING_DIR = tmp_path / "signing"
    make_ca(settings.AUDITREG_SIGNING_DIR, "Acme Bank")
    return Path(settings.AUDITREG_SIGNING_DIR)


@pytest.fixture
def ca(signing_dir: Path) -> list[x509.Certificate]:
    return read_certificates(signing_dir / "ca.crt")


@pytest.fixture
def evidence(ledger) -> bytes:
    append_many(20)
    sections = {"identification": [0, 3], "approvals": [3, 7, 19]}
    return encode(
        build_bundle(report=REPORT, sections=sections, checkpoint=checkpoint_covering([19]))
    )


@pytest.fixture
def unsigned(evidence: bytes) -> bytes:
    return render(evidence)


@pytest.fixture
def signed(unsigned: bytes) -> bytes:
    return sign_pdf(unsigned, reason="Model risk report r-1", location="Zurich")


def pyhanko_status(data: bytes, roots: list[x509.Certificate]):
    reader = PdfFileReader(io.BytesIO(data))
    context = ValidationContext(
        trust_roots=[
            root for cert in roots for root in load_certs_from_pemder_data(cert.public_bytes(DER))
        ],
        allow_fetching=False,
    )
    return validate_pdf_signature(reader.embedded_signatures[0], context)


def evidence_in(data: bytes) -> dict[str, Any]:
    attached = attachment(PdfFileReader(io.BytesIO(data)), ATTACHMENT_NAME)
    assert attached is not None
    evidence: dict[str, Any] = json.loads(attached)
    return evidence


def later_update(data: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- The development CA ------------------------------------------------------------------------


def test_init_signing_cert_makes_a_ca_and_a_document_signing_certificate(signing_dir):
    key = signing_dir / "signing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((signing_dir / "ca.key").stat().st_mode) == 0o600
    (root,) = read_certificates(signing_dir / "ca.crt")
    (cert,) = read_certificates(signing_dir / "signing.crt")
    cert.verify_directly_issued_by(root)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    purposes = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert DOCUMENT_SIGNING in purposes and ExtendedKeyUsageOID.EMAIL_PROTECTION in purposes
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Acme Bank"
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)


def test_init_signing_cert_keeps_its_files_unless_rotated(signing_dir):
    before = {name: (signing_dir / name).read_bytes() for name in ("signing.crt", "ca.crt")}
    out = io.StringIO()
    call_command("init_signing_cert", stdout=out)
    assert "already present" in out.getvalue()
    assert (signing_dir / "signing.crt").read_bytes() == before["signing.crt"]
    call_command("init_signing_cert", "--rotate", stdout=io.StringIO())
    assert (signing_dir / "signing.crt").read_bytes() != before["signing.crt"]
    assert (signing_dir / "ca.crt").read_bytes() == before["ca.crt"]  # verifiers keep trusting


def test_production_key_and_certificate_come_from_the_named_files(
    settings, tmp_path, monkeypatch, unsigned
):
    settings.AUDITREG_SIGNING_DIR = tmp_path / "organisation"
    organisation_ca = make_ca(settings.AUDITREG_SIGNING_DIR, "Acme Health")
    monkeypatch.setenv("AUDITREG_SIGNING_KEY", str(tmp_path / "organisation" / "signing.key"))
    monkeypatch.setenv("AUDITREG_SIGNING_CERT", str(tmp_path / "organisation" / "signing.crt"))
    monkeypatch.setenv("AUDITREG_SIGNING_CHAIN", str(organisation_ca))
    settings.AUDITREG_SIGNING_DIR = tmp_path / "nowhere"
    verdict = verify_pdf(
        sign_pdf(unsigned, reason="r"),
        trust_roots=read_certificates(organisation_ca),
        keys=load_keyring(),
    )
    assert verdict.ok, verdict.problems
    assert "Acme Health" in verdict.signer


# --- A signed report ---------------------------------------------------------------------------


def test_pyhankos_own_validator_finds_the_signature_intact_valid_and_trusted(signed, ca):
    status = pyhanko_status(signed, ca)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    reader = PdfFileReader(io.BytesIO(signed))
    (signature,) = reader.embedded_signatures
    assert signature.field_name == FIELD_NAME
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.sig_object["/Reason"] == "Model risk report r-1"


def test_signing_appends_to_the_pdfa_3b_file_which_still_declares_it(signed, unsigned):
    assert signed.startswith(unsigned)  # an incremental update: the rendered bytes are kept
    xmp = PdfFileReader(io.BytesIO(signed)).root["/Metadata"].data.decode()
    # pyHanko rewrites the XMP packet (producer, modification date) and keeps the claim.
    assert re.search(r'pdfaid:part(="|>)3', xmp) and re.search(r'pdfaid:conformance(="|>)B', xmp)
    # PDF/A: what the Info dictionary says, the XMP packet says too.
    info = PdfFileReader(io.BytesIO(signed)).trailer_view["/Info"]
    producer = re.search(r'pdf:Producer(?:="|>)([^"<]*)', xmp)
    assert producer is not None and producer.group(1) == info["/Producer"]
    assert "Model risk report: credit-pd v1" in xmp and info["/Title"] in xmp


def test_verify_pdf_passes_a_signed_report_with_its_evidence(signed, ca):
    verdict = verify_pdf(signed, trust_roots=ca, keys=load_keyring())
    assert verdict.ok, verdict.problems
    assert verdict.warnings == []
    assert "Acme Bank model reports" in verdict.signer
    assert verdict.signed_at is not None and not verdict.timestamped
    assert (verdict.tree_size, verdict.entries) == (20, 4)
    assert verdict.root == ledger.root_at(20)
    assert "covers the whole file" in verdict.summary()


def test_without_trust_roots_or_keys_the_report_passes_only_with_warnings(signed):
    verdict = verify_pdf(signed)
    assert verdict.ok, verdict.problems
    assert any("signer not checked against a trusted root" in w for w in verdict.warnings)
    assert any("keys the report carries" in w for w in verdict.warnings)


def test_a_flipped_byte_in_the_signed_range_fails(signed, unsigned, ca):
    # A byte inside the first stream of the rendered file (its colour profile): still a
    # readable PDF, but not the one that was signed.
    at = unsigned.index(b"stream") + 100
    tampered = bytearray(signed)
    tampered[at] ^= 0x01
    verdict = verify_pdf(bytes(tampered), trust_roots=ca, keys=load_keyring())
    assert "the signed bytes were changed: the document digest differs" in verdict.problems
    assert not pyhanko_status(bytes(tampered), ca).intact


def test_an_attachment_replaced_in_a_later_update_fails_naming_it(signed, ca):
    forged = evidence_in(signed)
    forged["entries"][0]["entry"] = forged["entries"][0]["entry"].replace("Dana", "Mallory")

    def swap(writer):
        names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
        spec = names[names.index(generic.pdf_string(ATTACHMENT_NAME)) + 1].get_object()
        stream = EmbeddedFileObject.from_file_data(writer, json.dumps(forged).encode())
        spec["/EF"] = generic.DictionaryObject({generic.pdf_name("/F"): writer.add_object(stream)})
        writer.update_container(spec)

    swapped = later_update(signed, swap)
    assert evidence_in(swapped) == forged
    verdict = verify_pdf(swapped, trust_roots=ca, keys=load_keyring())
    assert f"the attachment {ATTACHMENT_NAME} was replaced or removed after signing" in (
        verdict.problems
    )
    assert any("a later incremental update changed the document" in p for p in verdict.problems)
    # The evidence checked is the one that was signed, which still verifies.
    assert not [problem for problem in verdict.problems if problem.startswith("evidence")]


def test_any_later_update_fails_even_one_pyhanko_accepts(signed, ca):
    def retitle(writer):
        info = writer.trailer["/Info"]
        info["/Title"] = generic.TextStringObject("Model risk report: credit-pd v2")
        writer.update_container(info)

    retitled = later_update(signed, retitle)
    # pyHanko's default policy lets the Info dictionary change after signing ...
    status = pyhanko_status(retitled, ca)
    assert status.intact and status.trusted and status.docmdp_ok
    assert status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
    # ... but it is what a reader shows as the title, so a report refuses it.
    verdict = verify_pdf(retitled, trust_roots=ca, keys=load_keyring())
    assert verdict.problems == ["a later incremental update changed the document's title (Info)"], (
        verdict.problems
    )


def test_a_document_timestamp_added_later_is_only_validation_data(signed, ca, tmp_path):
    tsa = make_tsa(tmp_path)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    out = signers.PdfTimeStamper(tsa).timestamp_pdf(writer, "sha256", output=io.BytesIO())
    verdict = verify_pdf(out.getvalue(), trust_roots=ca, keys=load_keyring())
    assert verdict.ok, verdict.problems
    assert "validation data added since" in verdict.coverage


def test_a_signer_from_another_ca_is_not_trusted(settings, tmp_path, unsigned, ca):
    settings.AUDITREG_SIGNING_DIR = tmp_path / "mallory"
    make_ca(settings.AUDITREG_SIGNING_DIR, "Acme Bank")  # same names, another key
    verdict = verify_pdf(sign_pdf(unsigned, reason="r"), trust_roots=ca, keys=load_keyring())
    assert len(verdict.problems) == 1
    assert "is not trusted" in verdict.problems[0]


def test_an_unsigned_pdf_fails(unsigned, ca):
    verdict = verify_pdf(unsigned, trust_roots=ca, keys=load_keyring())
    assert verdict.problems == ["the PDF is not signed"]
    assert (
        verify_pdf(b"%PDF-1.7 not really", trust_roots=ca)
        .problems[0]
        .startswith("not a readable PDF")
    )


def sign_again(data: bytes) -> bytes:
    meta = signers.PdfSignatureMetadata(field_name="another", md_algorithm="sha256")
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    signed: io.BytesIO = signers.PdfSigner(meta, load_signer()).sign_pdf(writer)
    return signed.getvalue()


def test_a_second_signature_fails(signed, ca):
    with pytest.raises(SigningError, match="filled already"):
        sign_pdf(signed, reason="again")
    twice = sign_again(signed)
    verdict = verify_pdf(twice, trust_roots=ca, keys=load_keyring())
    assert "the PDF holds 2 signatures; a report has exactly one" in verdict.problems


# --- A timestamp authority ---------------------------------------------------------------------


def make_tsa(tmp_path: Path) -> timestamps.DummyTimeStamper:
    """A timestamp authority with its own root, as the outside world has."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's test TSA
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")])
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "tsa.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "tsa.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return timestamps.DummyTimeStamper(
        tsa_cert=load_cert_from_pemder(str(tmp_path / "tsa.crt")),
        tsa_key=load_private_key_from_pemder(str(tmp_path / "tsa.key"), passphrase=None),
    )


@pytest.fixture
def tsa_url(tmp_path, monkeypatch) -> Iterator[str]:
    tsa = make_tsa(tmp_path)

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
            body = asyncio.run(tsa.async_request_tsa_response(request)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/"
    monkeypatch.setenv("AUDITREG_TSA_URL", url)
    yield url
    server.shutdown()


def test_with_a_timestamp_authority_the_signing_time_is_proven(tsa_url, unsigned, ca, tmp_path):
    signed = sign_pdf(unsigned, reason="r")
    roots = [*ca, *read_certificates(tmp_path / "tsa.crt")]
    verdict = verify_pdf(signed, trust_roots=roots, keys=load_keyring())
    assert verdict.ok, verdict.problems
    assert verdict.timestamped and verdict.signed_at is not None
    assert "(timestamped)" in verdict.summary()
    status = pyhanko_status(signed, roots)
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    # An authority the verifier does not trust proves nothing, and is said to.
    untrusted = verify_pdf(signed, trust_roots=ca, keys=load_keyring())
    assert untrusted.ok and not untrusted.timestamped
    assert untrusted.warnings == [
        "the timestamp authority Common Name: Test TSA is not trusted (give its root "
        "certificate too)"
    ]


# --- The ledger today --------------------------------------------------------------------------


class ForkedLedger:
    """A ledger that signs a checkpoint but cannot prove it extends the report's."""

    def __init__(self, note: str, proof: list[bytes]) -> None:
        self.note, self.proof = note, proof

    def latest_note(self) -> str:
        return self.note

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return self.proof


def test_the_report_checkpoint_is_proven_in_the_ledger_as_it_grows(signed, ca, tmp_path, settings):
    append_many(13)
    ledger.checkpoint(origin=settings.AUDITREG_LEDGER_ORIGIN)
    report = tmp_path / "report.pdf"
    report.write_bytes(signed)
    out = io.StringIO()
    call_command("verify_report", str(report), stdout=out)
    assert "tree size 33 extends it" in out.getvalue()
    latest = ledger.latest_checkpoint()
    assert latest is not None
    forked = ForkedLedger(latest.note, [bytes(32)] * 3)
    verdict = verify_pdf(signed, trust_roots=ca, keys=load_keyring(), ledger=forked)
    assert any("consistency proof fails" in problem for problem in verdict.problems)


def test_verify_report_exits_1_listing_every_problem(signed, tmp_path, signing_dir):
    report = tmp_path / "report.pdf"
    report.write_bytes(sign_again(signed))
    with pytest.raises(CommandError) as failed:
        call_command("verify_report", str(report), stdout=io.StringIO())
    assert failed.value.returncode == 1
    assert "FAILED the PDF holds 2 signatures" in str(failed.value)


# --- The client, without Django ----------------------------------------------------------------


def test_auditreg_verify_checks_a_report(signed, tmp_path, signing_dir, keys_dir, capsys):
    report = tmp_path / "report.pdf"
    report.write_bytes(signed)
    (vkey,) = keys_dir.glob("*.vkey")
    trust = f"--trust={signing_dir / 'ca.crt'}"
    assert auditreg(["verify", str(report), trust, f"--key={vkey}"]) == 0
    assert "20, root" in capsys.readouterr().out
    report.write_bytes(signed.replace(b"/Reason", b"/Reasom", 1))
    assert auditreg(["verify", str(report), trust, f"--key={vkey}"]) == 1
    assert "report NOT verified" in capsys.readouterr().out


@pytest.fixture
def token(people) -> str:
    _, token = accounts.issue_token(
        principal=people.trainer, name="audit", scopes=[Scope.READ], by=people.ada
    )
    return token


def test_auditreg_verify_with_a_url_proves_the_report_in_the_ledger_today(
    signed, tmp_path, signing_dir, keys_dir, live_server, token, settings, capsys
):
    append_many(5)
    ledger.checkpoint(origin=settings.AUDITREG_LEDGER_ORIGIN)
    report = tmp_path / "report.pdf"
    report.write_bytes(signed)
    (vkey,) = keys_dir.glob("*.vkey")
    args = [f"--trust={signing_dir / 'ca.crt'}", f"--key={vkey}", "--url", live_server.url]
    assert auditreg(["verify", str(report), *args, "--token", token]) == 0
    size = ledger.tree_size()
    assert f"the ledger's checkpoint at tree size {size} extends it" in capsys.readouterr().out


NO_DJANGO = """
import sys

class NoDjango:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("django", "rest_framework"):
            raise ImportError(f"the client imported {name}")

sys.meta_path.insert(0, NoDjango())
from auditreg.client.cli import main
sys.exit(main(["verify", *sys.argv[1:]]))
"""


@pytest.mark.slow
def test_auditreg_verifies_a_report_without_django(signed, tmp_path, signing_dir, keys_dir):
    report = tmp_path / "report.pdf"
    report.write_bytes(signed)
    (vkey,) = keys_dir.glob("*.vkey")
    ca_file = signing_dir / "ca.crt"
    done = subprocess.run(
        [sys.executable, "-c", NO_DJANGO, str(report), f"--trust={ca_file}", f"--key={vkey}"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "AUDITREG_URL": ""},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "report signed by" in done.stdout
