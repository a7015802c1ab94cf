"""One list of the kinds of fact, and the write path refuses any other."""

import pytest

from auditreg.accounts import projection as accounts
from auditreg.accounts.tokens import TOKEN_KINDS
from auditreg.errors import DomainError
from auditreg.facts.kinds import Kind
from auditreg.facts.record import write_fact
from auditreg.ledger.models import Entry
from auditreg.registry import projection as registry
from lineage import projection as lineage


@pytest.mark.django_db
def test_a_kind_outside_the_list_is_refused_and_nothing_is_appended(people):
    before = Entry.objects.count()
    with pytest.raises(DomainError, match="not a kind of fact"):
        write_fact(kind="version.deleted", subject="model:credit-pd/1", payload={}, by=people.ada)
    assert Entry.objects.count() == before


def test_every_kind_is_projected_or_known_to_be_kept_elsewhere():
    projected = set(accounts.APPLY) | set(registry.APPLY) | set(lineage.APPLY) | TOKEN_KINDS
    assert projected <= set(Kind)
    # Report requests and issues are the reports app's own table (it is not rebuilt).
    assert {str(kind) for kind in Kind} - projected == {"report.requested", "report.issued"}
