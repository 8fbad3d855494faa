"""Random corruption of a valid weight file's bytes, for fuzzing the readers with hypothesis."""
from hypothesis import strategies as st


def corrupt_bytes(data, raw, max_writes):
    """``raw`` with 1 to ``max_writes`` bytes overwritten at random places, then maybe truncated.

    ``data`` is hypothesis's ``st.data()`` object, so a failing case shrinks and replays.
    """
    raw = bytearray(raw)
    for _ in range(data.draw(st.integers(1, max_writes))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    return bytes(raw)
