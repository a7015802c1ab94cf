"""The `auditreg` command: report a training job's facts, verify the ledger.

    auditreg push run-manifest.json             # AUDITREG_URL, AUDITREG_TOKEN
    auditreg verify --key ledger.vkey           # the server's ledger, online
    auditreg verify ledger-export.jsonl         # an export, offline
    auditreg verify report.pdf --trust ca.pem   # a signed report, offline (--url: and online)

Exit status: 0 done, 1 the API refused a push or the ledger or report is not intact, 2 could
not run (bad arguments or manifest, no answer from the server).
"""

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from auditreg.client.client import Client
from auditreg.client.http import Answer, ApiError
from auditreg.client.online import ClientLedger, verify_online
from auditreg.proofs import export as offline
from auditreg.proofs.note import NoteError, VerifierKey, key_text

MANIFEST_EXAMPLE = """\
A manifest is a JSON object; every key is optional:

  {
    "model":      {"slug": "credit-pd", "name": …, "owner": …, "domain": …,
                   "risk_tier": "high", "intended_purpose": …, "limitations": …},
    "datasets":   [{"name": "loans", "uri": "s3://data/loans"}],
    "snapshots":  [{"dataset": "loans", "label": "2026-03", "digest": "sha256:…"}],
    "run":        {"id": "nightly-2026-03-31", "status": "completed",
                   "inputs": ["dataset:loans@2026-03"], "metrics": {"auc": "0.84"}},
    "version":    {"model": "credit-pd", "package": {…}},
    "monitoring": [{"metric": "psi", "value": "0.08", "window_start": "2026-03-01",
                    "window_end": "2026-03-31"}]
  }

Each object is the body of the API call that records it (docs/api.md). A monitoring figure
is for the version just pushed unless it names its own "model" and "version" (number).
One line is printed per fact: "created" or "already recorded".
"""
MANIFEST_KEYS = frozenset({"model", "datasets", "snapshots", "run", "version", "monitoring"})


class Unusable(Exception):
    """The command cannot run as asked (exit 2); the message says why."""


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except Unusable as exc:
        print(f"auditreg: {exc}", file=sys.stderr)
        return 2


def parser() -> argparse.ArgumentParser:
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--url", help="the auditreg site (default: $AUDITREG_URL)")
    server.add_argument("--token", help="an API token (default: $AUDITREG_TOKEN)")
    top = argparse.ArgumentParser(
        prog="auditreg", description="Report ML training facts to auditreg; verify its ledger."
    )
    commands = top.add_subparsers(required=True, metavar="COMMAND")
    push = commands.add_parser(
        "push",
        parents=[server],
        help="record the facts of a manifest",
        description="Record a manifest's model, datasets, snapshots, run, version and "
        "monitoring figures, in that dependency order. Safe to re-run: facts already recorded "
        "are recorded once.",
        epilog=MANIFEST_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    push.add_argument("manifest", type=Path, help="a JSON manifest")
    push.set_defaults(command=push_command)
    verify = commands.add_parser(
        "verify",
        parents=[server],
        help="verify the ledger online, an export, or a signed report",
        description="With no file: check the server's latest signed checkpoint, every "
        "entry's hash and its inclusion proof. With a file: verify it offline (a ledger "
        "export, .jsonl; a signed report, .pdf: its signature and evidence, and with --url "
        "that the ledger today still holds the report's checkpoint).",
    )
    verify.add_argument(
        "file", nargs="?", type=Path, help="a ledger export (.jsonl) or a signed report (.pdf)"
    )
    verify.add_argument(
        "--trust",
        action="append",
        default=[],
        type=Path,
        metavar="CA.pem",
        help="the CA certificate a report's signer must chain to; repeat for more",
    )
    verify.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="VKEY",
        help="trusted verifier key, or a file holding it; repeat for retired keys "
        "(default: $AUDITREG_VERIFIER_KEY)",
    )
    verify.add_argument("--subject", help="only the entries of this subject (online)")
    verify.set_defaults(command=verify_command)
    return top


# --- push ----------------------------------------------------------------------------------


def push_command(args: argparse.Namespace) -> int:
    manifest = _read_manifest(args.manifest)
    client = _client(args)
    try:
        for subject, answer in push(client, manifest):
            print(f"{'created' if answer.created else 'already recorded':<16} {subject}")
    except ApiError as exc:
        if exc.status == 0:
            raise Unusable(exc.detail) from None
        print(f"auditreg: the API refused the push: {exc}", file=sys.stderr)
        return 1
    return 0


def push(client: Client, manifest: Mapping[str, Any]) -> Iterator[tuple[str, Answer]]:
    """Record a manifest's facts, each after those it refers to; yield (subject, answer)."""
    if "model" in manifest:
        answer = _call(client.register_model, manifest["model"])
        yield _subject(answer.body, f"model:{manifest['model'].get('slug')}"), answer
    for dataset in manifest.get("datasets", []):
        answer = _call(client.record_dataset, dataset)
        yield _subject(answer.body, f"dataset:{dataset.get('name')}"), answer
    for snapshot in manifest.get("snapshots", []):
        answer = _call(client.record_snapshot, snapshot)
        fallback = f"dataset:{snapshot.get('dataset')}@{snapshot.get('label')}"
        yield _subject(answer.body, fallback), answer
    if "run" in manifest:
        answer = client.record_run(manifest["run"])
        yield _subject(answer.body, f"run:{manifest['run'].get('id')}"), answer
    version: tuple[str, int] | None = None
    if "version" in manifest:
        slug = manifest["version"]["model"]
        answer = client.register_version(slug, manifest["version"]["package"])
        version = (slug, _version_number(answer.body))
        yield _subject(answer.body, f"model:{slug}/{version[1]}"), answer
    for figure in manifest.get("monitoring", []):
        slug, number = _monitored(figure, version)
        fields = {name: value for name, value in figure.items() if name not in ("model", "version")}
        answer = _call(client.record_monitoring, fields, slug, number)
        yield f"model:{slug}/{number} {figure.get('metric')}", answer


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise Unusable(f"cannot read the manifest {path}: {exc}") from None
    if not isinstance(manifest, dict):
        raise Unusable(f"the manifest {path} must be a JSON object")
    unknown = sorted(set(manifest) - MANIFEST_KEYS)
    if unknown:
        raise Unusable(
            f"the manifest {path} has unknown keys {', '.join(unknown)}; "
            f"expected some of {', '.join(sorted(MANIFEST_KEYS))}"
        )
    for key in ("model", "run", "version"):
        if not isinstance(manifest.get(key, {}), dict):
            raise Unusable(f"the manifest's {key!r} must be a JSON object")
    for key in ("datasets", "snapshots", "monitoring"):
        items = manifest.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise Unusable(f"the manifest's {key!r} must be a list of JSON objects")
    version = manifest.get("version", {"model": "", "package": {}})
    if not isinstance(version.get("model"), str) or not isinstance(version.get("package"), dict):
        raise Unusable("the manifest's 'version' needs 'model' (a slug) and 'package' (an object)")
    return manifest


def _call(method: Callable[..., Answer], fields: object, *args: object) -> Answer:
    """A client method with a manifest object's fields as its keyword arguments."""
    if not isinstance(fields, dict):
        raise Unusable(f"{method.__name__}: expected a JSON object, not {fields!r}")
    try:
        return method(*args, **fields)
    except TypeError as exc:  # a missing or unknown field
        raise Unusable(f"manifest: {exc}") from None


def _subject(body: object, fallback: str) -> str:
    subject = body.get("subject") if isinstance(body, dict) else None
    return subject if isinstance(subject, str) else fallback


def _version_number(body: object) -> int:
    if isinstance(body, dict):
        if isinstance(body.get("number"), int):
            return int(body["number"])
        subject = str(body.get("subject", ""))
        if subject.rpartition("/")[2].isdigit():
            return int(subject.rpartition("/")[2])
    raise ApiError(0, f"the version's answer has no number: {body!r}")


def _monitored(figure: Mapping[str, Any], version: tuple[str, int] | None) -> tuple[str, int]:
    """Which version a monitoring figure is for: its own `model` and `version` (number), or
    the version the manifest just registered."""
    slug, number = figure.get("model"), figure.get("version")
    if isinstance(slug, str) and isinstance(number, int):
        return slug, number
    if version is None or slug is not None or number is not None:
        raise Unusable(
            "a monitoring figure needs 'model' (a slug) and 'version' (a number), "
            "unless the manifest pushes the version"
        )
    return version


# --- verify --------------------------------------------------------------------------------


def verify_command(args: argparse.Namespace) -> int:
    keys = _key_texts(args.key or _env_keys())
    if args.file is not None:
        if args.subject:
            raise Unusable("--subject applies to the online check, not to a file")
        return verify_file(args.file, keys, args)
    return _verify_server(_client(args), [_parse_key(text) for text in keys], args.subject)


def verify_file(path: Path, keys: list[str], args: argparse.Namespace) -> int:
    """Verify a file offline, by its kind (the suffix of its name)."""
    verifier = FILE_VERIFIERS.get(path.suffix.lower())
    if verifier is None:
        kinds = ", ".join(f"{suffix} ({what})" for suffix, (what, _) in FILE_VERIFIERS.items())
        raise Unusable(f"cannot verify {path}: expected one of {kinds}")
    return verifier[1](path, keys, args)


def _verify_export(path: Path, keys: list[str], args: argparse.Namespace) -> int:
    return offline.main([str(path), *(f"--key={key}" for key in keys)])


def _verify_report(path: Path, keys: list[str], args: argparse.Namespace) -> int:
    try:
        from auditreg.proofs import pdf as pdfverify  # needs pyHanko
    except ImportError as exc:
        raise Unusable(
            f"verifying a PDF report needs pyHanko (pip install pyHanko): {exc}"
        ) from None
    roots = []
    for ca in args.trust:
        try:
            roots += pdfverify.load_certificates(_read(ca))
        except ValueError as exc:
            raise Unusable(f"{ca} is not a certificate file: {exc}") from None
    online = args.url or os.environ.get("AUDITREG_URL")
    verdict = pdfverify.verify_pdf(
        _read(path),
        trust_roots=roots or None,
        keys=[_parse_key(text) for text in keys] or None,
        ledger=ClientLedger(_client(args)) if online else None,
    )
    if verdict.ok:
        print(verdict.summary())
        return 0
    print(verdict.failures())
    return 1


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise Unusable(f"cannot read {path}: {exc}") from None


FILE_VERIFIERS: dict[str, tuple[str, Callable[[Path, list[str], argparse.Namespace], int]]] = {
    ".jsonl": ("a ledger export", _verify_export),
    ".pdf": ("a signed report", _verify_report),
}


def _verify_server(client: Client, keys: list[VerifierKey], subject: str | None) -> int:
    try:
        report = verify_online(client, keys, subject)
    except ApiError as exc:
        raise Unusable(f"cannot verify: {exc}") from None
    if report.intact:
        print(report.summary())
        return 0
    for failure in report.failures:
        print(f"FAILED {failure}")
    print(f"ledger NOT intact: {len(report.failures)} failures")
    return 1


def _env_keys() -> list[str]:
    value = os.environ.get("AUDITREG_VERIFIER_KEY", "")
    return [value] if value else []


def _key_texts(values: list[str]) -> list[str]:
    """Each --key is the key itself or a file holding it (a `.vkey` file)."""
    texts = []
    for value in values:
        try:
            texts.append(key_text(value))
        except OSError as exc:
            raise Unusable(f"cannot read the key file {value}: {exc}") from None
    return texts


def _parse_key(text: str) -> VerifierKey:
    try:
        return VerifierKey.parse(text)
    except NoteError as exc:
        raise Unusable(f"{text!r} is not a verifier key: {exc}") from None


def _client(args: argparse.Namespace) -> Client:
    try:
        return Client(args.url, args.token)
    except ValueError as exc:
        raise Unusable(str(exc)) from None
