"""Principals and their roles as a function of ledger entries (see auditreg.facts.kernel).

Pure code (no Django). Applied first: every other projection may name a principal.
Tokens are a credential store the ledger does not rebuild; `accounts.tokens` compares the
columns it records.
"""

from collections.abc import Callable

from auditreg.facts.kernel import Applier, Fact, Projection, Store, dispatch, require

# Each table's natural key, in dependency order (a table refers only to those above it).
KEYS: dict[str, tuple[str, ...]] = {
    "principal": ("actor_id",),
    "role_assignment": ("principal_id", "role"),
}


def _principal_enrolled(fact: Fact, store: Store) -> None:
    p = fact.payload
    store.insert(
        "principal",
        {
            "actor_id": fact.subject,
            "kind": p["kind"],
            "username": p["username"],
            "printed_name": p["printed_name"],
            "time_zone": p["time_zone"],
            "active": True,
            "enrolled_seq": fact.seq,
            "updated_seq": fact.seq,
        },
    )


def _principal_active(active: bool) -> Callable[[Fact, Store], None]:
    def apply(fact: Fact, store: Store) -> None:
        require(store, "principal", {"actor_id": fact.subject}, fact)
        store.update(
            "principal", {"actor_id": fact.subject}, {"active": active, "updated_seq": fact.seq}
        )

    return apply


def _role_granted(fact: Fact, store: Store) -> None:
    require(store, "principal", {"actor_id": fact.subject}, fact)
    store.insert(
        "role_assignment",
        {"principal_id": fact.subject, "role": fact.payload["role"], "granted_seq": fact.seq},
    )


def _role_revoked(fact: Fact, store: Store) -> None:
    key = {"principal_id": fact.subject, "role": fact.payload["role"]}
    require(store, "role_assignment", key, fact)
    store.delete("role_assignment", key)


def _recorded_only(fact: Fact, store: Store) -> None:
    """Recorded for the history: the credential itself is Django's."""


APPLY: dict[str, Applier] = {
    "principal.enrolled": _principal_enrolled,
    "principal.deactivated": _principal_active(False),
    "principal.reactivated": _principal_active(True),
    "principal.password_set": _recorded_only,
    "role.granted": _role_granted,
    "role.revoked": _role_revoked,
}

PROJECTION = Projection(
    name="accounts",
    keys=KEYS,
    tables="auditreg.accounts.models.TABLES",
    apply=dispatch(APPLY),
    kinds=frozenset(APPLY),
    extra_check="auditreg.accounts.tokens.compare_tokens",
)
