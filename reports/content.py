"""What a report says, gathered from the registry, the lineage and the ledger.

`gather(kind, subject=…)` reads everything a report template needs into plain data (no
model instances leave this module) and, for each section of the report, the seqs of the
ledger entries the section rests on: the report pipeline turns those into the evidence
bundle (entries and inclusion proofs) attached to the signed PDF, so a reader can check
every statement against the ledger without trusting our server.

Three kinds:

- `model-risk`: a version, for a model validation review (SR 11-7 / SR 26-2,
  OCC 2011-12 / 2026-13);
- `clinical`: a version and a use case, for a clinical validation review (FDA, 21 CFR
  Part 11, predetermined change control plans);
- `audit-extract`: every ledger entry about a subject between two dates.

Queries are bounded: a fixed number per report, whatever the size of the lineage.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.ledger.models import Entry
from auditreg.registry import impact, rules, selectors
from auditreg.registry.domain import Meaning, stored_requirements
from auditreg.registry.models import (
    Authorization,
    ModelVersion,
    MonitoringRecord,
    Policy,
    ReviewPeriod,
    Signature,
    SigningFailure,
    StagePeriod,
    Threshold,
    UseCase,
)
from lineage import queries as lineage
from lineage.models import Edge, Node
from reports import figures
from reports.models import ReportKind

# Authorizations ending within this many days are listed as open issues.
EXPIRY_WARNING_DAYS = 90
VALIDATION_MEANINGS = (Meaning.VALIDATED, Meaning.REJECTED, Meaning.REVIEWED)

MODEL_RISK_OUTLINE = [
    ("identification", "Model identification and inventory"),
    ("development", "Development documentation and lineage"),
    ("validation", "Validation"),
    ("approvals", "Approvals and electronic signatures"),
    ("authorizations", "Use-case authorizations"),
    ("monitoring", "Ongoing monitoring"),
    ("changes", "Change history"),
    ("open_issues", "Open issues"),
]
CLINICAL_OUTLINE = [
    ("intended_use", "Intended use and population"),
    ("datasets", "Validation datasets and provenance"),
    ("performance", "Performance, overall and per subgroup"),
    ("authorization", "Authorized use"),
    ("fallback", "Validated fallback version"),
    ("changes", "Changes since the previous authorized version"),
    ("signatures", "Electronic signatures"),
]
AUDIT_OUTLINE = [("entries", "Ledger entries")]


@dataclass
class ReportContent:
    kind: str
    title: str
    subject: str
    context: dict[str, Any]
    # For each section (slug), the seqs of the ledger entries it rests on.
    sections: dict[str, list[int]] = field(default_factory=dict)


def check_request(
    kind: str,
    *,
    subject: str,
    use_case: str | None = None,
    period: tuple[datetime, datetime] | None = None,
) -> tuple[ModelVersion | None, UseCase | None]:
    """Refuse a report that cannot be produced: the one check, run when a report is
    requested (before anything is recorded) and again when its content is gathered.
    Returns the version and use case it is about (none for an audit extract)."""
    if kind not in ReportKind.values:
        raise DomainError(f"report kind {kind!r} is not one of: {', '.join(ReportKind.values)}")
    if kind == ReportKind.AUDIT_EXTRACT:
        if period is None or not period[0] < period[1]:
            raise DomainError("an audit extract needs a period: a start before its end")
        if period[0].tzinfo is None or period[1].tzinfo is None:
            raise DomainError("the period's dates must carry a time zone")
        if not Entry.objects.filter(_about(subject)).exists():
            raise DomainError(f"the ledger holds no entry about {subject}")
        return None, None
    version = _version(subject)
    if kind != ReportKind.CLINICAL:
        return version, None
    found = UseCase.objects.filter(slug=use_case or "").first()
    if found is None:
        raise DomainError("a clinical validation report needs the use case it validates")
    if found.model_id != version.model_id:
        raise DomainError(f"the use case {found.slug} is not one of {version.model_id}'s")
    return version, found


def gather(
    kind: str,
    *,
    subject: str,
    use_case: str | None = None,
    period: tuple[datetime, datetime] | None = None,
) -> ReportContent:
    """The content of one report (refused as `check_request` refuses). Reads only; anyone
    calling it has checked that the requester may read the registry."""
    version, found = check_request(kind, subject=subject, use_case=use_case, period=period)
    if kind == ReportKind.AUDIT_EXTRACT:
        assert period is not None  # checked
        return _audit_extract(subject, period)
    assert version is not None  # checked
    if found is not None:
        return _clinical(version, found)
    return _model_risk(version)


def _version(subject: str) -> ModelVersion:
    version = ModelVersion.objects.select_related("model").filter(subject=subject).first()
    if version is None:
        raise DomainError(
            f"{subject} is not a registered model version (expected model:<slug>/<number>)"
        )
    return version


# --- Model risk report -------------------------------------------------------------------------


def _model_risk(version: ModelVersion) -> ReportContent:
    model = version.model
    names = _Names()
    signatures = list(Signature.objects.filter(subject=version.subject).order_by("seq"))
    failures = list(SigningFailure.objects.filter(subject=version.subject).order_by("seq"))
    authorizations = list(
        Authorization.objects.filter(Q(version=version) | Q(fallback=version))
        .select_related("use_case")
        .order_by("use_case", "number")
    )
    auth_signatures = _signatures_by_subject({a.subject: a.facts_digest for a in authorizations})
    policy = Policy.objects.filter(risk_tier=model.risk_tier).first()
    graph = _lineage(version.subject)
    monitoring = _monitoring(version)
    history = _history(version)
    # The same builders the signing service keeps from deciding on the version.
    builders = selectors.builders_of(version)
    for actor in [model.registered_by, version.registered_by, *builders]:
        names.want(actor)
    names.want_all(s.signer for s in signatures)
    names.want_all(a.proposed_by for a in authorizations)
    names.want_all(p["changed_by"] for p in history["stages"])
    names.load()

    signature_rows = [_signature_row(s, version.package_digest) for s in signatures]
    validation = [
        {**row, "independent": s.signer not in builders}
        for s, row in zip(signatures, signature_rows, strict=True)
        if s.meaning in VALIDATION_MEANINGS
    ]
    approvals = [
        {**row, "independent": s.signer not in builders}
        for s, row in zip(signatures, signature_rows, strict=True)
        if s.meaning == Meaning.APPROVED
    ]
    auth_rows = [_authorization_row(a, version, auth_signatures, names) for a in authorizations]
    context: dict[str, Any] = {
        "model": _model_row(model, names),
        "version": _version_row(version, names),
        "policy": _policy_row(policy),
        "lineage": graph["context"],
        "signatures": signature_rows,
        "validation": validation,
        "approvals": approvals,
        "builders": [{"actor": b, "name": names[b]} for b in sorted(builders)],
        "failures": [_failure_row(f) for f in failures],
        "authorizations": auth_rows,
        "monitoring": monitoring["context"],
        "history": _named_history(history, names),
        "open_issues": _open_issues(version, auth_rows, graph["context"]),
    }
    auth_seqs = _entries_about([a.subject for a in authorizations])
    auth_seqs += [a.use_case.created_seq for a in authorizations]
    sections = {
        "identification": [
            model.registered_seq,
            model.updated_seq,
            version.registered_seq,
            *([policy.set_seq] if policy else []),
            *history["model_corrections"],
        ],
        "development": [version.registered_seq, *graph["seqs"]],
        "validation": [version.registered_seq, *(row["seq"] for row in validation)],
        "approvals": [
            *(s.seq for s in signatures),
            *(f.seq for f in failures),
            *([policy.set_seq] if policy else []),
        ],
        "authorizations": auth_seqs,
        "monitoring": monitoring["seqs"],
        "changes": history["seqs"],
        "open_issues": [
            version.stage_seq,
            *([version.review_seq] if version.review_seq is not None else []),
            *(a.updated_seq for a in authorizations),
        ],
    }
    title = f"Model risk report: {model.name}, version {version.number}"
    context["outline"] = _outline(MODEL_RISK_OUTLINE)
    return ReportContent("model-risk", title, version.subject, context, _clean(sections))


# --- Clinical validation report ----------------------------------------------------------------


def _clinical(version: ModelVersion, use_case: UseCase) -> ReportContent:
    model = version.model
    names = _Names()
    graph = _lineage(version.subject)
    monitoring = _monitoring(version)
    history = _history(version)
    authorizations = list(
        Authorization.objects.filter(use_case=use_case)
        .select_related("use_case")
        .order_by("number")
    )
    mine = [a for a in authorizations if a.version_id == version.subject]
    fallback_subject = next((a.fallback_id for a in reversed(mine) if a.fallback_id), None)
    fallback = (
        ModelVersion.objects.filter(subject=fallback_subject).first() if fallback_subject else None
    )
    previous = _previous_authorized(version, authorizations)
    changes = impact.diff(previous.subject, version.subject) if previous else None
    related = [version.subject] + ([fallback.subject] if fallback else [])
    signatures = list(Signature.objects.filter(subject__in=related).order_by("seq"))
    by_version: dict[str, list[Signature]] = defaultdict(list)
    for s in signatures:
        by_version[s.subject].append(s)
    auth_signatures = _signatures_by_subject({a.subject: a.facts_digest for a in authorizations})
    names.want_all([model.registered_by, version.registered_by, use_case.created_by])
    names.want_all(s.signer for s in signatures)
    names.want_all(a.proposed_by for a in authorizations)
    names.want_all(p["changed_by"] for p in history["stages"])
    names.load()

    fallback_auths = [a for a in authorizations if fallback and a.version_id == fallback.subject]
    datasets = [n for n in graph["context"]["nodes"] if n["kind"] == "snapshot"]
    context: dict[str, Any] = {
        "model": _model_row(model, names),
        "version": _version_row(version, names),
        "use_case": {
            "slug": use_case.slug,
            "title": use_case.title,
            "description": use_case.description,
            "population": use_case.population,
            "created_by": names[use_case.created_by],
            "created_at": _utc(use_case.created_at),
        },
        "lineage": graph["context"],
        "datasets": datasets,
        "provenance": _provenance(graph["context"]),
        "metrics": _pairs(version.package["metrics"]),
        "monitoring": monitoring["context"],
        "authorizations": [_authorization_row(a, version, auth_signatures, names) for a in mine],
        "fallback": None
        if fallback is None
        else {
            "subject": fallback.subject,
            "stage": fallback.stage,
            "artifact_digest": fallback.artifact_digest,
            "package_digest": fallback.package_digest,
            "review_required": fallback.review_required,
            "signatures": [
                _signature_row(s, fallback.package_digest) for s in by_version[fallback.subject]
            ],
            "authorizations": [
                _authorization_row(a, fallback, auth_signatures, names) for a in fallback_auths
            ],
        },
        "previous": None if previous is None else previous.subject,
        "diff": None if changes is None else _diff_rows(changes),
        "history": _named_history(history, names),
        "signatures": [
            _signature_row(s, version.package_digest) for s in by_version[version.subject]
        ],
    }
    auth_seqs = _entries_about([a.subject for a in mine])
    fallback_seqs = [] if fallback is None else [fallback.registered_seq, fallback.stage_seq]
    fallback_seqs += [s.seq for s in by_version[fallback.subject]] if fallback else []
    fallback_seqs += _entries_about([a.subject for a in fallback_auths])
    dataset_seqs = [s for n in graph["context"]["nodes"] for s in n["seqs"]]
    sections = {
        "intended_use": [model.registered_seq, model.updated_seq, use_case.created_seq],
        "datasets": [version.registered_seq, *dataset_seqs, *graph["edge_seqs"]],
        "performance": [version.registered_seq, *monitoring["seqs"]],
        "authorization": auth_seqs,
        "fallback": fallback_seqs,
        "changes": [
            version.registered_seq,
            *([previous.registered_seq] if previous else []),
            *history["seqs"],
        ],
        "signatures": [s.seq for s in by_version[version.subject]] + auth_seqs,
    }
    title = f"Clinical validation report: {model.name}, version {version.number}"
    context["outline"] = _outline(CLINICAL_OUTLINE)
    return ReportContent("clinical", title, version.subject, context, _clean(sections))


def _previous_authorized(
    version: ModelVersion, authorizations: list[Authorization]
) -> ModelVersion | None:
    """The latest earlier version of the model that was authorized for the use case."""
    earlier = {
        a.version_id
        for a in authorizations
        if a.activated_at is not None and a.version_id != version.subject
    }
    candidates = ModelVersion.objects.filter(
        subject__in=earlier, number__lt=version.number
    ).order_by("-number")
    return candidates.first()


def _provenance(graph: Mapping[str, Any]) -> list[dict[str, Any]]:
    """For each snapshot upstream: the run that wrote it (if any) and that run's inputs."""
    writers: dict[str, list[str]] = defaultdict(list)
    inputs: dict[str, list[str]] = defaultdict(list)
    for edge in graph["edges"]:
        if edge["relation"] == "output":
            writers[edge["target"]].append(edge["source"])
        if edge["relation"] == "input":
            inputs[edge["target"]].append(edge["source"])
    rows = []
    for node in graph["nodes"]:
        if node["kind"] != "snapshot":
            continue
        runs = sorted(writers[node["subject"]])
        rows.append(
            {
                "subject": node["subject"],
                "written_by": runs,
                "from": sorted({i for run in runs for i in inputs[run]}),
            }
        )
    return rows


def _diff_rows(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The lineage diff as rows a reviewer reads: what, before, after, changed."""
    rows = [
        ("artifact digest", changes["artifact"]),
        ("code repository, commit", _code_change(changes["code"])),
        ("environment lock digest", changes["environment"]["lock_digest"]),
        ("Python", changes["environment"]["python"]),
    ]
    facts = [
        {"what": what, "before": c["from"], "after": c["to"], "changed": c["changed"]}
        for what, c in rows
    ]
    mappings = []
    for what, diff in (
        ("package", changes["environment"]["packages"]),
        ("parameter", changes["parameters"]),
        ("metric", changes["metrics"]),
    ):
        for name, value in diff["added"].items():
            mappings.append({"what": f"{what} {name}", "before": "—", "after": str(value)})
        for name, value in diff["removed"].items():
            mappings.append({"what": f"{what} {name}", "before": str(value), "after": "—"})
        for name, change in diff["changed"].items():
            mappings.append(
                {
                    "what": f"{what} {name}",
                    "before": str(change["from"]),
                    "after": str(change["to"]),
                }
            )
    return {
        "from": changes["from"],
        "to": changes["to"],
        "facts": facts,
        "mappings": mappings,
        "data": changes["data"],
    }


def _code_change(code: Mapping[str, Any]) -> dict[str, Any]:
    def text(side: Mapping[str, Any]) -> str:
        dirty = " (uncommitted changes)" if side["dirty"] else ""
        return f"{side['repository']} @ {side['commit']}{dirty}"

    return {"from": text(code["from"]), "to": text(code["to"]), "changed": code["changed"]}


# --- Ledger audit extract ----------------------------------------------------------------------


def _about(subject: str) -> Q:
    """The entries about `subject`: its own, and those of the records under it."""
    return Q(subject=subject) | Q(subject__startswith=subject + "/")


def _audit_extract(subject: str, period: tuple[datetime, datetime]) -> ReportContent:
    start, end = period
    entries = (
        Entry.objects.filter(_about(subject), recorded_at__gte=start, recorded_at__lt=end)
        .order_by("seq")
        .iterator()
    )
    rows = []
    for entry in entries:
        document = entry.document
        rows.append(
            {
                "seq": entry.seq,
                "time": _utc(entry.recorded_at),
                "kind": entry.kind,
                "subject": entry.subject,
                "actor": entry.actor,
                "actor_name": document["actor"]["name"],
                "summary": summarize(entry.kind, document["payload"]),
                "hash": entry.hash_hex,
            }
        )
    context: dict[str, Any] = {
        "audited_subject": subject,
        "period": {"start": _utc(start), "end": _utc(end)},
        "entries": rows,
        "kinds": _count(row["kind"] for row in rows),
        "outline": _outline(AUDIT_OUTLINE),
    }
    title = f"Ledger audit extract: {subject}"
    sections = {"entries": [row["seq"] for row in rows]}
    return ReportContent("audit-extract", title, subject, context, sections)


def summarize(kind: str, payload: Mapping[str, Any], limit: int = 400) -> str:
    """A payload in words for a reader: the facts that matter for common kinds, otherwise
    its scalar fields as `name: value` (nested objects flattened with dots)."""
    if kind == "signature.signed":
        decision = payload.get("content", {}).get("decision", {})
        text = (
            f"{decision.get('meaning', '?')} as {decision.get('role', '?')}: "
            f"“{payload.get('comment', '')}”; signed content "
            f"{payload.get('content_sha256', '')}"
        )
    elif kind == "stage.changed":
        text = f"{payload.get('from')} → {payload.get('to')}: {payload.get('reason', '')}"
    elif kind == "version.registered":
        package = payload.get("package", {})
        text = (
            f"version {payload.get('number')} of {payload.get('model')}; artifact "
            f"{package.get('artifact', {}).get('digest', '?')}; package "
            f"{payload.get('package_digest', '?')}"
        )
    else:
        text = "; ".join(f"{k}: {v}" for k, v in _flatten(payload)) or "(no payload)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        found = []
        for key in sorted(value):
            found += _flatten(value[key], f"{prefix}{key}.")
        return found
    if isinstance(value, list):
        shown = ", ".join(str(v) for v in value if not isinstance(v, Mapping | list))
        return [(prefix.rstrip("."), f"[{shown}]" if shown else f"{len(value)} items")]
    return [(prefix.rstrip("."), "—" if value is None else str(value))]


# --- Shared pieces -----------------------------------------------------------------------------


class _Names:
    """Printed names of principals, read in one query for all actor ids a report names."""

    def __init__(self) -> None:
        self.wanted: set[str] = set()
        self.found: dict[str, str] = {}

    def want(self, actor: str) -> None:
        if actor:
            self.wanted.add(actor)

    def want_all(self, actors: Iterable[str]) -> None:
        for actor in actors:
            self.want(actor)

    def load(self) -> None:
        rows = Principal.objects.filter(actor_id__in=sorted(self.wanted))
        self.found = dict(rows.values_list("actor_id", "printed_name"))

    def __getitem__(self, actor: str) -> str:
        name = self.found.get(actor)
        return f"{name} ({actor})" if name else actor


def _model_row(model: Any, names: _Names) -> dict[str, Any]:
    return {
        "subject": model.subject,
        "slug": model.slug,
        "name": model.name,
        "owner": model.owner,
        "description": model.description,
        "intended_purpose": model.intended_purpose,
        "limitations": model.limitations,
        "domain": model.domain,
        "risk_tier": model.risk_tier,
        "registered_by": names[model.registered_by],
        "registered_at": _utc(model.registered_at),
    }


def _version_row(version: ModelVersion, names: _Names) -> dict[str, Any]:
    package = version.package
    code, environment = package["code"], package["environment"]
    return {
        "subject": version.subject,
        "number": version.number,
        "stage": version.stage,
        "review_required": version.review_required,
        "package_digest": version.package_digest,
        "artifact": package["artifact"],
        "flavor": package["flavor"],
        "framework": package["framework"],
        "code": {**code, "authors": [names[a] for a in code["authors"]]},
        "environment": {**environment, "packages": _pairs(environment["packages"])},
        "hyperparameters": _pairs(package["hyperparameters"]),
        "metrics": _pairs(package["metrics"]),
        "schema": {
            "inputs": [_schema_field(f) for f in package["schema"]["inputs"]],
            "outputs": [_schema_field(f) for f in package["schema"]["outputs"]],
        },
        "training_run": {
            "id": package["training_run"]["id"],
            "authors": [names[a] for a in package["training_run"]["authors"]],
        },
        "data": package["data"],
        "registered_by": names[version.registered_by],
        "registered_at": _utc(version.registered_at),
    }


def _schema_field(item: Any) -> dict[str, str]:
    if not isinstance(item, Mapping):
        return {"name": str(item), "type": ""}
    extra = {k: v for k, v in item.items() if k not in ("name", "type")}
    described = str(item.get("type", ""))
    if extra:
        described += " " + ", ".join(f"{k} {v}" for k, v in sorted(extra.items()))
    return {"name": str(item.get("name", "")), "type": described.strip()}


def _policy_row(policy: Policy | None) -> dict[str, Any] | None:
    if policy is None:
        return None

    def words(items: list[dict[str, Any]]) -> list[str]:
        return [rules.requirement_words(r) for r in stored_requirements(items)]

    return {
        "risk_tier": policy.risk_tier,
        "approval": words(policy.approval),
        "authorization": words(policy.authorization),
        "review_months": policy.review_months,
        "set_at": _utc(policy.set_at),
    }


def _signature_row(signature: Signature, facts: str) -> dict[str, Any]:
    """The Part 11 manifestation (11.50): printed name, date and time with zone and UTC
    offset, meaning, role, comment; and whether it counts on the record's current facts."""
    local = signature.signed_at.astimezone(ZoneInfo(signature.time_zone))
    counts = rules.counts(
        binding_valid=signature.binding_valid,
        signed_facts=signature.content.get("facts"),
        facts=facts,
    )
    return {
        "seq": signature.seq,
        "subject": signature.subject,
        "signer": signature.signer,
        "printed_name": signature.printed_name,
        "username": signature.username,
        "role": rules.role_words(signature.role),
        "meaning": signature.meaning,
        "comment": signature.comment,
        "signed_at": local_time(local),
        "signed_at_utc": _utc(signature.signed_at),
        "time_zone": signature.time_zone,
        "content_sha256": signature.content_sha256,
        "counts": counts,
    }


def _signatures_by_subject(facts: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The signature rows of each record, by subject; `facts`: each record's facts digest."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for signature in Signature.objects.filter(subject__in=list(facts)).order_by("seq"):
        found[signature.subject].append(_signature_row(signature, facts[signature.subject]))
    return found


def _failure_row(failure: SigningFailure) -> dict[str, Any]:
    return {
        "seq": failure.seq,
        "signer": failure.signer,
        "meaning": failure.meaning,
        "reason": failure.reason,
        "attempted_at": _utc(failure.attempted_at),
    }


def _authorization_row(
    auth: Authorization,
    version: ModelVersion,
    signatures: Mapping[str, list[dict[str, Any]]],
    names: _Names,
) -> dict[str, Any]:
    now = timezone.now()
    in_force = auth.in_force(now)
    days_left = (auth.expires_at - now).days if in_force else None
    return {
        "subject": auth.subject,
        "use_case": auth.use_case.slug,
        "use_case_title": auth.use_case.title,
        "population": auth.use_case.population,
        "version": auth.version_id,
        "as": "version" if auth.version_id == version.subject else "fallback",
        "fallback": auth.fallback_id,
        "conditions": list(auth.conditions),
        "effective_on": auth.effective_on.isoformat(),
        "expires_on": auth.expires_on.isoformat(),
        "status": auth.status,
        "in_force": in_force,
        "days_left": days_left,
        "proposed_by": names[auth.proposed_by],
        "proposed_at": _utc(auth.proposed_at),
        "activated_at": _utc(auth.activated_at) if auth.activated_at else None,
        "revoked_at": _utc(auth.revoked_at) if auth.revoked_at else None,
        "revocation_reason": auth.revocation_reason,
        "facts_digest": auth.facts_digest,
        "signatures": signatures.get(auth.subject, []),
    }


def _lineage(subject: str) -> dict[str, Any]:
    """The version's upstream graph with the seqs of the entries that recorded each node and
    edge: one recursive query for the graph, one for the nodes' seqs, one for the edges'."""
    graph = lineage.upstream(subject)
    subjects = [node.subject for node in graph.nodes]
    seqs: dict[str, list[int]] = {}
    for node_subject, recorded, updated in Node.objects.filter(subject__in=subjects).values_list(
        "subject", "recorded_seq", "updated_seq"
    ):
        seqs[node_subject] = sorted({recorded, updated})
    edge_seqs = list(
        Edge.objects.filter(target__in=subjects).values_list("seq", flat=True).distinct()
    )
    nodes: list[dict[str, Any]] = [
        {
            "subject": node.subject,
            "depth": node.depth,
            "kind": node.kind or "not recorded",
            "recorded": bool(node.kind),
            "name": node.name,
            "digest": node.digest,
            "uri": str(node.facts.get("uri") or ""),
            "rows": node.facts.get("rows"),
            "facts": _node_facts(node.kind, node.facts),
            "seqs": seqs.get(node.subject, []),
        }
        for node in graph.nodes
    ]
    edges = [{"source": s, "target": t, "relation": r} for s, t, r in graph.edges]
    figure = figures.lineage_svg(
        [figures.GraphNode(n.subject, n.kind, _node_label(n), n.depth) for n in graph.nodes],
        [(s, t) for s, t, _ in graph.edges],
    )
    context = {
        "nodes": nodes,
        "edges": edges,
        "figure": figure,
        "counts": _count(n["kind"] for n in nodes),
        "unrecorded": [n["subject"] for n in nodes if not n["recorded"]],
    }
    all_seqs = [s for node_seqs in seqs.values() for s in node_seqs] + edge_seqs
    return {"context": context, "seqs": all_seqs, "edge_seqs": edge_seqs}


def _node_label(node: lineage.Reached) -> str:
    """A short name for a box in the lineage figure (the kind is shown above it)."""
    facts = node.facts
    if node.kind == "code" and facts.get("commit"):
        repository = str(facts.get("repository", "")).rstrip("/").rsplit("/", 1)[-1]
        return f"{repository.removesuffix('.git')} @ {str(facts['commit'])[:8]}"
    if node.kind == "artifact":
        name = str(facts.get("uri", "")).rstrip("/").rsplit("/", 1)[-1]
        return f"{name} {node.digest.removeprefix('sha256:')[:8]}".strip()
    label = node.name or node.subject
    return label.removeprefix(f"{node.kind}:") if node.kind else label


def _node_facts(kind: str, facts: Mapping[str, Any]) -> str:
    """The facts a reviewer reads about one node, in a line."""
    keep = {
        "run": ("job", "status", "started_at", "ended_at", "parameters", "metrics"),
        "snapshot": ("rows", "time_range"),
        "environment": ("python", "packages"),
        "dataset": ("description",),
    }.get(kind, ())
    shown = []
    for key in keep:
        value = facts.get(key)
        if value in (None, "", {}, []):
            continue
        if isinstance(value, Mapping):
            value = ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
        shown.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(shown)


def _monitoring(version: ModelVersion) -> dict[str, Any]:
    records = list(
        MonitoringRecord.objects.filter(version=version).order_by("metric", "window_end", "seq")
    )
    thresholds = list(Threshold.objects.filter(model=version.model).order_by("metric"))
    reviews = list(ReviewPeriod.objects.filter(version=version).order_by("seq"))
    metrics = sorted({r.metric for r in records} | {t.metric for t in thresholds})
    charts = []
    for metric in metrics:
        points = [
            figures.Point(
                window=_window(r.window_start, r.window_end),
                segment=r.segment,
                value=r.value,
                breach=r.breach,
            )
            for r in records
            if r.metric == metric
        ]
        bounds = []
        for t in thresholds:
            if t.metric != metric:
                continue
            where = "" if t.segment == "all" else f" ({t.segment})"
            bounds += [figures.Bound(f"lower {t.lower}{where}", t.lower)] if t.lower else []
            bounds += [figures.Bound(f"upper {t.upper}{where}", t.upper)] if t.upper else []
        charts.append(
            {
                "metric": metric,
                "figure": figures.monitoring_svg(metric, points, bounds) if points else "",
                "bounds": [b.label for b in bounds],
            }
        )
    context = {
        "records": [
            {
                "seq": r.seq,
                "metric": r.metric,
                "segment": r.segment,
                "value": r.value,
                "window": _window(r.window_start, r.window_end),
                "breach": r.breach,
                "threshold": _threshold_text(r.threshold),
                "recorded_at": _utc(r.recorded_at),
            }
            for r in records
        ],
        "thresholds": [
            {"metric": t.metric, "segment": t.segment, "lower": t.lower, "upper": t.upper}
            for t in thresholds
        ],
        "charts": charts,
        "segments": sorted({r.segment for r in records}),
        "reviews": [
            {
                "started_at": _utc(r.started_at),
                "ended_at": _utc(r.ended_at) if r.ended_at else None,
            }
            for r in reviews
        ],
    }
    seqs = [r.seq for r in records] + [t.set_seq for t in thresholds]
    seqs += [s for r in reviews for s in (r.seq, r.cleared_seq) if s is not None]
    return {"context": context, "seqs": seqs}


def _threshold_text(threshold: Mapping[str, Any] | None) -> str:
    if not threshold:
        return "none set"
    parts = []
    if threshold.get("lower") is not None:
        parts.append(f"≥ {threshold['lower']}")
    if threshold.get("upper") is not None:
        parts.append(f"≤ {threshold['upper']}")
    return " and ".join(parts) + f" ({threshold.get('segment', 'all')})"


def _history(version: ModelVersion) -> dict[str, Any]:
    """Stage periods, corrections of the version and its model, rollbacks involving it."""
    periods = list(StagePeriod.objects.filter(version=version).order_by("seq"))
    corrections = list(
        Entry.objects.filter(
            Q(subject=version.subject, kind="version.corrected")
            | Q(subject=version.model.subject, kind="model.corrected")
        ).order_by("seq")
    )
    use_cases = UseCase.objects.filter(model=version.model).values_list("slug", flat=True)
    rollbacks = [
        entry
        for entry in Entry.objects.filter(
            kind="usecase.rolled_back", subject__in=[f"usecase:{slug}" for slug in use_cases]
        ).order_by("seq")
        if version.subject in (entry.payload.get("from"), entry.payload.get("to"))
    ]
    stages = [
        {
            "seq": p.seq,
            "stage": p.stage,
            "started_at": _utc(p.started_at),
            "ended_at": _utc(p.ended_at) if p.ended_at else None,
            "changed_by": p.changed_by,
            "reason": p.reason,
        }
        for p in periods
    ]
    events = [
        {
            "seq": e.seq,
            "kind": e.kind,
            "time": _utc(e.recorded_at),
            "actor": e.actor,
            "summary": summarize(e.kind, e.payload),
        }
        for e in sorted([*corrections, *rollbacks], key=lambda e: e.seq)
    ]
    seqs = [p.seq for p in periods] + [e.seq for e in corrections] + [e.seq for e in rollbacks]
    model_corrections = [e.seq for e in corrections if e.kind == "model.corrected"]
    return {
        "stages": stages,
        "events": events,
        "seqs": seqs,
        "model_corrections": model_corrections,
    }


def _named_history(history: Mapping[str, Any], names: _Names) -> dict[str, Any]:
    return {
        "stages": [{**p, "changed_by": names[p["changed_by"]]} for p in history["stages"]],
        "events": [{**e, "actor": names[e["actor"]]} for e in history["events"]],
    }


def _open_issues(
    version: ModelVersion, authorizations: list[dict[str, Any]], graph: Mapping[str, Any]
) -> list[str]:
    issues = []
    if version.review_required:
        issues.append(
            "Review required: a monitoring figure is outside its threshold; a validator "
            "must sign a review before new authorizations or promotion."
        )
    if version.stage in ("development", "validation"):
        try:
            missing = selectors.approval_missing(version)
        except DomainError as refusal:
            missing = [str(refusal)]
        for item in missing:
            issues.append(
                f"Approval incomplete: {item} (policy for the {version.model.risk_tier} tier)."
            )
    if version.stage == "rejected":
        issues.append("The version was rejected in validation; it may not be authorized.")
    for auth in authorizations:
        if auth["status"] == "proposed":
            issues.append(f"{auth['subject']} is proposed and awaits its policy signatures.")
        days = auth["days_left"]
        if days is not None and days <= EXPIRY_WARNING_DAYS:
            issues.append(
                f"{auth['subject']} ({auth['use_case']}) expires on {auth['expires_on']}, in "
                f"{days} days: revalidation and a new authorization are due."
            )
    for subject in graph["unrecorded"]:
        issues.append(f"{subject} is named in the package but not recorded in the lineage.")
    if version.package["code"]["dirty"]:
        issues.append("The code commit had uncommitted changes when the model was trained.")
    return issues


def _entries_about(subjects: list[str]) -> list[int]:
    """Every entry recorded about these subjects (proposal, signatures, activation,
    revocation of an authorization): one query."""
    if not subjects:
        return []
    return list(Entry.objects.filter(subject__in=subjects).values_list("seq", flat=True))


def _outline(items: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"slug": slug, "title": title, "number": number}
        for number, (slug, title) in enumerate(items, start=1)
    ]


def _clean(sections: Mapping[str, Iterable[int | None]]) -> dict[str, list[int]]:
    return {name: sorted({s for s in seqs if s is not None}) for name, seqs in sections.items()}


def _pairs(mapping: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"name": k, "value": str(v)} for k, v in sorted(mapping.items())]


def _count(values: Iterable[str]) -> list[dict[str, Any]]:
    counts: dict[str, int] = defaultdict(int)
    for value in values:
        counts[value] += 1
    return [{"name": k, "count": v} for k, v in sorted(counts.items())]


def _window(start: date, end: date) -> str:
    return start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def local_time(moment: datetime) -> str:
    """Date and time in the signer's zone with its abbreviation and UTC offset, such as
    `2026-11-27 10:04:33 EST (UTC-05:00)` (21 CFR 11.50(a)(2))."""
    offset = moment.utcoffset() or timedelta(0)
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return (
        f"{moment:%Y-%m-%d %H:%M:%S} {moment.tzname()} "
        f"(UTC{sign}{minutes // 60:02d}:{minutes % 60:02d})"
    )
