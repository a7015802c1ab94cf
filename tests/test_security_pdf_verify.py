"""Attacks on the verify page and `manage.py verify_report` with crafted PDFs: nesting past
the recursion limit, a Flate bomb, hundreds of mutants of a real signed report, oversized
and multi-file requests, and more verifications at once than the page runs. Each answers
with a verdict (valid, not valid, unreadable) or a refusal: never a 500 or a traceback."""

import io
import random
import re
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from auditreg.ledger.keys import load_keyring
from auditreg.proofs.evidence import ATTACHMENT_NAME
from auditreg.proofs.pdf import verify_pdf
from portal.views import reports as report_pages
from reports import services
from reports.certs import trust_roots
from tests.factories import approve, make_model, make_version
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db

VERIFY = "/reports/verify"
MiB = 1024 * 1024

# What the page says, one phrase per verdict; the refusal of a file with no PDF header too.
VALID = "This report is authentic and intact:"
NOT_VALID = "This report did not verify."
UNREADABLE = "This file could not be read as a signed report."
NOT_A_PDF = "This file is not a PDF"


@pytest.fixture
def report_pdf(people, signing_dir) -> bytes:
    """A model risk report issued as the worker issues it: rendered, signed and stored."""
    version = approve(people, make_version(people, make_model(people)))
    request = services.request_report(
        kind="model-risk", subject=version.subject, by=people.olga, queue=False
    )
    report = services.produce(str(request.id))
    with services.storage().open(report.file_name, "rb") as stored:
        data: bytes = stored.read()
    return data


def upload(client, data: bytes, name: str = "report.pdf"):
    return client.post(VERIFY, {"pdf": SimpleUploadedFile(name, data, "application/pdf")})


def page_verdict(response) -> str:
    """The one verdict the page gives; a server error or no verdict fails the test."""
    said = [
        phrase for phrase in (VALID, NOT_VALID, UNREADABLE, NOT_A_PDF) if phrase in response.text
    ]
    assert len(said) == 1, (response.status_code, said)
    expected_status = {VALID: 200, NOT_VALID: 200, UNREADABLE: 422, NOT_A_PDF: 422}[said[0]]
    assert response.status_code == expected_status
    return said[0]


def command_verdict(path: Path) -> str:
    """`manage.py verify_report`: exit 0 with a summary, or exit 1 with one line a problem."""
    try:
        call_command("verify_report", str(path), stdout=io.StringIO())
    except CommandError as failed:
        assert failed.returncode == 1
        lines = str(failed).splitlines()
        assert lines[-1].startswith("report NOT verified")
        assert all(line.startswith("FAILED ") for line in lines[:-1]), lines
        assert "Traceback" not in str(failed)
        return "not valid"
    return "valid"


def minimal_pdf(catalog_extra: bytes) -> bytes:
    """A one-revision PDF with no pages whose catalog also holds `catalog_extra`."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def nested_fields(depth: int) -> bytes:
    return minimal_pdf(b"/AcroForm << /Fields " + b"[" * depth + b"]" * depth + b" >>")


# --- Crafted structure -------------------------------------------------------------------------


def test_fifty_thousand_nested_arrays_are_unreadable_not_a_recursion_error(people, signing_dir):
    verdict = verify_pdf(nested_fields(50_000), trust_roots=trust_roots(), keys=load_keyring())
    assert verdict.problems == ["not a readable PDF: its objects are nested too deeply"]
    assert verdict.unreadable == "its objects are nested too deeply"
    assert not verdict.ok


def test_the_page_says_a_deeply_nested_pdf_cannot_be_read(people, signing_dir, client):
    sign_in(client, "olga")
    response = upload(client, nested_fields(50_000))
    assert page_verdict(response) == UNREADABLE
    assert "its objects are nested too deeply" in response.text


def test_verify_report_exits_1_with_one_line_on_a_deeply_nested_pdf(people, signing_dir, tmp_path):
    crafted = tmp_path / "nested.pdf"
    crafted.write_bytes(nested_fields(50_000))
    with pytest.raises(CommandError) as failed:
        call_command("verify_report", str(crafted), stdout=io.StringIO())
    assert failed.value.returncode == 1
    assert str(failed.value).splitlines() == [
        "FAILED not a readable PDF: its objects are nested too deeply",
        "report NOT verified: 1 problems",
    ]


def flate_bomb(decoded_size: int) -> bytes:
    """Zeros, deflated: about a thousandth of `decoded_size` on the wire."""
    deflate, chunk = zlib.compressobj(9), bytes(MiB)
    parts = [deflate.compress(chunk) for _ in range(decoded_size // MiB)]
    return b"".join([*parts, deflate.flush()])


def with_bombed_attachment(pdf: bytes, bomb: bytes) -> bytes:
    """The report with its evidence replaced, in a later update, by a deflated stream."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    spec = names[names.index(generic.pdf_string(ATTACHMENT_NAME)) + 1].get_object()
    stream = generic.StreamObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/EmbeddedFile"),
            generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode"),
        },
        encoded_data=bomb,
    )
    spec["/EF"] = generic.DictionaryObject({generic.pdf_name("/F"): writer.add_object(stream)})
    writer.update_container(spec)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_flate_bomb_is_refused_quickly_as_unreadable(people, report_pdf, client):
    # 128 MiB of zeros in 128 KB: under pyHanko's own 256 MiB cap, which decoded it whole.
    bombed = with_bombed_attachment(report_pdf, flate_bomb(128 * MiB))
    assert len(bombed) < len(report_pdf) + 200_000
    started = time.monotonic()
    verdict = verify_pdf(bombed, trust_roots=trust_roots(), keys=load_keyring())
    assert time.monotonic() - started < 5
    (problem,) = verdict.problems
    assert problem.startswith("not a readable PDF: a stream decodes to more data than a report's")
    sign_in(client, "olga")
    response = upload(client, bombed)
    assert page_verdict(response) == UNREADABLE
    assert "a stream decodes to more data than a report&#x27;s may" in response.text


# --- Mutants of a real report ------------------------------------------------------------------


def syntax_regions(pdf: bytes) -> list[tuple[int, int]]:
    """The spans between stream bodies: object syntax, cross-reference tables, trailers."""
    regions, start = [], 0
    for body in re.finditer(rb"stream\r?\n.*?endstream", pdf, re.DOTALL):
        regions.append((start, body.start() + len(b"stream")))
        start = body.end() - len(b"endstream")
    regions.append((start, len(pdf)))
    return [(begin, end) for begin, end in regions if end > begin]


def mutants(pdf: bytes, count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """Truncations, bit flips anywhere, and bit flips and PDF tokens in the object syntax
    (where a flip breaks the parser rather than only the signature)."""
    rng, regions = random.Random(seed), syntax_regions(pdf)
    tokens = b"0123456789[]<>()/ \nRobj"
    for n in range(count):
        mutant, kind = bytearray(pdf), n % 4
        if kind == 0:
            at = rng.randrange(len(pdf))
            yield f"truncated at {at}", bytes(mutant[:at])
            continue
        if kind == 1:
            at = rng.randrange(len(pdf))
        else:
            begin, end = rng.choice(regions)
            at = rng.randrange(begin, end)
        if kind == 3:
            mutant[at] = rng.choice(tokens)
        else:
            mutant[at] ^= 1 << rng.randrange(8)
        yield f"byte {at} changed", bytes(mutant)


def test_hundreds_of_mutants_of_a_real_report_each_get_a_clear_verdict(
    people, report_pdf, client, tmp_path
):
    sign_in(client, "olga")
    assert page_verdict(upload(client, report_pdf)) == VALID
    path = tmp_path / "mutant.pdf"
    seen: dict[str, int] = {}
    slowest = 0.0
    for what, mutant in mutants(report_pdf, count=320, seed=20260331):
        started = time.monotonic()
        on_page = page_verdict(upload(client, mutant))
        path.write_bytes(mutant)
        by_command = command_verdict(path)
        slowest = max(slowest, time.monotonic() - started)
        assert (on_page == VALID) == (by_command == "valid"), what
        seen[on_page] = seen.get(on_page, 0) + 1
    assert slowest < 5, f"the slowest mutant took {slowest:.1f} s"
    assert seen.get(NOT_VALID, 0) > 100  # most mutants break the signature ...
    assert seen.get(UNREADABLE, 0) > 0  # ... some break the file itself
    # Every verification gave its slot back.
    assert all(report_pages.VERIFYING.acquire(blocking=False) for _ in range(2))
    for _ in range(report_pages.CONCURRENT_VERIFICATIONS):
        report_pages.VERIFYING.release()


# --- Request size, file count, concurrency -----------------------------------------------------


def test_several_files_over_the_limit_together_are_refused_before_reading(people, client):
    sign_in(client, "olga")
    # Three files of 8 MiB: each under the 20 MiB limit, 24 MiB together.
    files = [
        SimpleUploadedFile(f"part-{n}.pdf", b"%PDF-1.7\n" + bytes(8 * MiB), "application/pdf")
        for n in range(3)
    ]
    response = client.post(VERIFY, {"pdf": files})
    assert response.status_code == 413
    assert "larger than 20 MiB" in response.text


def test_a_declared_body_over_the_limit_is_refused_without_reading_it(people, client):
    sign_in(client, "olga")
    # The body says 90 MiB are coming; reading any of what is not there would fail loudly.
    response = client.generic(
        "POST",
        VERIFY,
        b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(90 * MiB),
    )
    assert response.status_code == 413
    assert "larger than 20 MiB" in response.text


def test_two_files_in_one_request_are_refused(people, report_pdf, client):
    sign_in(client, "olga")
    response = client.post(
        VERIFY,
        {
            "pdf": SimpleUploadedFile("report.pdf", report_pdf, "application/pdf"),
            "again": SimpleUploadedFile("again.pdf", report_pdf, "application/pdf"),
        },
    )
    assert response.status_code == 422
    assert "Upload one report at a time" in response.text
    assert VALID not in response.text


def test_when_every_verification_slot_is_taken_the_page_answers_503_and_when_to_retry(
    people, report_pdf, client
):
    sign_in(client, "olga")
    taken = [
        report_pages.VERIFYING.acquire(blocking=False)
        for _ in range(report_pages.CONCURRENT_VERIFICATIONS)
    ]
    try:
        assert all(taken)
        busy = upload(client, report_pdf)
    finally:
        for _ in taken:
            report_pages.VERIFYING.release()
    assert busy.status_code == 503
    assert busy["Retry-After"] == str(report_pages.RETRY_AFTER_SECONDS)
    assert "Other reports are being verified right now" in busy.text
    assert page_verdict(upload(client, report_pdf)) == VALID
