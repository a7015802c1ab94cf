"""Build a realistic sample history through the registry's services.

A bank's high-tier credit PD model `credit-pd` with three versions: version 1 rejected by
validation, version 2 approved, authorized and in production, version 3 approved and
authorized with version 2 as fallback, then a monitoring breach and a rollback to version 2.
A clinical model `stroke-lvo` authorized for LVO triage with a validated fallback version.
Demo people for every role sign with their passwords, as they would in the portal.
"""

import hashlib
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.accounts.services import SYSTEM
from auditreg.registry.domain import Meaning, RiskTier, Stage
from auditreg.registry.models import ModelVersion
from auditreg.registry.queries import as_of, format_registry_at
from auditreg.registry.services import authorizations, monitoring, policies, signatures, versions
from lineage import services as lineage

DEMO_PASSWORD = "auditreg-demo"  # noqa: S105 - sample logins, printed for the demo
PEOPLE = [
    # username, printed name, role, time zone
    ("ada", "Ada Administrator", Role.ADMINISTRATOR, "UTC"),
    ("dana", "Dana Developer", Role.DEVELOPER, "America/New_York"),
    ("devi", "Devi Neuroimaging", Role.DEVELOPER, "Europe/Berlin"),
    ("vic", "Victor Validator", Role.VALIDATOR, "America/New_York"),
    ("vera", "Vera Clinical-Validator", Role.VALIDATOR, "Europe/Berlin"),
    ("alice", "Alice Approver", Role.APPROVER, "America/New_York"),
    ("quinn", "Quinn Quality", Role.APPROVER, "Europe/Berlin"),
    ("marc", "Marc Riskcommittee", Role.MODEL_RISK_COMMITTEE, "America/Chicago"),
    ("olga", "Olga Auditor", Role.AUDITOR, "Europe/London"),
]


DATASETS = [
    # name, URI, description
    ("bureau-tradelines", "s3://bank-data/raw/bureau-tradelines/", "Monthly credit bureau extract"),
    ("loan-applications", "s3://bank-data/features/loan-applications/", "Applicant features"),
    ("cta-training", "s3://neuro-data/cta-training/", "CTA studies from 4 sites, labelled"),
    ("cta-validation", "s3://neuro-data/cta-validation/", "Held-out CTA studies, 2 new sites"),
]
SNAPSHOTS = [
    # dataset, label, rows
    ("bureau-tradelines", "2026-06-30", 4_812_330),
    ("loan-applications", "2026-06-30", 1_204_118),
    ("cta-training", "2026-01", 9_412),
    ("cta-validation", "2026-03", 1_877),
]


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def credit_package(number: int, auc: str, ks: str) -> dict[str, Any]:
    commit = hashlib.sha1(f"credit-pd {number}".encode(), usedforsecurity=False).hexdigest()
    return {
        "artifact": {
            "uri": f"s3://models/credit-pd/{number}/model.txt",
            "digest": digest(f"credit-pd model {number}"),
            "media_type": "text/plain",
        },
        "flavor": "lightgbm",
        "framework": {"name": "lightgbm", "version": "4.6.0"},
        "code": {
            "repository": "git@git.bank.example:risk/credit-pd.git",
            "commit": commit,
            "dirty": False,
            "authors": ["user:dana"],
        },
        "environment": {
            "lock_digest": digest(f"credit-pd uv.lock {number}"),
            "python": "3.11.9",
            "packages": {"lightgbm": "4.6.0", "scikit-learn": "1.7.2", "pandas": "2.3.3"},
        },
        "hyperparameters": {"num_leaves": 31 + 16 * number, "learning_rate": "0.05"},
        "metrics": {"auc_oot": auc, "ks_oot": ks},
        "schema": {
            "inputs": [
                {"name": "utilization_6m", "type": "double"},
                {"name": "months_on_book", "type": "long"},
                {"name": "delinquencies_24m", "type": "long"},
            ],
            "outputs": [{"name": "pd_12m", "type": "double"}],
        },
        "training_run": {"id": f"run:credit-pd/2026-0{number}-a91f", "authors": ["user:dana"]},
        "data": [
            {
                "snapshot": "dataset:loan-applications@2026-06-30",
                "digest": digest("loan-applications 2026-06-30"),
            }
        ],
    }


def stroke_package(number: int, sensitivity: str) -> dict[str, Any]:
    commit = hashlib.sha1(f"stroke-lvo {number}".encode(), usedforsecurity=False).hexdigest()
    return {
        "artifact": {
            "uri": f"s3://clinical-models/stroke-lvo/{number}/model.onnx",
            "digest": digest(f"stroke-lvo model {number}"),
            "media_type": "application/onnx",
        },
        "flavor": "onnx",
        "framework": {"name": "pytorch", "version": "2.13.0"},
        "code": {
            "repository": "https://git.neuro.example/ai/stroke-lvo.git",
            "commit": commit,
            "dirty": False,
            "authors": ["user:devi"],
        },
        "environment": {
            "lock_digest": digest(f"stroke-lvo requirements {number}"),
            "python": "3.11.9",
            "packages": {"torch": "2.13.0", "monai": "1.5.1"},
        },
        "hyperparameters": {"epochs": 60, "base_lr": "0.0003", "input_mm": "0.5"},
        "metrics": {"sensitivity": sensitivity, "specificity": "0.91"},
        "schema": {
            "inputs": [{"name": "cta_volume", "type": "tensor", "shape": [-1, 1, 256, 256, 256]}],
            "outputs": [{"name": "lvo_probability", "type": "double"}],
        },
        "training_run": {"id": f"run:stroke-lvo/train-{number}", "authors": ["user:devi"]},
        "data": [
            {"snapshot": "dataset:cta-training@2026-01", "digest": digest("cta-training 2026-01")},
            {
                "snapshot": "dataset:cta-validation@2026-03",
                "digest": digest("cta-validation 2026-03"),
            },
        ],
    }


class Command(BaseCommand):
    help = "Build a sample history through the registry's services and print as_of answers."

    def handle(self, *args: Any, **options: Any) -> None:
        if Principal.objects.filter(actor_id="user:dana").exists():
            self.stdout.write("sample history already present; nothing recorded")
            return
        people = self.enroll()
        self.record_data(people)
        before_rollback = self.credit_history(people)
        self.stroke_history(people)
        olga = people["olga"]
        self.stdout.write(format_registry_at(as_of(before_rollback, by=olga)))
        self.stdout.write("")
        self.stdout.write(format_registry_at(as_of(timezone.now(), by=olga)))
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for username, name, role, _ in PEOPLE:
            self.stdout.write(f"  {username:<6} {name:<24} {role}")

    def enroll(self) -> dict[str, Principal]:
        ada = accounts.enroll_person(
            username="ada",
            printed_name="Ada Administrator",
            roles=[Role.ADMINISTRATOR],
            password=DEMO_PASSWORD,
            by=SYSTEM,
        )
        people = {"ada": ada}
        for username, name, role, zone in PEOPLE[1:]:
            people[username] = accounts.enroll_person(
                username=username,
                printed_name=name,
                roles=[role],
                password=DEMO_PASSWORD,
                time_zone=zone,
                by=ada,
            )
        people["trainer"] = accounts.enroll_service(
            name="trainer", printed_name="Nightly training pipeline", roles=[Role.DEVELOPER], by=ada
        )
        for tier, policy in policies.DEFAULT_POLICIES.items():
            policies.set_policy(risk_tier=tier, **policy, by=people["marc"])
        return people

    def record_data(self, p: dict[str, Principal]) -> None:
        """Datasets and snapshots the sample models were trained on: the credit data is
        derived from the raw bureau extract by a feature-engineering run."""
        for name, uri, description in DATASETS:
            lineage.record_dataset(name=name, uri=uri, description=description, by=p["trainer"])
        for name, label, rows in SNAPSHOTS:
            lineage.record_snapshot(
                dataset=name,
                label=label,
                digest=digest(f"{name} {label}"),
                uri=f"{dict((d[0], d[1]) for d in DATASETS)[name]}{label}/",
                rows=rows,
                by=p["trainer"],
            )
        lineage.record_run(
            facts={
                "id": "credit-pd/features-2026-06-30",
                "job": "credit-pd-features",
                "status": "completed",
                "started_at": "2026-07-01T02:00:00+00:00",
                "ended_at": "2026-07-01T02:41:00+00:00",
                "parameters": {"lookback_months": 24},
                "inputs": ["dataset:bureau-tradelines@2026-06-30"],
                "outputs": ["dataset:loan-applications@2026-06-30"],
            },
            by=p["trainer"],
        )

    def register_version(
        self, model: Any, package: dict[str, Any], *, by: Principal
    ) -> ModelVersion:
        """Report the training run, then register the version it produced."""
        lineage.record_run(
            facts={
                "id": package["training_run"]["id"],
                "job": f"{model.slug}-training",
                "status": "completed",
                "parameters": package["hyperparameters"],
                "metrics": package["metrics"],
                "inputs": [item["snapshot"] for item in package["data"]],
                "code": {key: package["code"][key] for key in ("repository", "commit", "dirty")},
                "environment": package["environment"],
                "artifacts": [package["artifact"]],
                "authors": package["training_run"]["authors"],
            },
            by=by,
        )
        version, _ = versions.register_version(model=model, package=package, by=by)
        return version

    def sign(self, who: Principal, record: Any, meaning: Meaning, role: Role, comment: str) -> None:
        signatures.sign(
            record=record,
            meaning=meaning,
            role=role,
            password=DEMO_PASSWORD,
            comment=comment,
            by=who,
        )

    def approve_version(self, p: dict[str, Principal], version: ModelVersion, *names: str) -> None:
        """Authored by the developer; validated, approved, and approved by the committee."""
        developer, validator, approver = names
        self.sign(p[developer], version, Meaning.AUTHORED, Role.DEVELOPER, "Ready for validation.")
        self.sign(
            p[validator],
            version,
            Meaning.VALIDATED,
            Role.VALIDATOR,
            "Conceptual soundness, outcomes analysis and benchmarking complete.",
        )
        self.sign(p[approver], version, Meaning.APPROVED, Role.APPROVER, "Approved for use.")
        self.sign(
            p["marc"],
            version,
            Meaning.APPROVED,
            Role.MODEL_RISK_COMMITTEE,
            "Model Risk Committee approval.",
        )

    def authorize(
        self,
        p: dict[str, Principal],
        version: ModelVersion,
        use_case: Any,
        proposer: str,
        approver: str,
        conditions: list[str],
        fallback: ModelVersion | None = None,
    ) -> None:
        authorization = authorizations.propose_authorization(
            version=version,
            use_case=use_case,
            effective_on=timezone.localdate(),
            conditions=conditions,
            fallback=fallback,
            by=p[proposer],
        )
        self.sign(p[approver], authorization, Meaning.APPROVED, Role.APPROVER, "Authorized.")
        self.sign(
            p["marc"],
            authorization,
            Meaning.APPROVED,
            Role.MODEL_RISK_COMMITTEE,
            "Authorized by the Model Risk Committee.",
        )

    def credit_history(self, p: dict[str, Principal]) -> datetime:
        model = versions.register_model(
            slug="credit-pd",
            name="Retail credit PD",
            owner="Retail Credit Risk Analytics",
            domain="credit risk",
            risk_tier=RiskTier.HIGH,
            intended_purpose="12-month probability of default for US retail credit-card applicants",
            limitations="Not validated for small-business or thin-file applicants (< 6 months)",
            description="Gradient-boosted PD scorecard replacing the 2019 logistic scorecard.",
            by=p["dana"],
        )
        trainer = p["trainer"]
        v1 = self.register_version(model, credit_package(1, "0.7911", "0.3810"), by=trainer)
        self.sign(p["dana"], v1, Meaning.AUTHORED, Role.DEVELOPER, "Ready for validation.")
        self.sign(
            p["vic"],
            v1,
            Meaning.REJECTED,
            Role.VALIDATOR,
            "Outcomes analysis: KS 0.38 on the 2025 out-of-time vintage, below the 0.45 benchmark.",
        )
        v2 = self.register_version(model, credit_package(2, "0.8412", "0.5210"), by=trainer)
        self.approve_version(p, v2, "dana", "vic", "alice")
        use_case = authorizations.create_use_case(
            slug="us-retail-credit-pd",
            title="US retail credit PD scoring",
            model=model,
            population="US retail credit-card applicants with at least 6 months of history",
            description="Application scoring and limit assignment; ECL staging input.",
            by=p["alice"],
        )
        conditions = ["Annual revalidation", "Quarterly PSI below 0.25"]
        self.authorize(p, v2, use_case, "dana", "alice", conditions)
        versions.change_stage(version=v2, to=Stage.PRODUCTION, reason="CHG-20417", by=p["dana"])
        monitoring.set_threshold(model=model, metric="psi", upper="0.25", by=p["vic"])
        today = timezone.localdate()
        monitoring.record_monitoring(
            version=v2, metric="psi", value="0.07", window_start=today, window_end=today, by=trainer
        )
        v3 = self.register_version(model, credit_package(3, "0.8530", "0.5370"), by=trainer)
        self.approve_version(p, v3, "dana", "vic", "alice")
        self.authorize(p, v3, use_case, "dana", "alice", conditions, fallback=v2)
        versions.change_stage(version=v3, to=Stage.PRODUCTION, reason="CHG-20533", by=p["dana"])
        monitoring.record_monitoring(
            version=v3,
            metric="psi",
            value="0.31",
            window_start=today,
            window_end=today,
            segment="all",
            by=trainer,
        )
        before_rollback = timezone.now()
        reason = "PSI 0.31 above the 0.25 threshold on the first production day"
        authorizations.rollback(use_case=use_case, reason=reason, by=p["alice"])
        v3_authorization = use_case.authorizations.get(version=v3)
        self.sign(p["marc"], v3_authorization, Meaning.REVOKED, Role.MODEL_RISK_COMMITTEE, reason)
        return before_rollback

    def stroke_history(self, p: dict[str, Principal]) -> None:
        model = versions.register_model(
            slug="stroke-lvo",
            name="LVO stroke triage",
            owner="Neuro Imaging AI",
            domain="clinical imaging",
            risk_tier=RiskTier.HIGH,
            intended_purpose="Flag suspected large-vessel occlusion on CT angiography of adults "
            "for prioritised reading",
            limitations="Not for diagnosis; not validated under 18 years or on non-contrast CT",
            by=p["devi"],
        )
        use_case = authorizations.create_use_case(
            slug="lvo-triage-cta-adults",
            title="LVO stroke triage on CTA, adults",
            model=model,
            population="Adults (18+) with CT angiography of the head and neck for suspected stroke",
            by=p["quinn"],
        )
        v1 = self.register_version(model, stroke_package(1, "0.92"), by=p["devi"])
        self.approve_version(p, v1, "devi", "vera", "quinn")
        conditions = ["Radiologist reads every study", "Sites with 64-slice CT or better"]
        self.authorize(p, v1, use_case, "devi", "quinn", conditions)
        versions.change_stage(version=v1, to=Stage.PRODUCTION, reason="CR-118", by=p["devi"])
        v2 = self.register_version(model, stroke_package(2, "0.94"), by=p["devi"])
        self.approve_version(p, v2, "devi", "vera", "quinn")
        self.authorize(p, v2, use_case, "devi", "quinn", conditions, fallback=v1)
        versions.change_stage(version=v2, to=Stage.PRODUCTION, reason="CR-131", by=p["devi"])
        monitoring.set_threshold(model=model, metric="sensitivity", lower="0.85", by=p["vera"])
        today = timezone.localdate()
        for site, value in (("site-a", "0.95"), ("site-b", "0.92")):
            monitoring.record_monitoring(
                version=v2,
                metric="sensitivity",
                value=value,
                segment=site,
                window_start=today,
                window_end=today,
                by=p["devi"],
            )
