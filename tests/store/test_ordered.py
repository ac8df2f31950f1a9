"""The ordered key encoding: byte-for-byte agreement with Go's rsc.io/ordered (golden vectors
from its code_test.go), order and round-trip properties, and every malformed-input error."""

from __future__ import annotations

import math
import pickle
from functools import cmp_to_key
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.store.ordered import (
    Float32,
    Inf,
    Infinity,
    OrderedError,
    Raw,
    Rev,
    TypeSpec,
    decode,
    decode_prefix,
    encode,
)

INF = math.inf
INT_MIN = -(2**63)
UINT_MAX = 2**64 - 1


def xor(b: bytes) -> bytes:
    return bytes(x ^ 0xFF for x in b)


def spec_of(v: object) -> TypeSpec:
    """The type to pass to decode for value v."""
    if isinstance(v, Rev):
        return Rev(type(v.value))
    return type(v)


# ---------------------------------------------------------------------------------------
# Golden vectors, transcribed from rsc.io/ordered code_test.go (`golden`, `encodingTests`).
# Go's distinct int widths all share one encoding, so each appears here as a Python int.

GOLDEN: list[tuple[object, bytes]] = [
    ("", b"\x01\x00\x00"),
    (b"", b"\x01\x00\x00"),
    ("hello", b"\x01hello\x00\x00"),
    (b"hello", b"\x01hello\x00\x00"),
    ("hello\x00world", b"\x01hello\x00\xffworld\x00\x00"),
    (b"hello\x00world", b"\x01hello\x00\xffworld\x00\x00"),
    ("abc", bytes.fromhex("016162630000")),
    ("abc\x00def", bytes.fromhex("0161626300ff6465660000")),
    (0x12345, b"\x32\x01\x23\x45"),
    (0x123456, bytes.fromhex("32123456")),
    (1, b"\x30\x01"),
    (0, b"\x30\x00"),
    (-1, b"\x2f\xff"),
    (-0x12345, b"\x2d\xfe\xdc\xbb"),
    (0xFFFFFFFFFFFFFFFF, b"\x37\xff\xff\xff\xff\xff\xff\xff\xff"),
    (0x123456789ABCDEF0, b"\x37\x12\x34\x56\x78\x9a\xbc\xde\xf0"),
    (0x12345678, b"\x33\x12\x34\x56\x78"),
    (0x2345, b"\x31\x23\x45"),
    (0x45, b"\x30\x45"),
    (0x7FFFFFFFFFFFFFFF, b"\x37\x7f\xff\xff\xff\xff\xff\xff\xff"),
    (-0x7FFFFFFFFFFFFFFF, b"\x28\x80\x00\x00\x00\x00\x00\x00\x01"),
    (-0x8000000000000000, b"\x28\x80\x00\x00\x00\x00\x00\x00\x00"),
    (-0x123456789ABCDEF0, b"\x28\xed\xcb\xa9\x87\x65\x43\x21\x10"),
    (-0x12345678, b"\x2c\xed\xcb\xa9\x88"),
    (-0x2345, b"\x2e\xdc\xbb"),
    (-0x45, b"\x2f\xbb"),
    (Float32(-INF), b"\x02\x00\x7f\xff\xff"),
    (Float32(-1048576), b"\x02\x36\x7f\xff\xff"),
    (Float32(-1.0625), b"\x02\x40\x77\xff\xff"),
    (Float32(-1), b"\x02\x40\x7f\xff\xff"),
    (Float32(0.0), b"\x02\x80\x00\x00\x00"),
    (Float32(+1), b"\x02\xbf\x80\x00\x00"),
    (Float32(+1.0625), b"\x02\xbf\x88\x00\x00"),
    (Float32(+1048576), b"\x02\xc9\x80\x00\x00"),
    (Float32(INF), b"\x02\xff\x80\x00\x00"),
    (-INF, b"\x03\x00\x0f\xff\xff\xff\xff\xff\xff"),
    (-1048576.0, b"\x03\x3e\xcf\xff\xff\xff\xff\xff\xff"),
    (-1.0, b"\x03\x40\x0f\xff\xff\xff\xff\xff\xff"),
    (0.0, b"\x03\x80\x00\x00\x00\x00\x00\x00\x00"),
    (+1.0, b"\x03\xbf\xf0\x00\x00\x00\x00\x00\x00"),
    (+1048576.0, b"\x03\xc10\x00\x00\x00\x00\x00\x00"),
    (INF, b"\x03\xff\xf0\x00\x00\x00\x00\x00\x00"),
    (Inf, b"\xff"),
    (Raw(b"hello\x00world"), b"\x04\x0bhello\x00world"),
    # Not in Go's tables, but derived by hand from its code:
    (-0.0, b"\x03\x7f\xff\xff\xff\xff\xff\xff\xff"),
    (Raw(b"ab"), b"\x04\x02ab"),
    (Raw(b""), b"\x04\x00"),
    (Raw(b"x" * 300), b"\x04\xac\x02" + b"x" * 300),
]


@pytest.mark.parametrize(("value", "expected"), GOLDEN, ids=repr)
def test_golden_value_encodes_like_go_and_decodes_back(value: object, expected: bytes) -> None:
    assert encode(value) == expected
    (decoded,) = decode(expected, spec_of(value))
    assert type(decoded) is type(value)
    assert encode(decoded) == expected  # bit-exact, so -0.0 keeps its sign


@pytest.mark.parametrize(
    ("value", "expected"),
    [(v, e) for v, e in GOLDEN if not isinstance(v, Raw)],
    ids=repr,
)
def test_rev_encoding_is_the_golden_encoding_with_every_byte_inverted(
    value: object, expected: bytes
) -> None:
    rev = Rev(value)
    assert encode(rev) == xor(expected)
    assert decode(xor(expected), spec_of(rev)) == (rev,)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Rev(0), bytes.fromhex("cfff")),
        (Rev(1), bytes.fromhex("cffe")),
        (Rev(Inf), b"\x00"),
        (Rev("a"), b"\xfe\x9e\xff\xff"),
    ],
    ids=repr,
)
def test_rev_golden_vectors(value: object, expected: bytes) -> None:
    assert encode(value) == expected


@pytest.mark.parametrize(
    "value", [v for v, _ in GOLDEN] + [Rev(v) for v, _ in GOLDEN if not isinstance(v, Raw)]
)
def test_every_proper_prefix_of_an_encoding_is_rejected(value: object) -> None:
    enc = encode(value)
    for i in range(1, len(enc)):
        with pytest.raises(OrderedError, match="offset 0"):
            decode(enc[:i])


def test_nan_encodes_as_all_zero_payload_and_decodes_to_nan() -> None:
    assert encode(math.nan) == b"\x03" + bytes(8)
    assert encode(Float32(math.nan)) == b"\x02" + bytes(4)
    assert encode(Rev(math.nan)) == b"\xfc" + b"\xff" * 8
    (f,) = decode(encode(math.nan), float)
    assert math.isnan(f)
    (f32,) = decode(encode(Float32(math.nan)), Float32)
    assert math.isnan(f32.value)
    (rev,) = decode(encode(Rev(-math.nan)), Rev(float))
    assert math.isnan(rev.value)
    assert encode(math.nan) < encode(-INF)  # as in Go: NaN orders before -inf


def test_integer_range_boundaries() -> None:
    assert decode(encode(UINT_MAX, INT_MIN), int, int) == (UINT_MAX, INT_MIN)
    for bad in (UINT_MAX + 1, INT_MIN - 1, 10**5000):
        with pytest.raises(OrderedError, match=r"cannot encode value 0 \(int .*out of range"):
            encode(bad)
        with pytest.raises(OrderedError, match="out of range"):
            encode(Rev(bad))


# ---------------------------------------------------------------------------------------
# Go's `values` table: every encoding is strictly greater than the one before.

_BASE_VALUES: list[object] = [
    Rev(Inf),
    "",
    "a",
    "a\x00",
    "a\x00bc",
    "ab",
    "abc",
    "ac",
    b"a\xff",
    "b",
    *(Float32(x) for x in (-INF, -1e9, -1e3, -1, -1e-3, -1e-9, 1e-9, 1e-3, 1, 1e3, 1e9, INF)),
    *(float(x) for x in (-INF, -1e9, -1e3, -1, -1e-3, -1e-9, 1e-9, 1e-3, 1, 1e3, 1e9, INF)),
    -0x8000000000000000,
    -0x7FFFFFFFFFFFFFFF,
    *(
        -x
        for x in (
            0x100000000000000,
            0xFFFFFFFFFFFFFF,
            0x80000000000000,
            0x1000000000000,
            0xFFFFFFFFFFFF,
            0x800000000000,
            0x10000000000,
            0xFFFFFFFFFF,
            0x8000000000,
            0x100000000,
            0xFFFFFFFF,
            0x80000000,
            0x1000000,
            0xFFFFFF,
            0x800000,
            0x10000,
            0xFFFF,
            0x8000,
            0x100,
            0xFF,
            0x80,
            2,
            1,
        )
    ),
    0,
    1,
    2,
    0xFE,
    0xFF,
    0x1234,
    0x1235,
    0xFFFE,
    0xFFFF,
    0x123456,
    0x123457,
    0xFFFFFE,
    0xFFFFFF,
    0x12345678,
    0x12345679,
    0xFFFFFFFE,
    0xFFFFFFFF,
    0x123456789A,
    0x123456789B,
    0xFFFFFFFFFE,
    0xFFFFFFFFFF,
    0x123456789ABC,
    0x123456789ABD,
    0xFFFFFFFFFFFE,
    0xFFFFFFFFFFFF,
    0x123456789ABCDE,
    0x123456789ABCDF,
    0xFFFFFFFFFFFFFE,
    0xFFFFFFFFFFFFFF,
    0x123456789ABCDEF0,
    0x123456789ABCDEF1,
    0x7FFFFFFFFFFFFFFE,
    0x7FFFFFFFFFFFFFFF,
    0x8000000000000000,
    0x89ABCDEF12345678,
    0xFFFFFFFFFFFFFFFF,
]
VALUES: list[object] = [
    *_BASE_VALUES,
    *(Rev(v) for v in reversed(_BASE_VALUES[1:])),
    Inf,
]


def test_go_values_table_encodes_in_strictly_increasing_order() -> None:
    encodings = [encode(v) for v in VALUES]
    for i in range(len(encodings) - 1):
        assert encodings[i] < encodings[i + 1], (VALUES[i], VALUES[i + 1])


def test_every_pair_of_go_values_round_trips_typed_untyped_and_as_prefix() -> None:
    for v1 in VALUES:
        for v2 in VALUES:
            enc = encode(v1, v2)
            assert enc == encode(v1) + encode(v2)
            specs = (spec_of(v1), spec_of(v2))
            assert decode(enc, *specs) == (v1, v2)
            # Every str in the table is valid UTF-8 and the only bytes value is not.
            assert decode(enc) == (v1, v2)
            assert decode_prefix(enc + b"\x00", *specs) == ((v1, v2), b"\x00")
            with pytest.raises(OrderedError, match="extra data"):
                decode(enc + b"\x00", *specs)


# ---------------------------------------------------------------------------------------
# Properties.


def _key(v: object) -> Any:
    """Python ordering, refined so -0.0 < 0.0 as in the encoding."""
    if isinstance(v, Float32):
        v = v.value
    if isinstance(v, float):
        return (v, math.copysign(1.0, v))
    return v


def _cmp(a: object, b: object) -> int:
    ka, kb = _key(a), _key(b)
    return (ka > kb) - (ka < kb)


ints = st.integers(INT_MIN, UINT_MAX)
floats = st.floats(allow_nan=False)
float32s = st.floats(allow_nan=False, width=32).map(Float32)
text = st.text()
blobs = st.binary()

# Each scheme: the decode types of one tuple position, and how to draw the plain value.
SCHEMES: list[tuple[tuple[TypeSpec, ...], tuple[st.SearchStrategy[Any], ...]]] = [
    ((str, int), (text, ints)),
    ((bytes,), (blobs,)),
    ((int,), (ints,)),
    ((float,), (floats,)),
    ((Float32,), (float32s,)),
    ((Rev(int),), (ints,)),
    ((Rev(str),), (text,)),
    ((Rev(bytes),), (blobs,)),
    ((Rev(float),), (floats,)),
    ((Rev(Float32),), (float32s,)),
    ((str, Rev(int), float), (text, ints, floats)),
    ((bytes, Rev(bytes), bytes), (blobs, blobs, blobs)),
    ((int, Rev(str), Rev(float), str), (ints, text, floats, text)),
]


@st.composite
def same_typed_tuples(draw: st.DrawFn) -> tuple[tuple[TypeSpec, ...], list[tuple[Any, ...]]]:
    specs, strategies = draw(st.sampled_from(SCHEMES))
    rows = draw(st.lists(st.tuples(*strategies), max_size=12))
    return specs, rows


def _wrap(specs: tuple[TypeSpec, ...], row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(Rev(v) if isinstance(s, Rev) else v for s, v in zip(specs, row, strict=True))


def _cmp_rows(specs: tuple[TypeSpec, ...], a: tuple[Any, ...], b: tuple[Any, ...]) -> int:
    for spec, x, y in zip(specs, a, b, strict=True):
        c = _cmp(x, y)
        if c:
            return -c if isinstance(spec, Rev) else c
    return 0


@settings(max_examples=1000)
@given(same_typed_tuples())
def test_encoding_order_matches_tuple_order_with_rev_positions_reversed(
    case: tuple[tuple[TypeSpec, ...], list[tuple[Any, ...]]],
) -> None:
    specs, rows = case
    encoded = [encode(*_wrap(specs, row)) for row in rows]
    for a, ea in zip(rows, encoded, strict=True):
        for b, eb in zip(rows, encoded, strict=True):
            assert (ea > eb) - (ea < eb) == _cmp_rows(specs, a, b), (a, b)
    by_encoding = [row for _, row in sorted(zip(encoded, rows, strict=True))]
    assert by_encoding == sorted(rows, key=cmp_to_key(lambda a, b: _cmp_rows(specs, a, b)))


@settings(max_examples=1000)
@given(same_typed_tuples())
def test_typed_decode_inverts_encode(
    case: tuple[tuple[TypeSpec, ...], list[tuple[Any, ...]]],
) -> None:
    specs, rows = case
    for row in rows:
        values = _wrap(specs, row)
        enc = encode(*values)
        decoded = decode(enc, *specs)
        assert decoded == values
        assert encode(*decoded) == enc  # bit-exact: keeps -0.0


def _revable() -> st.SearchStrategy[Any]:
    return st.one_of(text, blobs, ints, st.floats(), st.floats(width=32).map(Float32), st.just(Inf))


any_value = st.one_of(_revable(), _revable().map(Rev), blobs.map(Raw))


@settings(max_examples=1000)
@given(st.lists(any_value, max_size=6), st.lists(any_value, max_size=6))
def test_encode_is_associative_and_untyped_decode_reads_everything_back(
    a: list[Any], b: list[Any]
) -> None:
    enc = encode(*a, *b)
    assert enc == encode(*a) + encode(*b)
    assert encode(*decode(enc)) == enc
    if a:  # with no types, decode_prefix (like decode) reads every value
        head, rest = decode_prefix(enc, *(object for _ in a))
        assert encode(*head) == encode(*a)
        assert rest == encode(*b)


def _nan(v: object) -> bool:
    if isinstance(v, Rev):
        v = v.value
    if isinstance(v, Float32):
        v = v.value
    return isinstance(v, float) and math.isnan(v)


@st.composite
def mutated_encodings(draw: st.DrawFn) -> bytes:
    """A valid encoding with one byte nudged by ±1 (an int opcode's length, say), replaced,
    inserted or deleted."""
    small = st.integers(-300, 300)
    data = bytearray(
        encode(*draw(st.lists(any_value | small | small.map(Rev), min_size=1, max_size=3)))
    )
    i = draw(st.integers(0, len(data) - 1))
    how = draw(st.sampled_from(["nudge", "replace", "insert", "delete"]))
    if how == "nudge":
        data[i] = (data[i] + draw(st.sampled_from([1, -1]))) & 0xFF
    elif how == "delete":
        del data[i]
    elif how == "insert":
        data.insert(i, draw(st.integers(0, 255)))
    else:
        data[i] = draw(st.integers(0, 255))
    return bytes(data)


@settings(max_examples=1000)
@given(st.one_of(st.binary(max_size=24), mutated_encodings()))
def test_accepted_input_is_the_unique_encoding_of_what_it_decodes_to(data: bytes) -> None:
    try:
        values = decode(data)
    except OrderedError:
        return
    # As in Go, decoding does not insist on a minimal Raw length varint or on NaN's
    # canonical bits; everything else has exactly one accepted encoding.
    if not any(isinstance(v, Raw) or _nan(v) for v in values):
        assert encode(*values) == data


# ---------------------------------------------------------------------------------------
# Values and wrappers.


def test_untyped_decode_returns_str_for_utf8_and_bytes_otherwise() -> None:
    enc = encode(b"caf\xc3\xa9", b"\xff\x00", Rev(b"\xfe"), Float32(1.5), Raw(b"r"))
    assert decode(enc) == ("café", b"\xff\x00", Rev(b"\xfe"), Float32(1.5), Raw(b"r"))


def test_str_and_bytes_share_an_encoding() -> None:
    assert encode("héllo") == encode("héllo".encode())
    assert decode(encode("héllo"), bytes) == ("héllo".encode(),)


def test_float32_rounds_to_the_nearest_float32_and_rejects_overflow() -> None:
    assert Float32(0.1).value == 0.10000000149011612
    assert Float32(0.1) == Float32(0.10000000149011612)
    assert Float32(1e39 * 0).value == 0.0
    with pytest.raises(OrderedError, match="out of float32 range"):
        Float32(1e39)
    with pytest.raises(OrderedError, match="needs a float"):
        Float32("1.0")  # type: ignore[arg-type]


def test_inf_is_a_singleton_that_survives_pickling() -> None:
    assert Infinity() is Inf
    assert pickle.loads(pickle.dumps(Inf)) is Inf
    assert repr(Inf) == "Inf"
    assert decode(encode(Inf, Rev(Inf)), Infinity, Rev(Infinity)) == (Inf, Rev(Inf))


def test_inf_bounds_a_prefix_scan() -> None:
    low, high = encode("timed", "kind"), encode("timed", "kind", Inf)
    for last in ("", "zzz", b"\xff" * 10, UINT_MAX, INT_MIN, INF, Rev(Inf), Raw(b"\xff")):
        assert low < encode("timed", "kind", last) < high
    assert not low < encode("timed", "kinda") < high


def test_subclasses_of_supported_types_encode_like_their_base() -> None:
    class Name(str):
        pass

    class Count(int):
        pass

    assert encode(Name("x"), Count(7), Rev(Count(7))) == encode("x", 7, Rev(7))


def test_raw_length_prefix_is_a_uvarint_so_raw_order_breaks_past_127_bytes() -> None:
    # Same as Go: lengths are compared as little-endian varint bytes, not as numbers.
    assert encode(Raw(b"z" * 127)) < encode(Raw(b"a" * 128))
    assert encode(Raw(b"a" * 255)) > encode(Raw(b"a" * 256))


def test_non_minimal_raw_length_is_accepted_like_gos_uvarint() -> None:
    assert decode(b"\x04\x80\x00") == (Raw(b""),)
    assert decode(b"\x04\x81\x00x", Raw) == (Raw(b"x"),)


def test_object_decodes_any_single_value() -> None:
    enc = encode("k", 5, Rev(2.5))
    assert decode(enc, str, object, object) == ("k", 5, Rev(2.5))
    assert decode_prefix(enc, object) == (("k",), encode(5, Rev(2.5)))


def test_decode_with_no_types_reads_all_and_prefix_leaves_nothing() -> None:
    assert decode(b"") == ()
    assert decode_prefix(encode(1, 2)) == ((1, 2), b"")


# ---------------------------------------------------------------------------------------
# Errors.


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (("a", 1, True), "cannot encode value 2 of type bool: supported types are str, bytes"),
        ((None,), "cannot encode value 0 of type NoneType"),
        ((1, [1]), "cannot encode value 1 of type list"),
        ((bytearray(b"x"),), "of type bytearray"),
        ((Rev(Raw(b"x")),), "of type Rev\\[Raw\\]"),
        ((Rev(Rev(1)),), "of type Rev\\[Rev\\]"),
        ((Rev(False),), "of type Rev\\[bool\\]"),
        ((Raw("x"),), "Raw must hold bytes"),  # type: ignore[arg-type]
        (("ok", "\ud800"), "cannot encode value 1 \\(str\\): not encodable as UTF-8"),
    ],
    ids=repr,
)
def test_unencodable_values_raise_ordered_error_naming_position(
    values: tuple[object, ...], message: str
) -> None:
    with pytest.raises(OrderedError, match=message):
        encode(*values)


def test_ordered_error_is_a_value_error() -> None:
    assert issubclass(OrderedError, ValueError)


# From Go's `corruptTests`; each is also rejected with every byte inverted.
GO_CORRUPT = [
    b"\x01\x00",
    b"\x01hello\x00",
    b"\x01hello\x00\xfeworld\x00\x00",
    b"\x32\x00\x23\x45",
    b"\x33\x01\x23\x45",
    b"\x2d\xff\xdc\xbb",
    b"\x2c\xff\xdc\xbb",
    b"\x38\xff\xff\xff\xff\xff\xff\xff\xff\xff",
    b"\x28\x7f\x00\x00\x00\x00\x00\x00\x00",
    b"\x27\x7f\x00\x00\x00\x00\x00\x00\x00\x00",
    b"\x02\x00\x00\x00",
    b"\x03\x00\x00\x00\x00\x00\x00\x00",
    b"\x20",
]


@pytest.mark.parametrize("data", GO_CORRUPT + [xor(d) for d in GO_CORRUPT], ids=bytes.hex)
def test_go_corrupt_inputs_are_rejected(data: bytes) -> None:
    with pytest.raises(OrderedError, match="invalid encoding at offset"):
        decode(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x30\x01\x33\x01", "offset 2: int needs 4 bytes, only 1 left"),
        (b"\x30\x01\x03\x00", "offset 2: float64 needs 8 bytes"),
        (b"\xfd\x00", "offset 0: rev float32 needs 4 bytes"),
        (b"\x30\x01\x05", "offset 2: unknown opcode 05"),
        (b"\x40", "offset 0: unknown opcode 40"),
        (b"\xfb\x00", "offset 0: unknown opcode fb"),  # Raw cannot be reversed
        (b"\x01abc", "offset 0: string has no terminator 00 00"),
        (b"\xfe\x9e\x9d", "offset 0: rev string has no terminator ff ff"),
        (b"\x01a\x00\xfe\x00\x00", "offset 3: bad escape byte fe in string"),
        (b"\x01a\x00\xffb\x00c\x00\x00", "offset 6: bad escape byte 63"),
        (b"\xfe\x9e\xff\x01\xff\xff", "offset 3: bad escape byte 01"),
        (b"\x31\x00\x45", "offset 0: int is not minimally encoded"),
        (b"\xce\xff\x45", "offset 0: int is not minimally encoded"),
        (b"\x2e\xff\x45", "offset 0: negative int is not minimally encoded"),
        (b"\x28\x7f" + bytes(7), "offset 0: negative int is below -2\\*\\*63"),
        (b"\x38" + bytes(9), "offset 0: int opcode says 9 bytes"),
        (b"\x04", "offset 0: raw length is truncated"),
        (b"\x04\x80", "offset 0: raw length is truncated"),
        (b"\x04\x03ab", "offset 0: raw data needs 3 bytes, only 2 left"),
        (b"\x04" + b"\xff" * 9 + b"\x02", "offset 0: raw length overflows 64 bits"),
    ],
    ids=repr,
)
def test_malformed_input_raises_ordered_error_with_offset(data: bytes, message: str) -> None:
    with pytest.raises(OrderedError, match=message):
        decode(data)


@pytest.mark.parametrize(
    ("data", "types", "message"),
    [
        (encode(1, 2), (int, int, int), "input ends at offset 4 after 2 values, but 3"),
        (encode(1, 2), (int,), "extra data at offset 2 after 1 values \\(2 bytes left\\)"),
        (encode(1), (str,), "cannot decode value 0 at offset 0 as str: it is encoded as int"),
        (encode("a", 1.5), (str, Float32), "value 1 at offset 4 as Float32: .* as float64"),
        (encode(Rev(1)), (int,), "as int: it is encoded as rev int"),
        (encode(1), (Rev(int),), "as Rev\\(int\\): it is encoded as int"),
        (encode(Raw(b"x")), (bytes,), "as bytes: it is encoded as raw"),
        (encode(b"\xff"), (str,), "string at offset 0 is not valid UTF-8"),
        (encode(Rev(b"\xff")), (Rev(str),), "string at offset 0 is not valid UTF-8"),
        (encode(True + 0), (bool,), "cannot decode value 0 as bool: types are"),
        (encode(1), (Rev(Raw),), "cannot decode value 0 as Rev\\(Raw\\)"),
        (encode(1), (Rev(object),), "cannot decode value 0 as Rev\\(object\\)"),
        (encode(1), ([int],), "cannot decode value 0 as \\[<class 'int'>\\]"),
    ],
    ids=repr,
)
def test_typed_decode_errors(data: bytes, types: tuple[Any, ...], message: str) -> None:
    with pytest.raises(OrderedError, match=message):
        decode(data, *types)


def test_decode_prefix_reports_errors_too_but_allows_trailing_bytes() -> None:
    assert decode_prefix(encode(1) + b"\x05", int) == ((1,), b"\x05")
    with pytest.raises(OrderedError, match="offset 0"):
        decode_prefix(b"\x05", int)
