"""IDX parsing on hand-made tiny files: header, dtypes, gzip, wrong magic, truncation."""
import gzip

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minitl.data.errors import IdxFormatError
from minitl.data.idx import parse_idx, read_idx, write_idx


def test_hand_written_bytes_parse_to_the_right_array(tmp_path):
    # magic 0x00000803 (uint8, 3 dims), sizes 2 x 2 x 3, then 12 pixels
    raw = bytes([0, 0, 0x08, 3]) + (2).to_bytes(4, "big") + (2).to_bytes(4, "big") \
        + (3).to_bytes(4, "big") + bytes(range(12))
    path = tmp_path / "tiny-images-idx3-ubyte"
    path.write_bytes(raw)
    images = read_idx(path, expect_ndim=3)
    assert images.dtype == numpy.uint8 and images.shape == (2, 2, 3)
    numpy.testing.assert_array_equal(images.ravel(), numpy.arange(12))
    assert images.flags.writeable


def test_labels_file_magic_2049():
    raw = bytes([0, 0, 0x08, 1]) + (4).to_bytes(4, "big") + bytes([9, 0, 3, 7])
    assert int.from_bytes(raw[:4], "big") == 2049
    numpy.testing.assert_array_equal(parse_idx(raw, expect_ndim=1), [9, 0, 3, 7])


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_then_read_round_trip(tmp_path, dtype, suffix):
    array = (numpy.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "uint8":
        array = numpy.arange(24, dtype=dtype).reshape(2, 3, 4)
    path = tmp_path / f"data{suffix}"
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = read_idx(path)
    assert back.dtype == array.dtype and back.dtype.isnative
    numpy.testing.assert_array_equal(back, array)


def test_big_endian_storage():
    raw = bytes([0, 0, 0x0B, 1]) + (1).to_bytes(4, "big") + (258).to_bytes(2, "big")
    assert parse_idx(raw)[0] == 258


def test_gzip_detected_by_content_not_name(tmp_path):
    path = tmp_path / "unpacked-but-named.gz"
    write_idx(path, numpy.zeros((2, 2), numpy.uint8), compress=False)
    assert read_idx(path).shape == (2, 2)
    path = tmp_path / "packed-without-suffix"
    write_idx(path, numpy.ones(3, numpy.uint8), compress=True)
    numpy.testing.assert_array_equal(read_idx(path), [1, 1, 1])


def test_wrong_magic_is_named(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(b"<html>Not Found</html>")
    with pytest.raises(IdxFormatError, match="page.html.*magic number"):
        read_idx(path)


def test_unknown_type_code():
    with pytest.raises(IdxFormatError, match="type code 0x07"):
        parse_idx(bytes([0, 0, 0x07, 1, 0, 0, 0, 0]))


def test_images_and_labels_swapped():
    raw = bytes([0, 0, 0x08, 1]) + (2).to_bytes(4, "big") + bytes(2)
    with pytest.raises(IdxFormatError, match="swapped"):
        parse_idx(raw, name="labels", expect_ndim=3)


@pytest.mark.parametrize("cut", [0, 3, 9, 20])
def test_truncated_raw_file(tmp_path, cut):
    path = tmp_path / "cut"
    write_idx(path, numpy.arange(16, dtype=numpy.uint8).reshape(4, 4))  # 12 + 16 = 28 bytes
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(IdxFormatError, match="cut.*(truncated|too short)"):
        read_idx(path)


def test_extra_bytes_are_an_error():
    raw = bytes([0, 0, 0x08, 1]) + (2).to_bytes(4, "big") + bytes(3)
    with pytest.raises(IdxFormatError, match="longer than its header"):
        parse_idx(raw)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + (4000).to_bytes(4, "big")
                                   + numpy.random.default_rng(0).bytes(4000))[:500])
    with pytest.raises(IdxFormatError, match="cut.gz.*gzip"):
        read_idx(path)


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(IdxFormatError, match="cannot store"):
        write_idx(tmp_path / "x", numpy.zeros(2, numpy.int64))


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
       dtype=st.sampled_from(["uint8", "int16", "float32"]), compress=st.booleans())
def test_round_trip_any_shape(tmp_path_factory, shape, dtype, compress):
    array = numpy.arange(int(numpy.prod(shape)), dtype=dtype).reshape(shape)
    path = tmp_path_factory.mktemp("idx") / "x"
    write_idx(path, array, compress=compress)
    back = read_idx(path, expect_ndim=len(shape))
    assert back.shape == tuple(shape) and back.dtype == array.dtype
    numpy.testing.assert_array_equal(back, array)


def test_header_whose_size_overflows_int64_is_a_format_error():
    header = bytes([0, 0, 0x08, 3]) + b"".join(size.to_bytes(4, "big") for size in (2**31, 2**31, 4))
    with pytest.raises(IdxFormatError, match="truncated"):
        parse_idx(header)  # numpy.prod of the shape would wrap around to 0 in int64


def test_gzip_of_zeros_is_inflated_only_as_far_as_the_budget_allows(tmp_path):
    # issue 15: 1 MB of gzipped zeros used to inflate to 2.1 GB; scaled down, 24 MB of zeros
    # (a valid header for 30,000 images) gzip to 24 kB and are refused before inflating
    from hostile import peak_python_bytes

    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (30_000, 28, 28))
    path = tmp_path / "zeros-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(header + bytes(30_000 * 28 * 28)))
    assert path.stat().st_size < 100_000
    error, peak = peak_python_bytes(read_idx, path, expect_ndim=3)
    assert isinstance(error, IdxFormatError) and "zeros-idx3-ubyte.gz" in str(error) and "cap" in str(error)
    assert peak < 4 << 20


def test_gzip_longer_than_its_header_is_refused(tmp_path):
    header = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big")
    path = tmp_path / "long.gz"
    path.write_bytes(gzip.compress(header + bytes(10)))
    with pytest.raises(IdxFormatError, match="longer than its header says"):
        read_idx(path)
