"""Compact storage forms of the near-duplicate index's columns (storage.models uses them).

Facts (crawler.neardup.encode_facts: a 6-byte dateline, then sorted 32-bit hashes) are kept
Elias-Fano coded: each hash's low bits as they are, its high bits as gaps in unary, about
27 bits a hash instead of 32 for a story's 70-odd facts. Decoding gives back the very bytes.
Anything not in that form is kept as it is, behind a marker byte.
"""

from __future__ import annotations

import numpy as np

_RAW, _ELIAS_FANO = 0, 1


def _low_bits(count: int) -> int:
    return max(0, min(31, (2**32 // count).bit_length() - 1))


def pack_facts(data: bytes | None) -> bytes | None:
    """The stored form of encoded facts (see the module's docstring)."""
    if data is None:
        return None
    data = bytes(data)
    count = (len(data) - 6) // 4
    if len(data) < 10 or (len(data) - 6) % 4 or count > 0xFFFF:
        return bytes([_RAW]) + data
    values = np.frombuffer(data, dtype="<u4", offset=6).astype(np.int64)
    if np.any(np.diff(values) < 0):
        return bytes([_RAW]) + data
    low = _low_bits(count)
    positions = (values >> low) + np.arange(count)
    upper = np.zeros(int(positions[-1]) + 1, dtype=np.uint8)
    upper[positions] = 1
    shifts = np.arange(low - 1, -1, -1, dtype=np.int64)
    lower = ((values[:, None] >> shifts) & 1).astype(np.uint8).ravel()
    packed = (bytes([_ELIAS_FANO]) + data[:6] + count.to_bytes(2, "little")
              + np.packbits(upper).tobytes() + np.packbits(lower).tobytes())
    return packed if len(packed) <= len(data) else bytes([_RAW]) + data


def unpack_facts(stored: bytes | None) -> bytes | None:
    """The encoded facts `pack_facts` stored, byte for byte."""
    if stored is None:
        return None
    stored = bytes(stored)
    if not stored or stored[0] != _ELIAS_FANO:
        return stored[1:]
    count = int.from_bytes(stored[7:9], "little")
    low = _low_bits(count)
    lower_size = (count * low + 7) // 8
    upper = np.unpackbits(np.frombuffer(stored, dtype=np.uint8, offset=9,
                                        count=len(stored) - 9 - lower_size))
    high = np.flatnonzero(upper)[:count] - np.arange(count)
    values = high.astype(np.int64) << low
    if low:
        bits = np.unpackbits(np.frombuffer(stored, dtype=np.uint8,
                                           offset=len(stored) - lower_size))[:count * low]
        values |= bits.reshape(count, low).astype(np.int64) @ (1 << np.arange(
            low - 1, -1, -1, dtype=np.int64))
    return stored[1:7] + values.astype("<u4").tobytes()


class PackedFacts:
    """Facts as stored, unpacked only when asked (`bytes(...)`): most candidates are turned
    down on their signature before their facts are looked at."""

    __slots__ = ("stored",)

    def __init__(self, stored: bytes) -> None:
        self.stored = stored

    def __bytes__(self) -> bytes:
        return unpack_facts(self.stored) or b""
