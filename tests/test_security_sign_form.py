"""L5: the content hash a signer was shown is checked for shape before anything is
recorded, and a refusal written to the ledger is bounded, so one POST cannot append a
900 KB permanent entry."""

import pytest

from auditreg.ledger.models import Entry
from tests.factories import make_model, make_version, password
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db

URL = "/models/credit-pd/versions/1/sign"


def test_an_oversized_content_hash_is_refused_and_records_a_small_entry(people, client):
    make_version(people, make_model(people))
    sign_in(client, "dana")
    form = {
        "meaning": "authored",
        "role": "developer",
        "content_sha256": "x" * 900_000,
        "comment": "mine",
        "password": password("dana"),
    }
    response = client.post(URL, form)
    assert response.status_code == 200
    assert "must be named by its sha256" in response.text
    refusal = Entry.objects.filter(kind="signature.failed").last()
    assert refusal is not None and len(bytes(refusal.body)) < 2_000
    assert not Entry.objects.filter(kind="signature.signed").exists()


@pytest.mark.parametrize("shown", ["", "sha256:" + "0" * 63, "SHA256:" + "a" * 64, "md5:abc"])
def test_a_malformed_content_hash_signs_nothing(people, client, shown):
    make_version(people, make_model(people))
    sign_in(client, "dana")
    form = {
        "meaning": "authored",
        "role": "developer",
        "content_sha256": shown,
        "comment": "mine",
        "password": password("dana"),
    }
    assert client.post(URL, form).status_code == 200
    assert not Entry.objects.filter(kind="signature.signed").exists()
