"""Registry state as a function of ledger entries.

Every registry table is a projection of the ledger: `project(fact, store)` applies one
entry. The services apply each entry they append to the database tables (`DbStore`), in
the same transaction; `replay_ledger` applies all entries to a `MemoryStore` and compares.
One function for both, so what is written live is what replay rebuilds.

Pure code (no Django). Rows are dicts of column values keyed by natural keys (slugs,
subjects, ledger seqs), so replay never needs the database's surrogate ids.
"""

from datetime import date, datetime

from auditreg.facts.kernel import (
    Applier,
    Fact,
    Projection,
    ProjectionError,
    Row,
    Store,
    dispatch,
    require,
)
from auditreg.registry.domain import AuthorizationStatus, Stage, binding_holds

# Each table's natural key, in dependency order (a table refers only to those above it).
KEYS: dict[str, tuple[str, ...]] = {
    "policy": ("risk_tier",),
    "model": ("slug",),
    "version": ("subject",),
    "stage_period": ("seq",),
    "use_case": ("slug",),
    "authorization": ("subject",),
    "signature": ("seq",),
    "signing_failure": ("seq",),
    "threshold": ("model_id", "metric", "segment"),
    "monitoring": ("seq",),
    "review_period": ("seq",),
}


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# --- Policies -----------------------------------------------------------------------


def _policy_set(fact: Fact, store: Store) -> None:
    p = fact.payload
    row = {
        "risk_tier": p["risk_tier"],
        "approval": p["approval"],
        "authorization": p["authorization"],
        "review_months": p["review_months"],
        "set_by": fact.actor,
        "set_at": fact.time,
        "set_seq": fact.seq,
    }
    if store.get("policy", {"risk_tier": p["risk_tier"]}) is None:
        store.insert("policy", row)
    else:
        store.update("policy", {"risk_tier": p["risk_tier"]}, row)


# --- Models and versions -----------------------------------------------------------------------

MODEL_FIELDS = ("name", "owner", "description", "intended_purpose", "limitations", "domain")


def _model_registered(fact: Fact, store: Store) -> None:
    p = fact.payload
    store.insert(
        "model",
        {
            "slug": p["slug"],
            **{field: p[field] for field in MODEL_FIELDS},
            "risk_tier": p["risk_tier"],
            "registered_by": fact.actor,
            "registered_at": fact.time,
            "registered_seq": fact.seq,
            "updated_seq": fact.seq,
        },
    )


def _model_corrected(fact: Fact, store: Store) -> None:
    key = {"slug": fact.subject.removeprefix("model:")}
    require(store, "model", key, fact)
    changes = fact.payload["changes"]
    if not set(changes) <= {*MODEL_FIELDS, "risk_tier"}:
        raise ProjectionError(fact.seq, f"model.corrected changes {sorted(changes)}")
    store.update("model", key, {**changes, "updated_seq": fact.seq})


def _version_registered(fact: Fact, store: Store) -> None:
    p = fact.payload
    require(store, "model", {"slug": p["model"]}, fact)
    store.insert(
        "version",
        {
            "subject": fact.subject,
            "model_id": p["model"],
            "number": p["number"],
            "package": p["package"],
            "package_digest": p["package_digest"],
            "artifact_digest": p["package"]["artifact"]["digest"],
            "stage": Stage.DEVELOPMENT.value,
            "stage_seq": fact.seq,
            "review_required": False,
            "review_seq": None,
            "registered_by": fact.actor,
            "registered_at": fact.time,
            "registered_seq": fact.seq,
            "updated_seq": fact.seq,
        },
    )
    _start_period(fact, Stage.DEVELOPMENT.value, store, reason="registered")


def _version_corrected(fact: Fact, store: Store) -> None:
    require(store, "version", {"subject": fact.subject}, fact)
    p = fact.payload
    store.update(
        "version",
        {"subject": fact.subject},
        {
            "package": p["package"],
            "package_digest": p["package_digest"],
            "artifact_digest": p["package"]["artifact"]["digest"],
            "updated_seq": fact.seq,
        },
    )


def _stage_changed(fact: Fact, store: Store) -> None:
    version = require(store, "version", {"subject": fact.subject}, fact)
    p = fact.payload
    if version["stage"] != p["from"]:
        raise ProjectionError(
            fact.seq, f"stage change from {p['from']} but {fact.subject} is {version['stage']}"
        )
    store.update("stage_period", {"seq": version["stage_seq"]}, {"ended_at": fact.time})
    _start_period(fact, p["to"], store, reason=p["reason"])
    store.update(
        "version",
        {"subject": fact.subject},
        {"stage": p["to"], "stage_seq": fact.seq, "updated_seq": fact.seq},
    )


def _start_period(fact: Fact, stage: str, store: Store, *, reason: str) -> None:
    store.insert(
        "stage_period",
        {
            "seq": fact.seq,
            "version_id": fact.subject,
            "stage": stage,
            "started_at": fact.time,
            "ended_at": None,
            "changed_by": fact.actor,
            "reason": reason,
        },
    )


# --- Signatures --------------------------------------------------------------------------------


def _signature_signed(fact: Fact, store: Store) -> list[str]:
    p = fact.payload
    if fact.subject.startswith("authorization:"):
        record = require(store, "authorization", {"subject": fact.subject}, fact)
        facts, version, authorization = record["facts_digest"], None, fact.subject
    else:
        record = require(store, "version", {"subject": fact.subject}, fact)
        facts, version, authorization = record["package_digest"], fact.subject, None
    valid = binding_holds(
        content=p["content"], content_sha256=p["content_sha256"], record=fact.subject, facts=facts
    )
    store.insert(
        "signature",
        {
            "seq": fact.seq,
            "subject": fact.subject,
            "version_id": version,
            "authorization_id": authorization,
            "signer": fact.actor,
            "username": p["username"],
            "printed_name": p["printed_name"],
            "role": p["role"],
            "meaning": p["meaning"],
            "comment": p["comment"],
            "signed_at": datetime.fromisoformat(p["signed_at"]),
            "time_zone": p["time_zone"],
            "recorded_at": fact.time,
            "content": p["content"],
            "content_sha256": p["content_sha256"],
            "binding_valid": valid,
        },
    )
    if valid:
        return []
    return [
        f"entry {fact.seq}: the signature of {p['printed_name']} on {fact.subject} is bound to "
        "other content than this record's facts; it is recorded but counts for nothing"
    ]


def _signature_failed(fact: Fact, store: Store) -> None:
    p = fact.payload
    store.insert(
        "signing_failure",
        {
            "seq": fact.seq,
            "subject": fact.subject,
            "signer": fact.actor,
            "meaning": p["meaning"],
            "reason": p["reason"],
            "attempted_at": fact.time,
        },
    )


# --- Use cases and authorizations --------------------------------------------------------------


def _use_case_created(fact: Fact, store: Store) -> None:
    p = fact.payload
    require(store, "model", {"slug": p["model"]}, fact)
    store.insert(
        "use_case",
        {
            "slug": p["slug"],
            "title": p["title"],
            "description": p["description"],
            "population": p["population"],
            "model_id": p["model"],
            "created_by": fact.actor,
            "created_at": fact.time,
            "created_seq": fact.seq,
        },
    )


def _authorization_proposed(fact: Fact, store: Store) -> None:
    p = fact.payload
    require(store, "version", {"subject": p["version"]}, fact)
    store.insert(
        "authorization",
        {
            "subject": fact.subject,
            "use_case_id": p["use_case"],
            "number": p["number"],
            "version_id": p["version"],
            "fallback_id": p["fallback"],
            "conditions": p["conditions"],
            "effective_on": _date(p["effective_on"]),
            "expires_on": _date(p["expires_on"]),
            "effective_from": _time(p["effective_from"]),
            "expires_at": _time(p["expires_at"]),
            "facts_digest": p["facts_digest"],
            "status": AuthorizationStatus.PROPOSED.value,
            "proposed_by": fact.actor,
            "proposed_at": fact.time,
            "proposed_seq": fact.seq,
            "activated_at": None,
            "rejected_at": None,
            "revoked_at": None,
            "revoked_by": "",
            "revocation_reason": "",
            "updated_seq": fact.seq,
        },
    )


def _authorization_decided(fact: Fact, store: Store) -> None:
    record = require(store, "authorization", {"subject": fact.subject}, fact)
    outcome = fact.kind.removeprefix("authorization.")
    expected = AuthorizationStatus.ACTIVE if outcome == "revoked" else AuthorizationStatus.PROPOSED
    if record["status"] != expected:
        raise ProjectionError(fact.seq, f"{fact.subject} is {record['status']}, not {expected}")
    status = AuthorizationStatus.ACTIVE if outcome == "activated" else AuthorizationStatus(outcome)
    changes: Row = {"status": status.value, f"{outcome}_at": fact.time, "updated_seq": fact.seq}
    if outcome == "revoked":
        changes |= {"revoked_by": fact.actor, "revocation_reason": fact.payload["reason"]}
    store.update("authorization", {"subject": fact.subject}, changes)


# --- Monitoring --------------------------------------------------------------------------------


def _threshold_set(fact: Fact, store: Store) -> None:
    p = fact.payload
    key = {"model_id": fact.subject.removeprefix("model:"), "metric": p["metric"]}
    key["segment"] = p["segment"]
    require(store, "model", {"slug": key["model_id"]}, fact)
    row = {**key, "lower": p["lower"], "upper": p["upper"], "set_by": fact.actor}
    row["set_seq"] = fact.seq
    if store.get("threshold", key) is None:
        store.insert("threshold", row)
    else:
        store.update("threshold", key, row)


def _monitoring_recorded(fact: Fact, store: Store) -> None:
    version = require(store, "version", {"subject": fact.subject}, fact)
    p = fact.payload
    store.insert(
        "monitoring",
        {
            "seq": fact.seq,
            "version_id": fact.subject,
            "metric": p["metric"],
            "value": p["value"],
            "segment": p["segment"],
            "window_start": _date(p["window_start"]),
            "window_end": _date(p["window_end"]),
            "breach": p["breach"],
            "threshold": p["threshold"],
            "recorded_by": fact.actor,
            "recorded_at": fact.time,
        },
    )
    if p["breach"] and not version["review_required"]:
        store.insert(
            "review_period",
            {
                "seq": fact.seq,
                "version_id": fact.subject,
                "started_at": fact.time,
                "ended_at": None,
                "cleared_seq": None,
            },
        )
        store.update(
            "version",
            {"subject": fact.subject},
            {"review_required": True, "review_seq": fact.seq, "updated_seq": fact.seq},
        )


def _review_cleared(fact: Fact, store: Store) -> None:
    version = require(store, "version", {"subject": fact.subject}, fact)
    if not version["review_required"]:
        raise ProjectionError(fact.seq, f"{fact.subject} has no review outstanding")
    store.update(
        "review_period",
        {"seq": version["review_seq"]},
        {"ended_at": fact.time, "cleared_seq": fact.seq},
    )
    store.update(
        "version",
        {"subject": fact.subject},
        {"review_required": False, "review_seq": None, "updated_seq": fact.seq},
    )


def _history_only(fact: Fact, store: Store) -> None:
    """Recorded for the history; the stage changes it caused are entries of their own."""


APPLY: dict[str, Applier] = {
    "policy.set": _policy_set,
    "model.registered": _model_registered,
    "model.corrected": _model_corrected,
    "version.registered": _version_registered,
    "version.corrected": _version_corrected,
    "stage.changed": _stage_changed,
    "signature.signed": _signature_signed,
    "signature.failed": _signature_failed,
    "usecase.created": _use_case_created,
    "usecase.rolled_back": _history_only,
    "changes.requested": _history_only,
    "authorization.proposed": _authorization_proposed,
    "authorization.activated": _authorization_decided,
    "authorization.rejected": _authorization_decided,
    "authorization.revoked": _authorization_decided,
    "threshold.set": _threshold_set,
    "monitoring.recorded": _monitoring_recorded,
    "review.cleared": _review_cleared,
}


PROJECTION = Projection(
    name="registry",
    keys=KEYS,
    tables="auditreg.registry.models.TABLES",
    apply=dispatch(APPLY),
    kinds=frozenset(APPLY),
)
