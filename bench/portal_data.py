"""The portal benchmark's data: a bank-sized registry and a valid million-entry ledger.

Every fact is built as the services would record it (the same kinds, subjects, actors and
payload shapes), sealed into the chain exactly as `append` seals it (same canonical bytes,
hashes, links and stored subtrees) and written with COPY; the registry rows are what the
projection makes of those same facts (`projection.project_all` into a `MemoryStore`), loaded
with COPY afterwards. So `verify_ledger` accepts the chain and the registry agrees with it,
but no service call checked the rules on the way: the histories follow the rules by
construction, not by enforcement. Sign-in accounts (Django users) are created directly.
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.tables import copy_store

READER_PASSWORD = "bench-portal-reader-password"  # noqa: S105 - scratch database only
READERS = 20  # one account per virtual user
DOMAINS = [
    "credit risk",
    "fraud",
    "anti-money laundering",
    "market risk",
    "treasury",
    "marketing",
    "collections",
    "clinical imaging",
]
TIERS = ["high"] * 3 + ["medium"] * 4 + ["low"] * 3
STAFF = [("dev", 40, "developer"), ("val", 12, "validator"), ("apr", 12, "approver")]
STAFF += [("mrc", 6, "model_risk_committee"), ("aud", 4, "auditor")]
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "UTC"]
METRICS = ["psi", "auc", "ks", "brier", "default_rate"]
POLICIES = {
    "high": ([("validator", "validated"), ("approver", "approved")], 12),
    "medium": ([("validator", "validated"), ("approver", "approved")], 18),
    "low": ([("approver", "approved")], 24),
}


@dataclass
class Chain:
    """The ledger being written: seals each fact and COPYs it, and projects it."""

    copy: Any
    store: Any
    start: datetime
    step: timedelta
    seq: int = 0
    prev: str = "0" * 64
    frontier: Any = None
    names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from auditreg.proofs.subtrees import Frontier

        self.frontier = Frontier()

    @property
    def now(self) -> datetime:
        return self.start + self.step * self.seq

    def fact(self, kind: str, subject: str, actor: str, payload: dict[str, Any]) -> int:
        from auditreg.facts.kernel import Fact
        from auditreg.facts.projections import project_all
        from auditreg.proofs import merkle
        from auditreg.proofs.entry import Actor, draft

        seq, moment = self.seq, self.now
        body = draft(
            kind=kind, subject=subject, actor=Actor(actor, self.names[actor]), payload=payload
        ).seal(seq=seq, time=moment, prev=self.prev)
        leaf = merkle.leaf_hash(body)
        subtrees = b"".join(self.frontier.append(leaf))
        self.copy.write_row((seq, moment, kind, subject, actor, leaf, subtrees, body))
        project_all(Fact(seq, moment, kind, subject, actor, payload), self.store)
        self.prev = leaf.hex()
        self.seq += 1
        return seq


@dataclass
class Person:
    actor: str
    username: str
    name: str
    zone: str
    role: str


class Generator:
    """Facts in the order a bank records them: version 1 of every model, then version 2 of
    every model, and so on, so each model's history is spread over the whole time line."""

    def __init__(self, chain: Chain, models: int, versions: int, entries: int, seed: int):
        self.chain = chain
        self.models = models
        self.per_model = versions // models
        self.entries = entries
        self.rng = random.Random(seed)
        self.staff: dict[str, list[Person]] = {}
        self.production: dict[int, str] = {}  # model index -> subject of its production version
        self.auth_numbers: dict[int, int] = {}

    # --- people and policies ---------------------------------------------------------------

    def people(self) -> list[Person]:
        admin = Person("user:adm01", "adm01", "Bench Administrator", "UTC", "administrator")
        self.enroll(admin, by="system:manage")
        everyone = [admin]
        for prefix, count, role in STAFF:
            group = []
            for number in range(1, count + 1):
                person = Person(
                    f"user:{prefix}{number:02d}",
                    f"{prefix}{number:02d}",
                    f"{prefix.title()} Person {number:02d}",
                    ZONES[number % len(ZONES)],
                    role,
                )
                self.enroll(person, by=admin.actor)
                group.append(person)
            self.staff[role] = group
            everyone += group
        trainer = Person("service:trainer", "trainer", "Bench trainer", "UTC", "developer")
        self.enroll(trainer, by=admin.actor, kind="service")
        self.staff["trainer"] = [trainer]
        for tier, (approval, months) in POLICIES.items():
            self.chain.fact(
                "policy.set",
                f"policy:{tier}",
                self.staff["model_risk_committee"][0].actor,
                {
                    "risk_tier": tier,
                    "approval": [{"role": r, "meaning": m, "count": 1} for r, m in approval],
                    "authorization": [{"role": "approver", "meaning": "approved", "count": 1}],
                    "review_months": months,
                },
            )
        return everyone

    def enroll(self, person: Person, *, by: str, kind: str = "person") -> None:
        self.chain.names[person.actor] = person.name
        self.chain.names.setdefault("system:manage", "auditreg command line")
        payload = {
            "kind": kind,
            "username": person.username,
            "printed_name": person.name,
            "time_zone": person.zone,
        }
        self.chain.fact("principal.enrolled", person.actor, by, payload)
        self.chain.fact("role.granted", person.actor, by, {"role": person.role})

    def pick(self, role: str) -> Person:
        return self.rng.choice(self.staff[role])

    # --- models ----------------------------------------------------------------------------

    def slug(self, index: int) -> str:
        return f"{DOMAINS[index % len(DOMAINS)].split()[0]}-model-{index:05d}"

    def tier(self, index: int) -> str:
        return TIERS[index % len(TIERS)]

    def register_models(self) -> None:
        for index in range(self.models):
            slug, domain = self.slug(index), DOMAINS[index % len(DOMAINS)]
            owner = f"{domain.title()} Team {1 + index % 12}"
            developer = self.pick("developer").actor
            self.chain.fact(
                "model.registered",
                f"model:{slug}",
                developer,
                {
                    "slug": slug,
                    "name": f"{domain.title()} model {index:05d}",
                    "owner": owner,
                    "description": f"Scores for {domain}",
                    "intended_purpose": f"Decisions in {domain}",
                    "limitations": "Not validated outside its population",
                    "domain": domain,
                    "risk_tier": self.tier(index),
                },
            )
            self.chain.fact(
                "usecase.created",
                f"usecase:{slug}-use",
                self.pick("approver").actor,
                {
                    "slug": f"{slug}-use",
                    "title": f"{domain.title()} decisions, model {index:05d}",
                    "description": "",
                    "population": "Retail customers",
                    "model": slug,
                },
            )
            self.chain.fact(
                "threshold.set",
                f"model:{slug}",
                self.pick("validator").actor,
                {"metric": "psi", "segment": "all", "lower": None, "upper": "0.25"},
            )

    # --- versions --------------------------------------------------------------------------

    def versions(self, number: int) -> None:
        """Version `number` of every model, with its fate: the last is in development (a
        twentieth waiting in validation), the one before approved, a rejected one now and
        then, and the rest through validation into production, each superseding the last."""
        last = self.per_model
        for index in range(self.models):
            subject = self.register(index, number)
            if number == last:
                if self.rng.random() < 0.05:
                    self.submit(subject)
                continue
            self.submit(subject)
            if number == last - 1:
                if self.rng.random() < 0.02:
                    self.approve(index, subject)
                    self.propose(index, subject, activate=False)
                else:
                    self.approve(index, subject)
                continue
            if number % 7 == 0:
                self.reject(subject)
                continue
            self.approve(index, subject)
            self.release(index, subject)

    def register(self, index: int, number: int) -> str:
        from auditreg.proofs.checks import sha256_of
        from bench.registry import make_package

        slug = self.slug(index)
        authors = [self.pick("developer").actor]
        package = make_package(slug, number, authors, index, self.rng)
        subject = f"model:{slug}/{number}"
        payload = {
            "model": slug,
            "number": number,
            "package": package,
            "package_digest": sha256_of(package),
        }
        self.chain.fact("version.registered", subject, self.staff["trainer"][0].actor, payload)
        return subject

    def sign(self, subject: str, person: Person, meaning: str, stage: str, facts: str) -> None:
        from auditreg.proofs.checks import sha256_of
        from auditreg.registry.domain import signed_content

        content = signed_content(
            record=subject, facts=facts, decision={"meaning": meaning, "role": person.role}
        )
        if not subject.startswith("authorization:"):
            content["decision"]["stage"] = stage
        signed_at = self.chain.now.astimezone(_zone(person.zone))
        payload = {
            "meaning": meaning,
            "role": person.role,
            "username": person.username,
            "printed_name": person.name,
            "signed_at": signed_at.isoformat(timespec="microseconds"),
            "time_zone": person.zone,
            "comment": f"{meaning} after review",
            "content": content,
            "content_sha256": sha256_of(content),
        }
        self.chain.fact("signature.signed", subject, person.actor, payload)

    def digest_of(self, subject: str) -> str:
        return str(self.chain.store.get("version", {"subject": subject})["package_digest"])

    def stage(self, subject: str, to: str, by: str, reason: str) -> None:
        current = self.chain.store.get("version", {"subject": subject})["stage"]
        payload = {"from": current, "to": to, "reason": reason}
        self.chain.fact("stage.changed", subject, by, payload)

    def submit(self, subject: str) -> None:
        author = self.pick("developer")
        self.sign(subject, author, "authored", "development", self.digest_of(subject))
        self.stage(subject, "validation", author.actor, "submitted for validation")

    def approve(self, index: int, subject: str) -> None:
        approval, _ = POLICIES[self.tier(index)]
        last = None
        for role, meaning in approval:
            last = self.pick(role)
            self.sign(subject, last, meaning, "validation", self.digest_of(subject))
        assert last is not None
        self.stage(subject, "approved", last.actor, "approval policy met")

    def reject(self, subject: str) -> None:
        validator = self.pick("validator")
        self.sign(subject, validator, "rejected", "validation", self.digest_of(subject))
        self.stage(subject, "rejected", validator.actor, "rejected in validation")

    def release(self, index: int, subject: str) -> None:
        """Authorized for the model's use case (the production version as fallback), into
        production; the version it replaces is deprecated."""
        self.propose(index, subject, activate=True)
        developer = self.pick("developer").actor
        self.stage(subject, "production", developer, "CHG-release")
        previous = self.production.get(index)
        if previous is not None:
            self.stage(previous, "deprecated", developer, "superseded")
        self.production[index] = subject

    def propose(self, index: int, subject: str, *, activate: bool) -> None:
        from auditreg.proofs.checks import sha256_of

        use_case = f"{self.slug(index)}-use"
        number = self.auth_numbers.get(index, 0) + 1
        self.auth_numbers[index] = number
        auth = f"authorization:{use_case}/{number}"
        effective = self.chain.now.date()
        # Expiries spread from weeks away to two years: some fall in the 30/60/90-day windows.
        expires = date.today() + timedelta(days=self.rng.randrange(5, 730))
        facts = {
            "use_case": use_case,
            "number": number,
            "version": subject,
            "conditions": ["Quarterly PSI below 0.25"],
            "fallback": self.production.get(index),
            "effective_on": effective.isoformat(),
            "expires_on": expires.isoformat(),
            "effective_from": _midnight(effective).isoformat(),
            "expires_at": (_midnight(expires) + timedelta(days=1)).isoformat(),
        }
        payload = {**facts, "facts_digest": sha256_of(facts)}
        self.chain.fact("authorization.proposed", auth, self.pick("developer").actor, payload)
        if not activate:
            return
        approver = self.pick("approver")
        self.sign(auth, approver, "approved", "", str(payload["facts_digest"]))
        self.chain.fact("authorization.activated", auth, approver.actor, {})

    # --- monitoring ------------------------------------------------------------------------

    def monitoring(self) -> None:
        """Daily figures for the versions in production, up to the ledger's size."""
        in_use = sorted(self.production.items())
        day = 0
        while self.chain.seq < self.entries:
            for _, subject in in_use:
                if self.chain.seq >= self.entries:
                    return
                metric = METRICS[day % len(METRICS)]
                window = date.today() - timedelta(days=2 + day // len(METRICS))
                value = f"0.{self.rng.randrange(100, 999)}"
                if metric == "psi":
                    value = f"0.{self.rng.randrange(10, 24):02d}"
                threshold = (
                    {"metric": "psi", "segment": "all", "lower": None, "upper": "0.25"}
                    if metric == "psi"
                    else None
                )
                self.chain.fact(
                    "monitoring.recorded",
                    subject,
                    self.staff["trainer"][0].actor,
                    {
                        "metric": metric,
                        "value": value,
                        "segment": "all",
                        "window_start": window.isoformat(),
                        "window_end": window.isoformat(),
                        "threshold": threshold,
                        "breach": False,
                    },
                )
            day += 1


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def generate(models: int, versions: int, entries: int, seed: int) -> None:
    """Fill the (migrated, empty) database: the ledger by COPY as it is built, then the
    projected registry rows, then the sign-in accounts."""
    from django.db import connection

    from auditreg.facts.kernel import MemoryStore
    from auditreg.facts.projections import keys

    connection.ensure_connection()
    raw = connection.connection
    store = MemoryStore(keys())
    now = datetime.now(UTC)
    start = now - timedelta(days=3 * 365)
    step = (now - timedelta(hours=1) - start) / entries
    columns = "seq, recorded_at, kind, subject, actor, hash, subtrees, body"
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY ledger_entry ({columns}) FROM STDIN") as copy,
    ):
        chain = Chain(copy=copy, store=store, start=start, step=step)
        generator = Generator(chain, models, versions, entries, seed)
        generator.people()
        generator.register_models()
        for number in range(1, generator.per_model + 1):
            generator.versions(number)
        generator.monitoring()
    raw.commit()
    copy_store(store)
    accounts(generator)


def accounts(generator: Generator) -> None:
    """Django accounts for the people who sign in: the readers the virtual users use."""
    from django.contrib.auth.models import User

    for person in readers(generator):
        User.objects.create_user(username=person.username, password=READER_PASSWORD)


def readers(generator: Generator) -> list[Person]:
    roles = ("validator", "approver", "model_risk_committee", "auditor")
    pool = [person for role in roles for person in generator.staff[role]]
    return pool[:READERS]


def reader_usernames() -> list[str]:
    """The accounts' names, as `accounts` creates them (for a database generated earlier)."""
    names = []
    for prefix, count, role in STAFF:
        if role in ("validator", "approver", "model_risk_committee", "auditor"):
            names += [f"{prefix}{n:02d}" for n in range(1, count + 1)]
    return names[:READERS]
