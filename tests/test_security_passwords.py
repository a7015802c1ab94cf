"""M6: no password is set without a ledger record, and none set behind its back is usable.

An administrator once set a signer's password in the Django admin, with no record, then
signed as that person. Now the Django admin does not edit accounts at all, every password
set is a `principal.password_set` fact (who set it and why, never the password), and a
password set any other way (Django's `changepassword`, the database) neither signs in nor
signs.
"""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.errors import DomainError
from auditreg.ledger.models import Entry
from auditreg.registry.domain import Meaning
from auditreg.registry.models import Signature
from auditreg.registry.services import signatures
from tests.factories import make_model, make_version, password, sign, submit
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db

CHOSEN = "root-chose-this-1"


@pytest.fixture
def root_client(people):
    """ada as a Django superuser, signed in to the administration."""
    user = get_user_model().objects.get(username="ada")
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    assert sign_in(client, "ada").status_code == 302
    return client


def set_behind_the_ledger(username: str, secret: str) -> None:
    """What Django's changepassword, a shell or the database can still do."""
    user = get_user_model().objects.get(username=username)
    user.set_password(secret)
    user.save()


def test_the_django_admin_does_not_edit_users_passwords_or_groups(people, root_client):
    vic = get_user_model().objects.get(username="vic")
    for url in (
        "/admin/auth/user/",
        f"/admin/auth/user/{vic.pk}/change/",
        f"/admin/auth/user/{vic.pk}/password/",
        "/admin/auth/group/add/",
    ):
        assert root_client.get(url).status_code == 404, url
    answer = root_client.post(
        f"/admin/auth/user/{vic.pk}/password/", {"password1": CHOSEN, "password2": CHOSEN}
    )
    assert answer.status_code == 404
    assert get_user_model().objects.get(username="vic").check_password(password("vic"))


def test_a_password_set_behind_the_ledger_neither_signs_in_nor_signs(people):
    version = submit(people, make_version(people, make_model(people)))
    set_behind_the_ledger("vic", CHOSEN)

    assert sign_in(Client(), "vic", CHOSEN).status_code == 200  # refused
    with pytest.raises(DomainError, match="set outside auditreg's record"):
        signatures.sign(
            record=version,
            meaning=Meaning.VALIDATED,
            role=Role.VALIDATOR,
            password=CHOSEN,
            comment="ok",
            by=people.vic,
        )
    assert not Signature.objects.filter(subject=version.subject, meaning="validated")
    assert Entry.objects.filter(kind="signature.failed", actor="user:vic").exists()


def test_every_password_set_is_a_ledger_fact_without_the_password(people):
    accounts.set_password(
        person=people.vic, password=CHOSEN, reason="reset: ticket HR-4411", by=people.ada
    )
    entry = Entry.objects.filter(kind="principal.password_set", subject="user:vic").last()
    assert entry is not None and entry.actor == "user:ada"
    assert entry.payload == {"reason": "reset: ticket HR-4411"}
    assert CHOSEN not in bytes(entry.body).decode()
    assert sign_in(Client(), "vic", CHOSEN).status_code == 302


def test_only_an_administrator_or_the_person_sets_a_password(people):
    with pytest.raises(DomainError, match="reset other people's passwords"):
        accounts.set_password(person=people.vic, password=CHOSEN, reason="x", by=people.alice)
    accounts.set_password(person=people.vic, password=CHOSEN, reason="my own", by=people.vic)
    assert sign_in(Client(), "vic", CHOSEN).status_code == 302


def test_the_console_sets_a_password_that_is_recorded(people, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{CHOSEN}-long-enough\n"))
    call_command("set_password", "vic", "--stdin", "--reason", "CHG-77", stdout=io.StringIO())
    entry = Entry.objects.filter(kind="principal.password_set", subject="user:vic").last()
    assert entry is not None and entry.actor == "system:manage"
    assert sign_in(Client(), "vic", f"{CHOSEN}-long-enough").status_code == 302


def test_a_rehash_of_a_recorded_password_keeps_it_recorded(people, settings):
    version = submit(people, make_version(people, make_model(people)))
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert sign_in(Client(), "vic").status_code == 302  # Django re-hashes on the way
    assert get_user_model().objects.get(username="vic").password.startswith("pbkdf2_")
    assert sign(people.vic, version, Meaning.VALIDATED, Role.VALIDATOR).meaning == "validated"
