"""One of several processes racing on the registry (see test_registry_races).

python -m tests.registry_racer setup
python -m tests.registry_racer register
python -m tests.registry_racer sign USERNAME ROLE
"""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auditreg.settings")
django.setup()

from auditreg.accounts.domain import Role  # noqa: E402
from auditreg.accounts.models import Principal  # noqa: E402
from auditreg.errors import DomainError  # noqa: E402
from auditreg.registry.domain import Meaning  # noqa: E402
from auditreg.registry.models import ModelVersion, RegisteredModel  # noqa: E402
from auditreg.registry.services import signatures, versions  # noqa: E402
from tests.factories import (  # noqa: E402
    make_model,
    make_package,
    make_people,
    make_version,
    password,
    sign,
    submit,
)
from tests.racing import contending  # noqa: E402


def setup() -> None:
    people = make_people()
    version = submit(people, make_version(people, make_model(people)))
    sign(people.vic, version, Meaning.VALIDATED, Role.VALIDATOR)


def register() -> None:
    trainer = Principal.objects.get(actor_id="service:trainer")
    model = RegisteredModel.objects.get(slug="credit-pd")
    with contending():
        versions.register_version(model=model, package=make_package(99), by=trainer)


def sign_final(username: str, role: str) -> None:
    signer = Principal.objects.get(actor_id=f"user:{username}")
    version = ModelVersion.objects.get(subject="model:credit-pd/1")
    with contending():
        try:
            signatures.sign(
                record=version,
                meaning=Meaning.APPROVED,
                role=Role(role),
                password=password(username),
                by=signer,
            )
        except DomainError as refusal:  # a loser of the race is refused, never double-counted
            print(f"refused: {refusal}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "setup":
        setup()
    elif command == "register":
        register()
    else:
        sign_final(args[0], args[1])
