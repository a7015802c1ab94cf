"""Append a realistic sample history: a bank's credit PD model and a clinical triage model.

The registry services arrive in a later release; until then the history is appended as
ledger entries only, with the payloads those services will write.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from auditreg.ledger import services
from auditreg.ledger.entry import Actor
from auditreg.ledger.models import Entry

DANA = Actor("user:dana", "Dana Developer")
VIC = Actor("user:vic", "Victor Validator")
ALICE = Actor("user:alice", "Alice Approver")
MRC = Actor("user:marc", "Marc Riskcommittee")
OLGA = Actor("user:olga", "Olga Auditor")
TRAINER = Actor("service:trainer", "Nightly training pipeline")
QA = Actor("user:quinn", "Quinn Quality")

CREDIT_DATA = "sha256:5d41402abc4b2a76b9719d911017c592a3f1e6a0c7f4f4c8e1b2d3c4a5b6c7d8"
STROKE_DATA = "sha256:9e107d9d372bb6826bd81d3542a419d6b1a2c3d4e5f60718293a4b5c6d7e8f90"

DEMO_HISTORY: list[tuple[str, str, Actor, dict[str, Any]]] = [
    (
        "policy.set",
        "policy:high",
        ALICE,
        {
            "risk_tier": "high",
            "requires": [
                {"role": "validator", "meaning": "validated", "count": 1},
                {"role": "approver", "meaning": "approved", "count": 1},
                {"role": "model_risk_committee", "meaning": "approved", "count": 1},
            ],
            "review_interval_months": 12,
        },
    ),
    (
        "policy.set",
        "policy:low",
        ALICE,
        {
            "risk_tier": "low",
            "requires": [{"role": "approver", "meaning": "approved", "count": 1}],
            "review_interval_months": 24,
        },
    ),
    (
        "model.registered",
        "model:credit-pd",
        DANA,
        {
            "name": "credit-pd",
            "owner": "Retail Credit Risk Analytics",
            "domain": "credit risk",
            "risk_tier": "high",
            "intended_purpose": "12-month probability of default for US retail credit-card applicants",
            "limitations": "Not validated for small-business or thin-file applicants (< 6 months history)",
        },
    ),
    (
        "dataset.snapshot_recorded",
        "dataset:loan-applications@2026-06-30",
        TRAINER,
        {
            "uri": "s3://risk-data/loan-applications/snapshot=2026-06-30/",
            "digest": CREDIT_DATA,
            "rows": 4_812_377,
            "time_range": ["2019-01-01", "2026-06-30"],
        },
    ),
    (
        "run.recorded",
        "run:credit-pd/2026-07-14-a91f",
        TRAINER,
        {
            "code": {
                "repository": "git@git.bank.example:risk/credit-pd.git",
                "commit": "a91f3c2e7d4b5a6c8e9f0a1b2c3d4e5f60718293",
                "dirty": False,
            },
            "environment": {
                "lock_digest": "sha256:0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c",
                "python": "3.11.7",
                "packages": {"lightgbm": "4.6.0", "scikit-learn": "1.7.2"},
            },
            "inputs": ["dataset:loan-applications@2026-06-30"],
            "parameters": {"num_leaves": 63, "learning_rate": "0.05", "n_estimators": 900},
            "metrics": {"auc_oot": "0.8412", "ks_oot": "0.5210", "brier_oot": "0.0617"},
            "status": "finished",
        },
    ),
    (
        "version.registered",
        "model:credit-pd/1",
        DANA,
        {
            "artifact": {
                "uri": "s3://models/credit-pd/1/model.txt",
                "digest": "sha256:3f786850e387550fdab836ed7e6dc881de23001b4b5c6d7e8f90a1b2c3d4e5f6",
            },
            "flavor": "lightgbm",
            "run": "run:credit-pd/2026-07-14-a91f",
            "input_schema_digest": "sha256:7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730",
        },
    ),
    ("stage.changed", "model:credit-pd/1", DANA, {"from": "development", "to": "validation"}),
    (
        "signature.recorded",
        "model:credit-pd/1",
        VIC,
        {
            "meaning": "validated",
            "printed_name": "Victor Validator",
            "comment": "Conceptual soundness, outcomes analysis and benchmarking complete; see VAL-2026-031.",
        },
    ),
    (
        "signature.recorded",
        "model:credit-pd/1",
        ALICE,
        {
            "meaning": "approved",
            "printed_name": "Alice Approver",
            "comment": "Approved for retail PD scoring.",
        },
    ),
    (
        "signature.recorded",
        "model:credit-pd/1",
        MRC,
        {
            "meaning": "approved",
            "printed_name": "Marc Riskcommittee",
            "comment": "Model Risk Committee approval, minutes MRC-2026-09.",
        },
    ),
    ("stage.changed", "model:credit-pd/1", ALICE, {"from": "validation", "to": "approved"}),
    (
        "authorization.granted",
        "usecase:us-retail-credit-pd",
        ALICE,
        {
            "version": "model:credit-pd/1",
            "conditions": ["Annual revalidation", "Quarterly PSI below 0.25"],
            "effective": "2026-08-01",
            "next_review": "2027-07-31",
        },
    ),
    ("stage.changed", "model:credit-pd/1", ALICE, {"from": "approved", "to": "production"}),
    (
        "monitoring.recorded",
        "model:credit-pd/1",
        TRAINER,
        {
            "metric": "psi",
            "value": "0.08",
            "window": ["2026-08-01", "2026-08-31"],
            "segment": "all",
        },
    ),
    (
        "model.registered",
        "model:lvo-triage",
        QA,
        {
            "name": "lvo-triage",
            "owner": "Neuro Imaging AI",
            "domain": "clinical imaging",
            "risk_tier": "high",
            "intended_purpose": "Flag suspected large-vessel occlusion on CT angiography of adults for triage",
            "limitations": "Not for diagnosis; not validated under 18 years or on non-contrast CT",
        },
    ),
    (
        "dataset.snapshot_recorded",
        "dataset:cta-validation@2026-03",
        QA,
        {
            "uri": "s3://clinical-data/cta-validation/2026-03/",
            "digest": STROKE_DATA,
            "rows": 1_204,
            "sites": 4,
        },
    ),
    (
        "version.registered",
        "model:lvo-triage/4",
        DANA,
        {
            "artifact": {
                "uri": "s3://models/lvo-triage/4/model.onnx",
                "digest": "sha256:a3f5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5",
            },
            "flavor": "onnx",
        },
    ),
    (
        "signature.recorded",
        "model:lvo-triage/4",
        VIC,
        {
            "meaning": "validated",
            "printed_name": "Victor Validator",
            "comment": "Sensitivity 0.93 (95% CI 0.90-0.95), specificity 0.91 on 4-site validation set.",
        },
    ),
    (
        "signature.recorded",
        "model:lvo-triage/4",
        ALICE,
        {
            "meaning": "approved",
            "printed_name": "Alice Approver",
            "comment": "Within PCCP performance bounds.",
        },
    ),
    (
        "authorization.granted",
        "usecase:lvo-triage-cta-adults",
        ALICE,
        {
            "version": "model:lvo-triage/4",
            "fallback": "model:lvo-triage/3",
            "effective": "2026-09-15",
            "next_review": "2027-09-14",
        },
    ),
    ("ledger.exported", "ledger:main", OLGA, {"purpose": "Q3 2026 internal audit sample"}),
]


class Command(BaseCommand):
    help = "Append a realistic sample history (a bank credit model and a clinical triage model)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="append even if already seeded")

    def handle(self, *args: Any, **options: Any) -> None:
        if Entry.objects.filter(subject="model:credit-pd").exists() and not options["force"]:
            self.stdout.write("sample history already present; nothing appended")
            return
        with transaction.atomic(durable=True):
            for kind, subject, actor, payload in DEMO_HISTORY:
                services.append(kind=kind, subject=subject, payload=payload, actor=actor)
        self.stdout.write(f"appended {len(DEMO_HISTORY)} sample entries")
