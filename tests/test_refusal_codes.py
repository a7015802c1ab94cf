"""A refusal names its rule by a code: pages pick what to add by the code, never by wording."""

from pathlib import Path

import pytest

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.errors import DomainError
from auditreg.registry import rules
from auditreg.registry.domain import Meaning
from auditreg.registry.services import signatures
from portal.views.signoff import HINTS
from tests.factories import make_model, make_version, password, submit

pytestmark = pytest.mark.django_db


def refused(who, version, meaning, role, secret, comment="ok") -> str:
    with pytest.raises(DomainError) as caught:
        signatures.sign(
            record=version,
            meaning=meaning,
            role=role,
            password=secret,
            comment=comment,
            by=who,
        )
    return caught.value.code


def test_each_signing_refusal_carries_its_rules_code(people):
    version = submit(people, make_version(people, make_model(people)))
    vic, dana = people.vic, people.dana
    validated, validator = Meaning.VALIDATED, Role.VALIDATOR
    assert refused(vic, version, validated, validator, "guess") == "wrong_password"
    assert refused(dana, version, validated, validator, password("dana")) == "wrong_role"
    assert refused(vic, version, Meaning.REJECTED, validator, password("vic"), " ") == (
        "reason_required"
    )
    accounts.grant_role(principal=dana, role=Role.VALIDATOR, by=people.ada)
    dana = type(dana).objects.get(pk=dana.pk)
    assert refused(dana, version, validated, validator, password("dana")) == (
        "separation_of_duties"
    )


def test_every_hint_the_sign_page_gives_is_for_a_code_the_services_raise():
    """The codes are raised by the signing service, the rules it applies and the role check."""
    modules = [signatures, rules, accounts]
    source = "".join(Path(str(module.__file__)).read_text() for module in modules)
    for code in HINTS:
        assert f'code="{code}"' in source, code
