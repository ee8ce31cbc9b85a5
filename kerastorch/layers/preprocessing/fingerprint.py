"""The string hashes Keras's hashing layers get from TensorFlow, in pure Python so the bucket numbers
match Keras's without TensorFlow: FarmHash's 64-bit fingerprint (`to_hash_bucket_fast`), SipHash-2-4
(`to_hash_bucket_strong`, keyed by the salt) and the fingerprint combiner of `sparse.cross_hashed`."""

from __future__ import annotations

import struct

MASK = (1 << 64) - 1
K0 = 0xC3A5C85C97CB3127
K1 = 0xB492B66FBE98F273
K2 = 0x9AE16A3B2F90404F


def _rotate(value: int, shift: int) -> int:
    return ((value >> shift) | (value << (64 - shift))) & MASK


def _shift_mix(value: int) -> int:
    return value ^ (value >> 47)


def _u64(data: bytes, offset: int) -> int:
    return struct.unpack_from("<Q", data, offset)[0]


def _u32(data: bytes, offset: int) -> int:
    return struct.unpack_from("<I", data, offset)[0]


def _hash16(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & MASK
    b ^= b >> 47
    return (b * mul) & MASK


def _hash_0_to_16(data: bytes) -> int:
    n = len(data)
    if n >= 8:
        mul = K2 + n * 2
        a = (_u64(data, 0) + K2) & MASK
        b = _u64(data, n - 8)
        c = (_rotate(b, 37) * mul + a) & MASK
        d = ((_rotate(a, 25) + b) * mul) & MASK
        return _hash16(c, d, mul)
    if n >= 4:
        mul = K2 + n * 2
        return _hash16((n + (_u32(data, 0) << 3)) & MASK, _u32(data, n - 4), mul)
    if n > 0:
        y = (data[0] + (data[n >> 1] << 8)) & 0xFFFFFFFF
        z = (n + (data[n - 1] << 2)) & 0xFFFFFFFF
        return (_shift_mix(((y * K2) ^ (z * K0)) & MASK) * K2) & MASK
    return K2


def _hash_17_to_32(data: bytes) -> int:
    n = len(data)
    mul = K2 + n * 2
    a = (_u64(data, 0) * K1) & MASK
    b = _u64(data, 8)
    c = (_u64(data, n - 8) * mul) & MASK
    d = (_u64(data, n - 16) * K2) & MASK
    return _hash16((_rotate((a + b) & MASK, 43) + _rotate(c, 30) + d) & MASK,
                   (a + _rotate((b + K2) & MASK, 18) + c) & MASK, mul)


def _hash_33_to_64(data: bytes) -> int:
    n = len(data)
    mul = K2 + n * 2
    a = (_u64(data, 0) * K2) & MASK
    b = _u64(data, 8)
    c = (_u64(data, n - 8) * mul) & MASK
    d = (_u64(data, n - 16) * K2) & MASK
    y = (_rotate((a + b) & MASK, 43) + _rotate(c, 30) + d) & MASK
    z = _hash16(y, (a + _rotate((b + K2) & MASK, 18) + c) & MASK, mul)
    e = (_u64(data, 16) * mul) & MASK
    f = _u64(data, 24)
    g = ((y + _u64(data, n - 32)) * mul) & MASK
    h = ((z + _u64(data, n - 24)) * mul) & MASK
    return _hash16((_rotate((e + f) & MASK, 43) + _rotate(g, 30) + h) & MASK,
                   (e + _rotate((f + a) & MASK, 18) + g) & MASK, mul)


def _weak_32(data: bytes, offset: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = (_u64(data, offset + 8 * i) for i in range(4))
    a = (a + w) & MASK
    b = _rotate((b + a + z) & MASK, 21)
    c = a
    a = (a + x + y) & MASK
    b = (b + _rotate(a, 44)) & MASK
    return (a + z) & MASK, (b + c) & MASK


def fingerprint64(data: bytes) -> int:
    """FarmHash `Fingerprint64` (farmhashna's Hash64) of `data`: TensorFlow's string fingerprint."""
    n = len(data)
    if n <= 16:
        return _hash_0_to_16(data)
    if n <= 32:
        return _hash_17_to_32(data)
    if n <= 64:
        return _hash_33_to_64(data)
    seed = 81
    x = seed
    y = (seed * K1 + 113) & MASK
    z = (_shift_mix((y * K2 + 113) & MASK) * K2) & MASK
    v = (0, 0)
    w = (0, 0)
    x = (x * K2 + _u64(data, 0)) & MASK
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    s = 0
    while True:
        x = (_rotate((x + y + v[0] + _u64(data, s + 8)) & MASK, 37) * K1) & MASK
        y = (_rotate((y + v[1] + _u64(data, s + 48)) & MASK, 42) * K1) & MASK
        x ^= w[1]
        y = (y + v[0] + _u64(data, s + 40)) & MASK
        z = (_rotate((z + w[0]) & MASK, 33) * K1) & MASK
        v = _weak_32(data, s, (v[1] * K1) & MASK, (x + w[0]) & MASK)
        w = _weak_32(data, s + 32, (z + w[1]) & MASK, (y + _u64(data, s + 16)) & MASK)
        z, x = x, z
        s += 64
        if s == end:
            break
    mul = K1 + ((z & 0xFF) << 1)
    s = last64
    w = ((w[0] + ((n - 1) & 63)) & MASK, w[1])
    v = ((v[0] + w[0]) & MASK, v[1])
    w = ((w[0] + v[0]) & MASK, w[1])
    x = (_rotate((x + y + v[0] + _u64(data, s + 8)) & MASK, 37) * mul) & MASK
    y = (_rotate((y + v[1] + _u64(data, s + 48)) & MASK, 42) * mul) & MASK
    x ^= (w[1] * 9) & MASK
    y = (y + v[0] * 9 + _u64(data, s + 40)) & MASK
    z = (_rotate((z + w[0]) & MASK, 33) * mul) & MASK
    v = _weak_32(data, s, (v[1] * mul) & MASK, (x + w[0]) & MASK)
    w = _weak_32(data, s + 32, (z + w[1]) & MASK, (y + _u64(data, s + 16)) & MASK)
    z, x = x, z
    return _hash16((_hash16(v[0], w[0], mul) + _shift_mix(y) * K0 + z) & MASK,
                   (_hash16(v[1], w[1], mul) + x) & MASK, mul)


def _sip_round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & MASK
    v1 = _rotate(v1, 64 - 13) ^ v0
    v0 = _rotate(v0, 32)
    v2 = (v2 + v3) & MASK
    v3 = _rotate(v3, 64 - 16) ^ v2
    v0 = (v0 + v3) & MASK
    v3 = _rotate(v3, 64 - 21) ^ v0
    v2 = (v2 + v1) & MASK
    v1 = _rotate(v1, 64 - 17) ^ v2
    v2 = _rotate(v2, 32)
    return v0, v1, v2, v3


def siphash24(key: tuple[int, int], data: bytes) -> int:
    """SipHash-2-4 of `data` under the 128-bit `key` (two 64-bit halves): TensorFlow's keyed strong hash."""
    k0, k1 = key[0] & MASK, key[1] & MASK
    v0, v1 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D
    v2, v3 = k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573
    n = len(data)
    tail = n - n % 8
    for offset in range(0, tail, 8):
        m = _u64(data, offset)
        v3 ^= m
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 ^= m
    m = int.from_bytes(data[tail:], "little") | ((n & 0xFF) << 56)
    v3 ^= m
    v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
    v0 ^= m
    v2 ^= 0xFF
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


_CAT_MUL = 0xC6A4A7935BD1E995


def fingerprint_cat64(first: int, second: int) -> int:
    """TensorFlow's `FingerprintCat64`: combines two fingerprints (order matters)."""
    result = first ^ _CAT_MUL
    result ^= (_shift_mix((second * _CAT_MUL) & MASK) * _CAT_MUL) & MASK
    result = (result * _CAT_MUL) & MASK
    result = (_shift_mix(result) * _CAT_MUL) & MASK
    return _shift_mix(result)
