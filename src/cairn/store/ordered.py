"""Order-preserving, self-describing tuple encoding for store keys, byte-compatible with
Go's rsc.io/ordered: bytes order of encodings matches the order of the encoded tuples.
This module owns the wire format, the value wrappers (Rev, Raw, Float32, Inf) and its errors.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Generic, TypeVar, final

from ..errors import CairnError

__all__ = [
    "Float32",
    "Inf",
    "Infinity",
    "OrderedError",
    "Raw",
    "Rev",
    "TypeSpec",
    "decode",
    "decode_prefix",
    "encode",
    "encode_str",
]

_T = TypeVar("_T")


class OrderedError(CairnError, ValueError):
    """A value cannot be encoded, or bytes are not a valid encoding of the requested types."""


@final
class Infinity:
    """The type of `Inf`, which encodes after every other value (and `Rev(Inf)` before)."""

    __slots__ = ()
    _instance: ClassVar[Infinity | None] = None

    def __new__(cls) -> Infinity:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "Inf"

    def __reduce__(self) -> tuple[type[Infinity], tuple[()]]:
        return (Infinity, ())


Inf: Final = Infinity()


@dataclass(frozen=True, slots=True)
class Rev(Generic[_T]):
    """A value whose encoding orders in reverse: every byte of its encoding XOR 0xFF.

    As a type for `decode`, `Rev(str)` (an instance holding the inner type) is expected.
    """

    value: _T


@dataclass(frozen=True, slots=True)
class Raw:
    """Bytes stored as themselves after a length prefix (no escaping); cannot be reversed."""

    data: bytes


@dataclass(frozen=True, slots=True, order=True)
class Float32:
    """A float32 value; the constructor rounds `value` to the nearest float32.

    Raises OrderedError if the value overflows float32.
    """

    value: float

    def __post_init__(self) -> None:
        if not isinstance(self.value, int | float) or isinstance(self.value, bool):
            raise OrderedError(f"Float32 needs a float, not {type(self.value).__name__}")
        try:
            (rounded,) = _F32S.unpack(_F32S.pack(self.value))
        except OverflowError:
            raise OrderedError(f"{self.value!r} is out of float32 range") from None
        object.__setattr__(self, "value", rounded)


TypeSpec = type | Rev[Any]
"""What `decode` accepts per value: str, bytes, int, float, Float32, Infinity, Raw, object
(any value), or Rev(t) for t among str, bytes, int, float, Float32, Infinity."""

# Opcodes. A value's "kind" is its opcode, with all int opcodes folded to _INT; a reversed
# value's kind is the forward kind XOR 0xFF.
_STR: Final = 0x01
_F32: Final = 0x02
_F64: Final = 0x03
_RAW: Final = 0x04
_INT: Final = 0x20
_INF: Final = 0xFF
_REV: Final = 0xFF
_ANY: Final = -1

_KIND_NAMES: Final = {
    _STR: "string",
    _F32: "float32",
    _F64: "float64",
    _RAW: "raw",
    _INT: "int",
    _INF: "infinity",
}
_KIND_NAMES.update({k ^ _REV: "rev " + v for k, v in list(_KIND_NAMES.items()) if k != _RAW})

_XOR: Final = bytes(b ^ 0xFF for b in range(256))
_MASK64: Final = (1 << 64) - 1
_TOP64: Final = 1 << 63
_MASK32: Final = (1 << 32) - 1
_TOP32: Final = 1 << 31
_INT_MIN: Final = -(1 << 63)
_UINT_MAX: Final = (1 << 64) - 1

_F32S = struct.Struct(">f")
_U32 = struct.Struct(">I")
_F64S = struct.Struct(">d")
_U64 = struct.Struct(">Q")
_OP_U32 = struct.Struct(">BI")
_OP_U64 = struct.Struct(">BQ")


class _Unencodable(Exception):
    """Internal: why one value cannot be encoded; `encode` prefixes its position."""


_SUPPORTED: Final = "supported types are str, bytes, int, float, Float32, Inf, Rev, Raw"

# ---------------------------------------------------------------------------------------
# Encoding


def _enc_bytes(b: bytes) -> bytes:
    if b"\x00" in b:
        b = b.replace(b"\x00", b"\x00\xff")
    return b"\x01" + b + b"\x00\x00"


def _enc_str(s: str) -> bytes:
    try:
        return _enc_bytes(s.encode())
    except UnicodeEncodeError as e:
        raise _Unencodable(f"(str): not encodable as UTF-8 ({e.reason})") from None


_SMALL_INTS: Final = [bytes((0x30, i)) for i in range(256)]


def _enc_int(x: int) -> bytes:
    if x >= 0:
        if x < 256:
            return _SMALL_INTS[x]
        if x > _UINT_MAX:
            raise _Unencodable(_int_range(x))
        n = (x.bit_length() + 7) >> 3
        return bytes((0x2F + n,)) + x.to_bytes(n, "big")
    if x < _INT_MIN:
        raise _Unencodable(_int_range(x))
    # n is the number of significant bytes of ^x; the body is x's low n bytes.
    n = ((~x).bit_length() + 7) >> 3 or 1
    return bytes((0x30 - n,)) + (x + (1 << (8 * n))).to_bytes(n, "big")


def _int_range(x: int) -> str:
    # Huge ints are not printed: str() of one can be slow or refused (int_max_str_digits).
    shown = str(x) if x.bit_length() <= 256 else f"of {x.bit_length()} bits"
    return f"(int {shown}): out of range -2**63 .. 2**64-1"


def _enc_float(f: float) -> bytes:
    if f != f:
        return b"\x03\x00\x00\x00\x00\x00\x00\x00\x00"  # NaN sorts before -inf
    (u,) = _U64.unpack(_F64S.pack(f))
    return _OP_U64.pack(_F64, u ^ (_MASK64 if u & _TOP64 else _TOP64))


def _enc_float32(f: Float32) -> bytes:
    v = f.value
    if v != v:
        return b"\x02\x00\x00\x00\x00"
    (u,) = _U32.unpack(_F32S.pack(v))
    return _OP_U32.pack(_F32, u ^ (_MASK32 if u & _TOP32 else _TOP32))


def _enc_inf(_: Infinity) -> bytes:
    return b"\xff"


def _enc_raw(r: Raw) -> bytes:
    data = r.data
    if not isinstance(data, bytes):
        raise _Unencodable(f"(Raw of {type(data).__name__}): Raw must hold bytes")
    n = len(data)
    if n < 0x80:
        return bytes((_RAW, n)) + data
    varint = bytearray()
    while n >= 0x80:
        varint.append((n & 0x7F) | 0x80)
        n >>= 7
    varint.append(n)
    return b"\x04" + bytes(varint) + data


def _enc_rev(r: Rev[Any]) -> bytes:
    inner = r.value
    enc = _REVERSIBLE.get(type(inner))
    if enc is None:
        enc = _subclass_encoder(inner, reversible=True)
    return enc(inner).translate(_XOR)


_REVERSIBLE: Final[dict[type, Callable[[Any], bytes]]] = {
    str: _enc_str,
    bytes: _enc_bytes,
    int: _enc_int,
    float: _enc_float,
    Float32: _enc_float32,
    Infinity: _enc_inf,
}
_ENCODERS: Final[dict[type, Callable[[Any], bytes]]] = {
    **_REVERSIBLE,
    Raw: _enc_raw,
    Rev: _enc_rev,
}


def _subclass_encoder(x: object, *, reversible: bool) -> Callable[[Any], bytes]:
    """The encoder for subclasses of supported types (slow path: not exact types)."""
    if not isinstance(x, bool):
        for base, enc in (_REVERSIBLE if reversible else _ENCODERS).items():
            if isinstance(x, base):
                return enc
    if reversible:
        raise _Unencodable(
            f"of type Rev[{type(x).__name__}]: Rev can hold str, bytes, int, float, Float32, Inf"
        )
    raise _Unencodable(f"of type {type(x).__name__}: {_SUPPORTED}")


def encode(*values: object) -> bytes:
    """Encode values so that bytes order matches tuple order; `encode(a, b) ==
    encode(a) + encode(b)`. Raises OrderedError naming the first unencodable value."""
    parts = []
    for i, v in enumerate(values):
        try:
            enc = _ENCODERS.get(type(v)) or _subclass_encoder(v, reversible=False)
            parts.append(enc(v))
        except _Unencodable as e:
            raise OrderedError(f"cannot encode value {i} {e}") from None
    return b"".join(parts)


def encode_str(value: str) -> bytes:
    """`encode(value)` for one str, without the type dispatch: for keys built by the
    hundred thousand (the copilot's traces). Raises OrderedError as `encode` does."""
    try:
        return _enc_bytes(value.encode())
    except UnicodeEncodeError as e:
        raise OrderedError(
            f"cannot encode value 0 (str): not encodable as UTF-8 ({e.reason})"
        ) from None
    except AttributeError:
        return encode(value)  # not a str: encode's own error


# ---------------------------------------------------------------------------------------
# Decoding: each _d_* reads the value starting at data[pos] and returns (kind, payload, end).
# Payloads: bytes for strings and Raw, int, float (also for float32), None for infinity.

_Decoded = tuple[int, Any, int]


def _corrupt(pos: int, what: str) -> OrderedError:
    return OrderedError(f"invalid encoding at offset {pos}: {what}")


def _string_body(data: bytes, pos: int, end_marker: bytes, rev: bool) -> tuple[bytes, int]:
    start = pos + 1
    i = data.find(end_marker, start)
    if i < 0:
        kind = "rev string" if rev else "string"
        raise _corrupt(pos, f"{kind} has no terminator {end_marker.hex(' ')}")
    body = data[start:i]
    if rev:
        body = body.translate(_XOR)
    if b"\x00" in body:
        # "00 FF" cannot overlap itself, so the counts match iff every 00 is escaped.
        if body.count(b"\x00") != body.count(b"\x00\xff"):
            j = body.find(b"\x00")
            while 0 <= j < len(body) - 1 and body[j + 1] == 0xFF:
                j = body.find(b"\x00", j + 2)
            raise _corrupt(start + j + 1, f"bad escape byte {data[start + j + 1]:02x} in string")
        body = body.replace(b"\x00\xff", b"\x00")
    return body, i + 2


def _d_str(data: bytes, pos: int) -> _Decoded:
    body, end = _string_body(data, pos, b"\x00\x00", rev=False)
    return _STR, body, end


def _d_rev_str(data: bytes, pos: int) -> _Decoded:
    body, end = _string_body(data, pos, b"\xff\xff", rev=True)
    return _STR ^ _REV, body, end


def _int_at(buf: bytes, base: int) -> tuple[int, int]:
    """Decode the forward int encoding at buf[0]; `base` is buf's offset, for messages.
    Returns (value, encoded length)."""
    op = buf[0]
    n = (op & 0x0F) + 1 if op & 0x10 else 16 - (op & 0x0F)
    if n > 8:
        raise _corrupt(base, f"int opcode says {n} bytes (max 8)")
    if len(buf) < n + 1:
        raise _corrupt(base, f"int needs {n} bytes, only {len(buf) - 1} left")
    body = buf[1 : n + 1]
    if op & 0x10:
        if n > 1 and body[0] == 0x00:
            raise _corrupt(base, "int is not minimally encoded (leading 00)")
        return int.from_bytes(body, "big"), n + 1
    if n > 1 and body[0] == 0xFF:
        raise _corrupt(base, "negative int is not minimally encoded (leading ff)")
    value = int.from_bytes(body, "big") - (1 << (8 * n))
    if value < _INT_MIN:
        raise _corrupt(base, "negative int is below -2**63")
    return value, n + 1


def _d_int(data: bytes, pos: int) -> _Decoded:
    value, n = _int_at(data[pos : pos + 9], pos)
    return _INT, value, pos + n


def _d_rev_int(data: bytes, pos: int) -> _Decoded:
    value, n = _int_at(data[pos : pos + 9].translate(_XOR), pos)
    return _INT ^ _REV, value, pos + n


def _fixed(data: bytes, pos: int, size: int, what: str) -> int:
    end = pos + 1 + size
    if end > len(data):
        raise _corrupt(pos, f"{what} needs {size} bytes, only {len(data) - pos - 1} left")
    return int.from_bytes(data[pos + 1 : end], "big")


def _f64_from(u: int) -> float:
    u ^= _TOP64 if u & _TOP64 else _MASK64
    (f,) = _F64S.unpack(_U64.pack(u))
    return float(f)


def _f32_from(u: int) -> float:
    u ^= _TOP32 if u & _TOP32 else _MASK32
    (f,) = _F32S.unpack(_U32.pack(u))
    return float(f)


def _d_f64(data: bytes, pos: int) -> _Decoded:
    return _F64, _f64_from(_fixed(data, pos, 8, "float64")), pos + 9


def _d_rev_f64(data: bytes, pos: int) -> _Decoded:
    return _F64 ^ _REV, _f64_from(_fixed(data, pos, 8, "rev float64") ^ _MASK64), pos + 9


def _d_f32(data: bytes, pos: int) -> _Decoded:
    return _F32, _f32_from(_fixed(data, pos, 4, "float32")), pos + 5


def _d_rev_f32(data: bytes, pos: int) -> _Decoded:
    return _F32 ^ _REV, _f32_from(_fixed(data, pos, 4, "rev float32") ^ _MASK32), pos + 5


def _d_raw(data: bytes, pos: int) -> _Decoded:
    # Like Go's binary.Uvarint, which accepts non-minimal varints: so do we.
    n = shift = 0
    i = pos + 1
    while True:
        if i >= len(data):
            raise _corrupt(pos, "raw length is truncated")
        b = data[i]
        if i - pos - 1 == 9 and b > 1:  # a 10th byte may only hold the top bit
            raise _corrupt(pos, "raw length overflows 64 bits")
        n |= (b & 0x7F) << shift
        i += 1
        if b < 0x80:
            break
        shift += 7
    if n > len(data) - i:
        raise _corrupt(pos, f"raw data needs {n} bytes, only {len(data) - i} left")
    return _RAW, data[i : i + n], i + n


def _d_inf(data: bytes, pos: int) -> _Decoded:
    return _INF, None, pos + 1


def _d_rev_inf(data: bytes, pos: int) -> _Decoded:
    return _INF ^ _REV, None, pos + 1


def _d_bad(data: bytes, pos: int) -> _Decoded:
    raise _corrupt(pos, f"unknown opcode {data[pos]:02x}")


_DECODERS: Final[list[Callable[[bytes, int], _Decoded]]] = [_d_bad] * 256
_DECODERS[0x00] = _d_rev_inf
_DECODERS[_STR] = _d_str
_DECODERS[_F32] = _d_f32
_DECODERS[_F64] = _d_f64
_DECODERS[_RAW] = _d_raw
_DECODERS[_INF] = _d_inf
_DECODERS[_STR ^ _REV] = _d_rev_str
_DECODERS[_F32 ^ _REV] = _d_rev_f32
_DECODERS[_F64 ^ _REV] = _d_rev_f64
for _op in range(0x20, 0x40):  # 0x28-0x2F negative, 0x30-0x37 positive; others too long
    _DECODERS[_op] = _d_int
    _DECODERS[_op ^ _REV] = _d_rev_int
del _op


def _utf8(b: bytes, pos: int) -> str:
    try:
        return b.decode()
    except UnicodeDecodeError as e:
        raise OrderedError(f"string at offset {pos} is not valid UTF-8 ({e.reason})") from None


def _str_or_bytes(b: bytes, pos: int) -> str | bytes:
    try:
        return b.decode()
    except UnicodeDecodeError:
        return b


def _same(x: Any, pos: int) -> Any:
    return x


def _to_float32(x: float, pos: int) -> Float32:
    return Float32(x)


def _to_inf(x: None, pos: int) -> Infinity:
    return Inf


def _to_raw(x: bytes, pos: int) -> Raw:
    return Raw(x)


_Converter = Callable[[Any, int], Any]


def _rev_converter(inner: _Converter) -> _Converter:
    def convert(x: Any, pos: int) -> Rev[Any]:
        return Rev(inner(x, pos))

    return convert


# Per kind: how to build the value when no type was requested.
_FORWARD_UNTYPED: Final[dict[int, _Converter]] = {
    _STR: _str_or_bytes,
    _INT: _same,
    _F64: _same,
    _F32: _to_float32,
    _INF: _to_inf,
}
_UNTYPED: Final[dict[int, _Converter]] = {
    **_FORWARD_UNTYPED,
    _RAW: _to_raw,
    **{k ^ _REV: _rev_converter(c) for k, c in _FORWARD_UNTYPED.items()},
}

# Per requested type: the kind it needs and how to build the value from the payload.
_FORWARD_SPECS: Final[dict[object, tuple[int, _Converter]]] = {
    str: (_STR, _utf8),
    bytes: (_STR, _same),
    int: (_INT, _same),
    float: (_F64, _same),
    Float32: (_F32, _to_float32),
    Infinity: (_INF, _to_inf),
}
_SPECS: Final[dict[object, tuple[int, _Converter]]] = {
    **_FORWARD_SPECS,
    Raw: (_RAW, _to_raw),
    object: (_ANY, _same),
    **{Rev(t): (k ^ _REV, _rev_converter(c)) for t, (k, c) in _FORWARD_SPECS.items()},
}


def _spec_name(spec: object) -> str:
    if isinstance(spec, Rev):
        return f"Rev({_spec_name(spec.value)})"
    return spec.__name__ if isinstance(spec, type) else repr(spec)


def _resolve(spec: object, index: int) -> tuple[int, _Converter]:
    try:
        return _SPECS[spec]
    except (KeyError, TypeError):
        raise OrderedError(
            f"cannot decode value {index} as {_spec_name(spec)}: types are str, bytes, int, "
            "float, Float32, Infinity, Raw, object, or Rev(t) for t other than Raw and object"
        ) from None


def _decode(data: bytes, types: tuple[TypeSpec, ...]) -> tuple[tuple[Any, ...], int]:
    out: list[Any] = []
    pos = 0
    size = len(data)
    if not types:
        while pos < size:
            kind, payload, end = _DECODERS[data[pos]](data, pos)
            out.append(_UNTYPED[kind](payload, pos))
            pos = end
        return tuple(out), pos
    for i, spec in enumerate(types):
        want, convert = _resolve(spec, i)
        if pos >= size:
            raise OrderedError(
                f"input ends at offset {pos} after {i} values, but {len(types)} were requested"
            )
        kind, payload, end = _DECODERS[data[pos]](data, pos)
        if want == _ANY:
            out.append(_UNTYPED[kind](payload, pos))
        elif kind == want:
            out.append(convert(payload, pos))
        else:
            raise OrderedError(
                f"cannot decode value {i} at offset {pos} as {_spec_name(spec)}: "
                f"it is encoded as {_KIND_NAMES[kind]}"
            )
        pos = end
    return tuple(out), pos


def decode(data: bytes, *types: TypeSpec) -> tuple[Any, ...]:
    """Decode a whole encoding. With `types`, it must hold exactly those values, in order;
    without, every value is decoded (strings as str if valid UTF-8, else bytes).

    Raises OrderedError for malformed input, a type mismatch, or trailing bytes.
    """
    values, end = _decode(data, types)
    if end != len(data):
        raise OrderedError(
            f"extra data at offset {end} after {len(values)} values ({len(data) - end} bytes left)"
        )
    return values


def decode_prefix(data: bytes, *types: TypeSpec) -> tuple[tuple[Any, ...], bytes]:
    """Like `decode`, but returns the values and the bytes after them instead of
    rejecting trailing data. Without `types`, every value is decoded (the rest is b"")."""
    values, end = _decode(data, types)
    return values, data[end:]
