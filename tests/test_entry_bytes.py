"""The write path assembles an entry's canonical bytes from canonicalized parts (so the slow
part runs outside the append lock); they must equal RFC 8785 over the whole document."""

from datetime import UTC, datetime

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from auditreg.proofs.entry import Actor, entry_bytes, format_time

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    payload=st.dictionaries(st.text(), json_values, max_size=6),
    name=st.text(min_size=1, max_size=200).filter(str.strip),
    seq=st.integers(min_value=0, max_value=2**53 - 1),
    micros=st.integers(min_value=0, max_value=10**15),
)
def test_entry_bytes_equal_rfc8785_of_the_whole_document(payload, name, seq, micros):
    time = datetime.fromtimestamp(micros / 1e6, tz=UTC)
    actor = Actor("user:alice", name)
    prev = "ab" * 32
    document = {
        "actor": {"id": actor.id, "name": name},
        "kind": "test.recorded",
        "payload": payload,
        "prev": prev,
        "seq": seq,
        "subject": "model:credit-pd/3",
        "time": format_time(time),
    }
    built = entry_bytes(
        seq=seq,
        time=time,
        kind="test.recorded",
        subject="model:credit-pd/3",
        actor=actor,
        payload=payload,
        prev=prev,
    )
    assert built == rfc8785.dumps(document)


def test_time_is_fixed_width_utc_with_microseconds():
    assert format_time(datetime(2026, 3, 31, 12, 0, tzinfo=UTC)) == "2026-03-31T12:00:00.000000Z"
