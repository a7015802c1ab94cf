"""M2, M3, M4: one password lock-out for every place a password is entered.

M2: concurrent guesses were all checked (the count came after the slow hash). M3: the
administration's sign-in knew nothing of the lock-out. M4: the password re-entered to sign
could be guessed without limit by whoever held the session.
"""

import threading
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings

from auditreg.accounts.domain import Role
from auditreg.accounts.models import PasswordFailure
from auditreg.errors import DomainError
from auditreg.ledger.models import Entry
from auditreg.registry.domain import Meaning
from auditreg.registry.models import Signature
from auditreg.registry.services import signatures
from tests.conftest import postgres_only
from tests.factories import make_model, make_version, password, submit
from tests.test_portal import sign_in

LIMIT = 5  # AUDITREG_SIGNIN_MAX_FAILURES's default
LOCKED = "locked until"
WRONG = "did not match"


def outcome(response) -> str:
    if response.status_code == 302:
        return "signed in"
    if LOCKED in response.text:
        return "locked"
    assert WRONG in response.text, response.text
    return "wrong"


# --- M2: concurrent guesses --------------------------------------------------------------------


@postgres_only
def test_sixteen_concurrent_guesses_check_at_most_the_limit(transactional_db, people):
    # A real hash, slow as in production, so the guesses overlap while it is computed.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        user = get_user_model().objects.get(username="olga")
        user.set_password(password("olga"))
        user.save()
    guesses = [f"guess-{n}" for n in range(15)] + [password("olga")]
    barrier = threading.Barrier(len(guesses))
    outcomes: list[str] = []

    def guess(secret: str) -> None:
        try:
            client = Client()
            barrier.wait()
            outcomes.append(outcome(sign_in(client, "olga", secret)))
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(secret,)) for secret in guesses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    counts = Counter(outcomes)
    assert counts["wrong"] + counts["signed in"] <= LIMIT, counts  # passwords checked
    assert counts["locked"] >= len(guesses) - LIMIT, counts


@pytest.mark.django_db
def test_the_attempt_is_counted_before_the_password_is_checked(people, client, monkeypatch):
    """While the hash is computed, the attempt already counts against the username."""
    user_model = get_user_model()
    seen: list[int] = []
    check_password = user_model.check_password

    def counting_check(self, raw_password):
        seen.append(PasswordFailure.objects.filter(username="olga").count())
        return check_password(self, raw_password)

    monkeypatch.setattr(user_model, "check_password", counting_check)
    sign_in(client, "olga", "wrong")
    assert seen == [1]


# --- M3: the administration's sign-in ----------------------------------------------------------


@pytest.fixture
def staff_ada(people):
    user = get_user_model().objects.get(username="ada")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.mark.django_db
def test_a_username_locked_at_the_portal_cannot_sign_in_to_the_administration(staff_ada, client):
    for _ in range(LIMIT + 1):
        sign_in(client, "ada", "guess")
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "ada", "password": password("ada")}
    )
    assert response.status_code == 200  # the form again, not a redirect to /admin/
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # and no portal session either


@pytest.mark.django_db
def test_guesses_at_the_administration_count_towards_the_lock_out(staff_ada, client):
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "ada", "password": "guess"})
    assert PasswordFailure.objects.filter(username="ada").count() == LIMIT
    assert outcome(sign_in(client, "ada")) == "locked"


# --- M4: the password re-entered to sign -------------------------------------------------------


def validate(who, version, secret: str):
    return signatures.sign(
        record=version,
        meaning=Meaning.VALIDATED,
        role=Role.VALIDATOR,
        password=secret,
        comment="ok",
        by=who,
    )


@pytest.fixture
def in_validation(people):
    return submit(people, make_version(people, make_model(people)))


@pytest.mark.django_db
def test_wrong_signing_passwords_lock_signing_and_the_refusal_is_recorded(people, in_validation):
    for _ in range(LIMIT):
        with pytest.raises(DomainError, match="not correct"):
            validate(people.vic, in_validation, "guess")
    failed_before = Entry.objects.filter(kind="signature.failed").count()

    with pytest.raises(DomainError, match="locked until"):
        validate(people.vic, in_validation, password("vic"))  # the right one

    refusals = Entry.objects.filter(kind="signature.failed").order_by("seq")
    assert refusals.count() == failed_before + 1
    last = refusals.last()
    assert last is not None and "locked until" in bytes(last.body).decode()
    assert not Signature.objects.filter(subject=in_validation.subject, meaning="validated")


@pytest.mark.django_db
def test_wrong_signing_passwords_lock_signing_in_too(people, in_validation, client):
    for _ in range(LIMIT):
        with pytest.raises(DomainError):
            validate(people.vic, in_validation, "guess")
    assert outcome(sign_in(client, "vic")) == "locked"


@pytest.mark.django_db
def test_the_sign_page_refuses_a_locked_signer(people, in_validation, client):
    sign_in(client, "vic")
    url = "/models/credit-pd/versions/1/sign?meaning=validated&role=validator"
    for n in range(LIMIT + 1):
        page = client.get(url)
        form = {
            "meaning": "validated",
            "role": "validator",
            "content_sha256": page.context["content_sha256"],
            "comment": "ok",
            "password": password("vic") if n == LIMIT else "guess",
        }
        response = client.post(url, form)
    assert LOCKED in response.text
    assert not Signature.objects.filter(subject=in_validation.subject, meaning="validated")


@pytest.mark.django_db
def test_a_right_signing_password_clears_earlier_failures(people, in_validation):
    for _ in range(LIMIT - 1):
        with pytest.raises(DomainError):
            validate(people.vic, in_validation, "guess")
    validate(people.vic, in_validation, password("vic"))
    assert not PasswordFailure.objects.filter(username="vic").exists()


# --- I6: the counter keeps one window of attempts ----------------------------------------------


@pytest.mark.django_db
def test_attempts_older_than_the_window_are_forgotten(clock, people, client):
    for n in range(20):
        sign_in(client, f"nobody-{n}", "guess")  # any username typed is counted
    assert PasswordFailure.objects.count() == 20
    clock.advance(minutes=16)
    sign_in(client, "olga", "guess")
    assert list(PasswordFailure.objects.values_list("username", flat=True)) == ["olga"]
