"""Read a pickle's opcodes before unpickling it, and refuse the ones that cost memory or time.

The restricted unpickler in torch_pickle.py decides *which objects* a pickle may build; this
module bounds *how much* it may build. A pickle is a program for a small stack machine, and a few
of its instructions are cheap to write and expensive to run:

* ``LONG_BINPUT 2**30`` stores into memo slot 2**30: the C unpickler grows its memo array up to
  that index, so 255 bytes cost gigabytes. Real pickles number their memo slots 0, 1, 2, ... in
  order, so a slot beyond the ones already used (or a ``GET`` of a slot never ``PUT``) is refused.
* ``DUP``, ``EMPTY_LIST`` and friends make one object per byte: 16 MiB of them is 16 million
  objects. The number of opcodes (an upper bound on the objects built) is capped.
* ``LONG4`` can spell an integer of millions of digits, and integers that are multiples of
  2**61 - 1 all share one hash, which turns a dict of them into quadratic work. A state_dict holds
  no integer wider than 8 bytes, so wider ones are refused (and with them the hash collisions).

``pickletools.genops`` only parses: nothing is built and nothing runs while scanning.
"""
import pickletools

from .errors import WeightFormatError
from .limits import MAX_OBJECTS

_MEMO_WRITES = {"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"}
_MEMO_READS = {"GET", "BINGET", "LONG_BINGET"}
_INTEGERS = {"INT", "LONG", "LONG1", "LONG4"}
_WIDEST_INT = 8 * 8  # bits


def scan_pickle(path, data: bytes, name: str = "data.pkl", max_objects: int = MAX_OBJECTS) -> None:
    """Raise :class:`WeightFormatError` if ``data`` (a whole pickle) would cost more than it stores.

    Notice: the scan is linear in ``len(data)`` and allocates nothing per opcode but one memo set.
    """
    memo = set()
    count = 0
    try:
        for opcode, arg, position in pickletools.genops(data):
            count += 1
            if count > max_objects:
                raise WeightFormatError(path, f"{name} has more than {max_objects} pickle opcodes; a state_dict "
                                              "needs a few per tensor: refused (a pickle that builds millions "
                                              "of objects from a small file)")
            kind = opcode.name
            if kind in _MEMO_WRITES:
                index = len(memo) if arg is None else arg
                if index > len(memo):
                    raise WeightFormatError(path, f"{name} stores into memo slot {index} at byte {position} with "
                                                  f"only {len(memo)} slots used; pickles number slots in order, "
                                                  "so this is corrupt or a 'memo bomb'")
                memo.add(index)
            elif kind in _MEMO_READS and arg not in memo:
                raise WeightFormatError(path, f"{name} reads memo slot {arg} at byte {position}, which was never "
                                              "stored (corrupt file)")
            elif kind in _INTEGERS and isinstance(arg, int) and arg.bit_length() >= _WIDEST_INT:
                raise WeightFormatError(path, f"{name} holds an integer wider than 8 bytes at byte {position}; "
                                              "a state_dict never does: refused")
    except WeightFormatError:
        raise
    except (ValueError, EOFError, OverflowError, UnicodeError, TypeError) as exc:  # genops on a malformed stream
        raise WeightFormatError(path, f"{name} is not a valid pickle ({type(exc).__name__}: {exc})") from None
