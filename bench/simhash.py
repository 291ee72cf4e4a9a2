"""SimHash over the dedupe shingles: kept only for the measured comparison with MinHash (bench/dedupe.py --compare)."""

from __future__ import annotations

from ingest.dedupe.fingerprint import shingle_hashes

_SPREAD = [sum(1 << (16 * i) for i in range(8) if (byte >> i) & 1) for byte in range(256)]


def simhash(key: str) -> int:
    """64-bit SimHash over the same shingles (bit counts summed in 16-bit lanes of big integers)."""
    accs = [0] * 8
    n = 0
    for x in shingle_hashes(key):
        n += 1
        for j in range(8):
            accs[j] += _SPREAD[(x >> (8 * j)) & 0xFF]
    out = 0
    for j in range(8):
        acc = accs[j]
        for i in range(8):
            if ((acc >> (16 * i)) & 0xFFFF) * 2 > n:
                out |= 1 << (8 * j + i)
    return out


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
