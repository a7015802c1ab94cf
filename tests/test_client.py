"""The Python client and the `auditreg` command against a live server: a job reports its
facts, retries safely, re-runs record nothing new, and `auditreg verify` catches tampering."""

import hashlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from django.core.management import call_command

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Scope
from auditreg.client import ApiError, Client, directory_digest, file_digest
from auditreg.client.cli import main
from auditreg.client.http import idempotency_key
from auditreg.ledger.export import export_ledger
from auditreg.ledger.models import Entry
from auditreg.proofs import merkle
from auditreg.registry.domain import Stage
from tests.conftest import append_many, lift_append_only, raw
from tests.factories import approve, deploy, make_model, make_package, make_version
from tests.proxy import FlakyProxy

# --- A live server, a token, a flaky proxy -------------------------------------------------


@pytest.fixture
def token(people) -> str:
    _, token = accounts.issue_token(
        principal=people.trainer, name="nightly", scopes=[Scope.INGEST, Scope.READ], by=people.ada
    )
    return token


@pytest.fixture
def api(live_server, token) -> Client:
    return Client(live_server.url, token, backoff=0.01)


@pytest.fixture
def vkey(keys_dir: Path) -> Path:
    return next(keys_dir.glob("*.vkey"))


def signed_checkpoint() -> None:
    call_command("checkpoint", stdout=io.StringIO())


@pytest.fixture
def flaky(live_server) -> Iterator[Any]:
    proxies: list[FlakyProxy] = []

    def make(method: str, failures: int = 1, lose_answers: bool = False) -> FlakyProxy:
        proxies.append(FlakyProxy(live_server.url, method, failures, lose_answers))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


# --- Reads, retries, errors ----------------------------------------------------------------


def test_entries_follow_every_cursor_page(api):
    append_many(25)
    seqs = [entry["seq"] for entry in api.pages("ledger/entries", {"limit": 7})]
    assert seqs == list(range(Entry.objects.count()))
    subject = [entry["seq"] for entry in api.entries(subject="model:credit-pd/1")]
    assert len(subject) == 25


def test_a_transient_failure_is_retried_with_the_same_answer(flaky, token):
    append_many(3)
    signed_checkpoint()
    proxy = flaky("GET")
    checkpoint = Client(proxy.url, token, backoff=0.01).latest_checkpoint()
    assert checkpoint["tree_size"] == Entry.objects.count()
    assert [method for method, _, _ in proxy.seen] == ["GET", "GET"]


def test_a_client_error_is_not_retried_and_carries_the_problem(flaky, token):
    signed_checkpoint()
    proxy = flaky("none")
    with pytest.raises(ApiError) as caught:
        Client(proxy.url, token).inclusion_proof(10**6)
    assert caught.value.status == 400
    assert "is not in a tree" in caught.value.detail
    assert caught.value.problem["status"] == 400
    assert len(proxy.seen) == 1


def test_a_bad_token_is_401_at_once(live_server, people):
    with pytest.raises(ApiError) as caught:
        Client(live_server.url, "ar_000000000000_nope").latest_checkpoint()
    assert caught.value.status == 401


def test_a_server_that_keeps_failing_gives_up_after_the_retries(flaky, token):
    proxy = flaky("GET", failures=100)
    with pytest.raises(ApiError) as caught:
        Client(proxy.url, token, retries=2, backoff=0.01).latest_checkpoint()
    assert caught.value.status == 503
    assert caught.value.detail == "restarting"
    assert len(proxy.seen) == 3


def test_no_answer_at_all_is_an_api_error_with_status_0():
    with pytest.raises(ApiError) as caught:
        Client("http://127.0.0.1:9", "t", retries=1, backoff=0.01).latest_checkpoint()
    assert caught.value.status == 0
    assert "no answer from http://127.0.0.1:9/api/v1/checkpoints/latest" in caught.value.detail


# --- Idempotency keys and digests ----------------------------------------------------------


def test_the_idempotency_key_depends_on_the_content_not_on_key_order():
    one = idempotency_key("POST", "runs", {"id": "r1", "status": "completed"})
    assert one == idempotency_key("post", "runs", {"status": "completed", "id": "r1"})
    assert one != idempotency_key("POST", "runs", {"id": "r1", "status": "failed"})
    assert one != idempotency_key("POST", "datasets", {"id": "r1", "status": "completed"})
    assert one.startswith("sha256:") and len(one) == 71


def test_file_digest_is_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "loans.csv"
    path.write_bytes(b"id,amount\n" * 300_000)  # several chunks
    assert file_digest(path) == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_directory_digest_is_the_canonical_listing_of_its_files(tmp_path):
    folder = tmp_path / "model"
    (folder / "b").mkdir(parents=True)
    (folder / "b" / "weights.bin").write_bytes(b"\x00\x01")
    (folder / "a.json").write_text("{}")
    (folder / "empty").mkdir()
    listing = [
        {"path": "a.json", "sha256": hashlib.sha256(b"{}").hexdigest()},
        {"path": "b/weights.bin", "sha256": hashlib.sha256(b"\x00\x01").hexdigest()},
    ]
    expected = "sha256:" + hashlib.sha256(rfc8785.dumps(listing)).hexdigest()
    assert directory_digest(folder) == expected
    (folder / "b" / "weights.bin").write_bytes(b"\x00\x02")
    assert directory_digest(folder) != expected


# --- auditreg verify -----------------------------------------------------------------------


def verify(*args: str) -> int:
    return main(["verify", *args])


def test_verify_passes_on_an_intact_ledger(live_server, token, vkey, capsys):
    append_many(12)
    signed_checkpoint()
    append_many(2, subject="model:credit-pd/2")  # after the checkpoint
    assert verify("--url", live_server.url, "--token", token, "--key", str(vkey)) == 0
    out = capsys.readouterr().out
    size = Entry.objects.count() - 2
    assert out.startswith(f"ledger intact: checkpoint auditreg.test/ledger at tree size {size}")
    assert f"{size} entries proved in it; 2 recorded since" in out


def test_verify_of_one_subject_proves_only_its_entries(live_server, token, vkey, capsys):
    append_many(5)
    append_many(3, subject="model:credit-pd/2")
    signed_checkpoint()
    args = ["--url", live_server.url, "--token", token, "--key", vkey.read_text().strip()]
    assert verify(*args, "--subject", "model:credit-pd/2") == 0
    assert "3 entries proved in it" in capsys.readouterr().out


def forge(entry: Entry, *, rehash: bool) -> None:
    """Rewrite an entry's bytes; with `rehash`, its stored hash too."""
    lift_append_only()
    forged = bytes(entry.body).replace(b'"entry 5"', b'"entry 6"')
    assert forged != bytes(entry.body)
    if rehash:
        sql, params = "body = %s, hash = %s", [forged, merkle.leaf_hash(forged)]
    else:
        sql, params = "body = %s", [forged]
    raw(f"UPDATE ledger_entry SET {sql} WHERE seq = %s", [*params, entry.seq])


def test_verify_names_a_rewritten_entry_and_fails(live_server, token, vkey, capsys):
    entries = append_many(12)
    signed_checkpoint()
    forge(entries[5], rehash=False)
    seq = entries[5].seq
    assert verify("--url", live_server.url, "--token", token, "--key", str(vkey)) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"FAILED seq {seq}: hash mismatch: served {entries[5].hash_hex}, bytes give "
        + merkle.leaf_hash(bytes(Entry.objects.get(seq=seq).body)).hex(),
        f"FAILED hash chain: seq {seq}: hash mismatch: stored {entries[5].hash_hex}, computed "
        + merkle.leaf_hash(bytes(Entry.objects.get(seq=seq).body)).hex(),
        "ledger NOT intact: 2 failures",
    ]


def test_verify_catches_a_rewritten_entry_whose_hash_was_rewritten_too(
    live_server, token, vkey, capsys
):
    entries = append_many(12)
    signed_checkpoint()
    forge(entries[5], rehash=True)
    seq = entries[5].seq
    server = ["--url", live_server.url, "--token", token, "--key", str(vkey)]
    assert verify(*server) == 1
    assert f"FAILED hash chain: seq {seq + 1}: broken link" in capsys.readouterr().out
    assert verify(*server, "--subject", "model:credit-pd/1") == 1
    out = capsys.readouterr().out
    size = entries[-1].seq + 1
    assert f"FAILED seq {seq}: not in the signed tree of {size} entries" in out
    # Its neighbour's proof is built from the forged hash, so that proof fails as well.
    assert f"FAILED seq {seq - 1}: not in the signed tree of {size} entries" in out
    assert out.endswith("ledger NOT intact: 2 failures\n")


def test_verify_refuses_a_checkpoint_signed_by_another_key(live_server, token, capsys):
    from auditreg.proofs.note import SignerKey

    append_many(3)
    signed_checkpoint()
    stranger = SignerKey.generate("auditreg.test/ledger").verifier().encode()
    assert verify("--url", live_server.url, "--token", token, "--key", stranger) == 1
    assert "the latest checkpoint does not verify" in capsys.readouterr().out


def test_verify_an_export_file_offline(db, vkey, tmp_path, capsys):
    append_many(4)
    signed_checkpoint()
    path = tmp_path / "ledger.jsonl"
    with path.open("wb") as stream:
        export_ledger(stream)
    assert verify(str(path), "--key", str(vkey)) == 0
    assert capsys.readouterr().out.startswith("ledger intact: 4 entries")
    assert verify(str(tmp_path / "report.txt")) == 2
    assert "expected one of .jsonl (a ledger export)" in capsys.readouterr().err


# --- auditreg push -------------------------------------------------------------------------

MODEL = {
    "slug": "credit-pd",
    "name": "Credit PD",
    "owner": "Retail Credit Risk",
    "domain": "credit risk",
    "risk_tier": "high",
    "intended_purpose": "12-month PD for applicants",
    "limitations": "Not for small business",
}


def training_manifest(tmp_path: Path) -> Path:
    """What a nightly training job reports: its data, its run and the version it made."""
    data = tmp_path / "loans.csv"
    data.write_text("id,amount\n1,100\n2,250\n")
    snapshot = {"dataset": "loans", "label": "2026-03", "digest": file_digest(data), "rows": 2}
    run = {
        "id": "credit-pd-nightly-1",
        "status": "completed",
        "started_at": "2026-03-31T01:00:00Z",
        "ended_at": "2026-03-31T02:00:00Z",
        "inputs": ["dataset:loans@2026-03"],
        "metrics": {"auc": "0.84"},
        "authors": ["user:dana"],
    }
    package = make_package(
        1,
        training_run={"id": "run:credit-pd-nightly-1", "authors": ["user:dana"]},
        data=[{"snapshot": "dataset:loans@2026-03", "digest": snapshot["digest"]}],
    )
    manifest = {
        "model": MODEL,
        "datasets": [{"name": "loans", "uri": "s3://data/loans"}],
        "snapshots": [snapshot],
        "run": run,
        "version": {"model": "credit-pd", "package": package},
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


def push(live_server, token: str, manifest: Path) -> int:
    return main(["push", str(manifest), "--url", live_server.url, "--token", token])


def test_push_records_a_training_job_and_a_rerun_records_nothing(
    live_server, token, tmp_path, capsys
):
    manifest = training_manifest(tmp_path)
    assert push(live_server, token, manifest) == 0
    assert capsys.readouterr().out.splitlines() == [
        "created          model:credit-pd",
        "created          dataset:loans",
        "created          dataset:loans@2026-03",
        "created          run:credit-pd-nightly-1",
        "created          model:credit-pd/1",
    ]
    recorded = Entry.objects.count()
    assert push(live_server, token, manifest) == 0
    assert capsys.readouterr().out.splitlines() == [
        "already recorded model:credit-pd",
        "already recorded dataset:loans",
        "already recorded dataset:loans@2026-03",
        "already recorded run:credit-pd-nightly-1",
        "already recorded model:credit-pd/1",
    ]
    assert Entry.objects.count() == recorded


def test_monitoring_figures_of_a_version_in_use_are_recorded_once(
    live_server, people, token, tmp_path, capsys
):
    version = make_version(people, make_model(people))
    version = deploy(people, approve(people, version), Stage.SHADOW)
    figure = {"metric": "psi", "value": "0.08", "window_start": "2025-01-01"}
    figures = [{**figure, "window_end": "2025-01-31", "model": "credit-pd", "version": 1}]
    manifest = tmp_path / "monitoring.json"
    manifest.write_text(json.dumps({"monitoring": figures}))
    assert push(live_server, token, manifest) == 0
    assert push(live_server, token, manifest) == 0  # the same key: the first answer again
    assert capsys.readouterr().out.splitlines() == [
        "created          model:credit-pd/1 psi",
        "already recorded model:credit-pd/1 psi",
    ]
    assert version.monitoring.count() == 1


def test_push_stops_at_the_first_refusal_with_the_problem_detail(
    live_server, token, tmp_path, capsys
):
    manifest = tmp_path / "bad.json"
    snapshot = {"dataset": "loans", "label": "2026-03", "digest": "md5:0123"}
    manifest.write_text(json.dumps({"datasets": [{"name": "loans"}], "snapshots": [snapshot]}))
    assert push(live_server, token, manifest) == 1
    out, err = capsys.readouterr()
    assert out == "created          dataset:loans\n"
    assert "the API refused the push: 4" in err
    assert "sha256" in err


def test_a_manifest_with_unknown_keys_is_refused_before_sending(live_server, token, tmp_path):
    manifest = tmp_path / "typo.json"
    manifest.write_text(json.dumps({"dataset": [{"name": "loans"}]}))
    assert push(live_server, token, manifest) == 2
    assert Entry.objects.filter(subject="dataset:loans").count() == 0


def test_a_post_answered_503_is_retried_and_recorded_once(flaky, token):
    proxy = flaky("POST")
    answer = Client(proxy.url, token, backoff=0.01).record_dataset(name="loans")
    assert answer.created
    (_, _, first), (_, _, second) = proxy.seen
    assert first == second and first is not None
    assert Entry.objects.filter(subject="dataset:loans").count() == 1


def test_a_post_whose_answer_was_lost_is_answered_from_the_first(flaky, token):
    proxy = flaky("POST", lose_answers=True)
    answer = Client(proxy.url, token, backoff=0.01).record_dataset(name="loans")
    assert answer.status == 201 and answer.replayed and not answer.created
    assert answer.body["subject"] == "dataset:loans"
    assert len(proxy.seen) == 2
    assert Entry.objects.filter(subject="dataset:loans").count() == 1


def test_a_refused_post_is_not_retried(flaky, token):
    proxy = flaky("none")
    with pytest.raises(ApiError) as caught:
        Client(proxy.url, token).record_snapshot(dataset="loans", label="x", digest="md5:0")
    assert 400 <= caught.value.status < 500
    assert "sha256" in caught.value.detail
    assert len(proxy.seen) == 1


def test_reads_follow_the_lineage_of_a_pushed_job(live_server, token, api, tmp_path, capsys):
    assert push(live_server, token, training_manifest(tmp_path)) == 0
    assert api.model("credit-pd")["subject"] == "model:credit-pd"
    assert [v["subject"] for v in api.versions("credit-pd")] == ["model:credit-pd/1"]
    upstream = json.dumps(api.upstream("model:credit-pd/1"))
    assert "dataset:loans@2026-03" in upstream and "run:credit-pd-nightly-1" in upstream
    assert "model:credit-pd/1" in json.dumps(api.downstream("dataset:loans@2026-03"))


def openlineage_start() -> dict[str, Any]:
    return {
        "eventType": "START",
        "eventTime": "2026-03-31T01:00:00Z",
        "run": {"runId": "0195e7a2-7c1b-7e4a-9d3f-2b8c4d5e6f70"},
        "job": {"namespace": "nightly", "name": "train-credit-pd"},
        "inputs": [],
        "outputs": [],
        "producer": "https://example.com/trainer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def test_an_openlineage_event_gzipped_or_not_is_recorded_once(api):
    first = api.send_openlineage(openlineage_start(), compress=True)
    again = api.send_openlineage(openlineage_start())
    assert first.created and not again.created
    assert Entry.objects.filter(kind="openlineage.event").count() == 1


def test_reads_answer_the_registry_questions(live_server, token, api, tmp_path):
    assert push(live_server, token, training_manifest(tmp_path)) == 0
    package = api.version("credit-pd", 1)["package"]
    retrained = {**package, "metrics": {"auc": "0.86"}}
    assert api.register_version("credit-pd", retrained).body["subject"] == "model:credit-pd/2"
    changes = json.dumps(api.diff("model:credit-pd/1", "model:credit-pd/2"))
    assert "0.84" in changes and "0.86" in changes
    assert [m["slug"] for m in api.models(risk_tier="high")] == ["credit-pd"]
    assert [m["slug"] for m in api.as_of(model="credit-pd")["models"]] == ["credit-pd"]
    assert api.node("dataset:loans@2026-03")["kind"] == "snapshot"
    signed_checkpoint()
    proof = api.consistency_proof(1)
    assert merkle.verify_consistency(
        1,
        proof["second"],
        bytes.fromhex(proof["first_root"]),
        bytes.fromhex(proof["second_root"]),
        [bytes.fromhex(node) for node in proof["proof"]],
    )


# --- Without Django ------------------------------------------------------------------------

NO_DJANGO = """
import runpy, sys

class NoDjango:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("django", "rest_framework"):
            raise ImportError(f"the client imported {name}")

sys.meta_path.insert(0, NoDjango())
from auditreg.client import Client, file_digest
from auditreg.client.cli import main
assert main(["verify", sys.argv[1]]) == 0
sys.argv = ["auditreg", *sys.argv[2:]]
runpy.run_module("auditreg.client", run_name="__main__")
"""


@pytest.mark.slow
@pytest.mark.parametrize("command", [["--help"], ["push", "--help"], ["verify", "--help"]])
def test_the_client_runs_without_django(command, db, tmp_path):
    append_many(2)
    signed_checkpoint()
    export = tmp_path / "ledger.jsonl"
    with export.open("wb") as stream:
        export_ledger(stream)
    done = subprocess.run(
        [sys.executable, "-c", NO_DJANGO, str(export), *command],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: auditreg" in done.stdout
