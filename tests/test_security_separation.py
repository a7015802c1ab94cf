"""M5: separation of duties holds across corrections.

A correction voids the signatures bound to the old facts, and once that also took their
signers out of "who built this version": the developer who signed *authored*, corrected
the version and then validated it had his validation counted.
"""

import pytest

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.registry.domain import Meaning
from auditreg.registry.services import signatures, versions
from tests.factories import make_model, make_package, make_version, password, sign, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def pat(people):
    """A developer who is also a validator."""
    return accounts.enroll_person(
        username="pat",
        printed_name="Pat Twohats",
        roles=[Role.DEVELOPER, Role.VALIDATOR],
        password=password("pat"),
        by=people.ada,
    )


def corrected(version, by, **changes):
    package = {**make_package(1), **changes}
    return versions.correct_version(version=version, package=package, reason="typo", by=by)


def test_who_signed_authored_cannot_validate_after_correcting_the_version(people, pat):
    version = make_version(people, make_model(people))
    sign(pat, version, Meaning.AUTHORED, Role.DEVELOPER)
    with pytest.raises(DomainError, match="separation of duties"):
        sign(pat, version, Meaning.VALIDATED, Role.VALIDATOR)

    version = corrected(version, pat, metrics={"auc": "0.85"})

    with pytest.raises(DomainError, match="separation of duties"):
        sign(pat, version, Meaning.VALIDATED, Role.VALIDATOR)


def test_a_code_author_dropped_by_a_correction_still_cannot_validate(people, pat):
    version = make_version(people, make_model(people))  # code and run authored by dana
    accounts.grant_role(principal=people.dana, role=Role.VALIDATOR, by=people.ada)
    version = submit(people, version)
    new_authors = {"code": {**make_package(1)["code"], "authors": ["user:pat"]}}
    version = corrected(
        version,
        pat,
        training_run={"id": "run:credit-pd/1", "authors": ["user:pat"]},
        **new_authors,
    )
    dana = Principal.objects.get(actor_id="user:dana")  # with the role just granted
    with pytest.raises(DomainError, match="separation of duties"):
        sign(dana, version, Meaning.VALIDATED, Role.VALIDATOR)


def test_whoever_corrected_the_facts_cannot_validate_them(people, pat):
    version = submit(people, make_version(people, make_model(people)))
    version = corrected(version, pat, metrics={"auc": "0.85"})
    with pytest.raises(DomainError, match="separation of duties"):
        sign(pat, version, Meaning.VALIDATED, Role.VALIDATOR)


def test_who_signed_authored_cannot_request_changes_after_a_correction(people, pat):
    version = make_version(people, make_model(people))
    sign(pat, version, Meaning.AUTHORED, Role.DEVELOPER)
    version = corrected(version, people.dana, metrics={"auc": "0.85"})
    with pytest.raises(DomainError, match="separation of duties"):
        signatures.request_changes(version=version, role=Role.VALIDATOR, comment="?", by=pat)


def test_an_independent_validator_still_validates_a_corrected_version(people):
    version = submit(people, make_version(people, make_model(people)))
    version = corrected(version, people.dana, metrics={"auc": "0.85"})
    signature = sign(people.vic, version, Meaning.VALIDATED, Role.VALIDATOR)
    assert signature.meaning == Meaning.VALIDATED
