import io
import json
import pickle

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

from nerve.safetensors_io import (
    SafetensorsError,
    read_safetensors,
    read_safetensors_header,
    write_safetensors,
)


def sample_arrays():
    rng = np.random.default_rng(0)
    return {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f64": rng.standard_normal(5),
        "f16": rng.standard_normal((2, 2)).astype(np.float16),
        "i64": rng.integers(-(2**40), 2**40, size=(2, 3)),
        "i32": rng.integers(-100, 100, size=7).astype(np.int32),
        "i16": np.array([-3, 4], dtype=np.int16),
        "i8": np.array([-128, 127], dtype=np.int8),
        "u8": np.arange(10, dtype=np.uint8),
        "u16": np.array([65535], dtype=np.uint16),
        "u32": np.array([2**32 - 1], dtype=np.uint32),
        "u64": np.array([2**64 - 1], dtype=np.uint64),
        "bool": np.array([[True, False], [False, True]]),
        "scalar": np.array(3.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "layer.0.weight": rng.standard_normal((2, 3, 4)).astype(np.float32),
        "transposed": rng.standard_normal((4, 3)).astype(np.float32).T,  # not contiguous
        "big_endian": np.arange(4, dtype=">i4"),
    }


def assert_same(expected: dict, actual: dict):
    assert set(expected) == set(actual)
    for key, value in expected.items():
        assert actual[key].dtype == value.dtype.newbyteorder("="), key
        assert actual[key].shape == value.shape, key
        np.testing.assert_array_equal(actual[key], value, err_msg=key)


def test_round_trip_all_dtypes(tmp_path):
    arrays = sample_arrays()
    path = tmp_path / "a.safetensors"
    write_safetensors(path, arrays, {"epoch": "3", "note": "héllo"})
    loaded, metadata = read_safetensors(path)
    assert_same(arrays, loaded)
    assert metadata == {"epoch": "3", "note": "héllo"}
    assert all(a.flags.writeable and a.flags.c_contiguous for a in loaded.values())


def test_reference_package_reads_our_files(tmp_path):
    arrays = sample_arrays()
    path = tmp_path / "ours.safetensors"
    write_safetensors(path, arrays, {"k": "v"})
    assert_same(arrays, safetensors.numpy.load_file(str(path)))
    with safetensors.safe_open(str(path), "np") as f:
        assert f.metadata() == {"k": "v"}


def test_we_read_reference_package_files(tmp_path):
    arrays = {k: v for k, v in sample_arrays().items() if k not in ("transposed", "big_endian")}
    path = tmp_path / "theirs.safetensors"
    safetensors.numpy.save_file(arrays, str(path), metadata={"format": "np"})
    loaded, metadata = read_safetensors(path)
    assert_same(arrays, loaded)
    assert metadata == {"format": "np"}


def test_reads_bfloat16_as_float32(tmp_path):
    t = torch.tensor([1.0, -2.5, 3.140625, 1e30], dtype=torch.bfloat16)
    path = tmp_path / "bf16.safetensors"
    safetensors.torch.save_file({"t": t}, str(path))
    loaded, _ = read_safetensors(path)
    assert loaded["t"].dtype == np.float32
    np.testing.assert_array_equal(loaded["t"], t.float().numpy())


def test_file_objects_and_header(tmp_path):
    buffer = io.BytesIO()
    buffer.write(b"junk before")
    start = buffer.tell()
    write_safetensors(buffer, {"x": np.arange(3.0)}, {"a": "b"})
    buffer.seek(start)
    loaded, metadata = read_safetensors(buffer)
    np.testing.assert_array_equal(loaded["x"], [0.0, 1.0, 2.0])
    buffer.seek(start)
    entries, metadata = read_safetensors_header(buffer)
    assert entries == {"x": {"dtype": "F64", "shape": [3], "data_offsets": [0, 24]}}
    assert metadata == {"a": "b"}


def test_layout_is_aligned_and_header_padded(tmp_path):
    path = tmp_path / "a.safetensors"
    write_safetensors(path, sample_arrays())
    raw = path.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    assert length % 8 == 0
    header = json.loads(raw[8 : 8 + length])
    for entry in header.values():
        itemsize = np.dtype(
            {"F64": "f8", "I64": "i8", "U64": "u8", "F32": "f4", "I32": "i4", "U32": "u4"}.get(
                entry["dtype"], "u1"
            )
        ).itemsize
        assert entry["data_offsets"][0] % itemsize == 0


def test_write_rejects_bad_input(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="dtype complex128 has no safetensors equivalent"):
        write_safetensors(path, {"c": np.zeros(2, complex)})
    with pytest.raises(TypeError, match=r"arrays\['l'\] must be a numpy.ndarray, got list"):
        write_safetensors(path, {"l": [1, 2]})
    with pytest.raises(TypeError, match="tensor names must be strings"):
        write_safetensors(path, {1: np.zeros(2)})
    with pytest.raises(TypeError, match="metadata must map str to str"):
        write_safetensors(path, {"a": np.zeros(2)}, {"epoch": 3})


# --- corrupt, truncated and foreign files ---------------------------------------------


def write_raw(path, header: dict, data: bytes, length: int | None = None):
    text = json.dumps(header).encode()
    size = len(text) if length is None else length
    path.write_bytes(size.to_bytes(8, "little") + text + data)
    return path


def good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    write_safetensors(path, {"a": np.arange(6, dtype=np.float32), "b": np.ones(2, np.int64)})
    return path


def test_truncated_file(tmp_path):
    raw = good_file(tmp_path).read_bytes()
    path = tmp_path / "cut.safetensors"
    for cut in (0, 5, 12, len(raw) - 4):
        path.write_bytes(raw[:cut])
        with pytest.raises(SafetensorsError, match="not a safetensors file|truncated"):
            read_safetensors(path)


def test_garbage_bytes(tmp_path):
    path = tmp_path / "garbage.bin"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(SafetensorsError, match="header length .* beyond the file size"):
        read_safetensors(path)
    # a plausible length followed by garbage
    path.write_bytes((16).to_bytes(8, "little") + b"\xff" * 40)
    with pytest.raises(SafetensorsError, match="not valid UTF-8 JSON"):
        read_safetensors(path)


class Exploit:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_pickle_file_is_refused_and_never_executed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": Exploit()}, protocol=4))
    with pytest.raises(SafetensorsError, match="looks like a Python pickle; nerve never loads"):
        read_safetensors(path)
    assert not (tmp_path / "PWNED").exists()
    torch.save({"w": torch.ones(2)}, tmp_path / "model.pt")
    with pytest.raises(SafetensorsError, match="zip archive"):
        read_safetensors(tmp_path / "model.pt")


def test_header_length_beyond_file_size(tmp_path):
    path = write_raw(tmp_path / "h.safetensors", {}, b"", length=10_000)
    with pytest.raises(SafetensorsError, match="header length 10000 is beyond the file size"):
        read_safetensors(path)


def test_offsets_out_of_range(tmp_path):
    header = {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}
    path = write_raw(tmp_path / "o.safetensors", header, b"\0" * 8)
    with pytest.raises(SafetensorsError, match=r"data_offsets \[0, 16\] are out of range"):
        read_safetensors(path)
    header = {"a": {"dtype": "F32", "shape": [4], "data_offsets": [-4, 12]}}
    path = write_raw(tmp_path / "o.safetensors", header, b"\0" * 16)
    with pytest.raises(SafetensorsError, match="out of range"):
        read_safetensors(path)


def test_size_mismatch_gap_and_overlap(tmp_path):
    header = {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}
    path = write_raw(tmp_path / "s.safetensors", header, b"\0" * 16)
    with pytest.raises(SafetensorsError, match="needs 12 bytes but data_offsets"):
        read_safetensors(path)
    header = {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
    }
    path = write_raw(tmp_path / "s.safetensors", header, b"\0" * 12)
    with pytest.raises(SafetensorsError, match="overlap or leave a gap"):
        read_safetensors(path)
    header = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    path = write_raw(tmp_path / "s.safetensors", header, b"\0" * 12)
    with pytest.raises(SafetensorsError, match="cover 8 bytes but the file holds 12"):
        read_safetensors(path)


@pytest.mark.parametrize("dtype", ["F8_E4M3", "Q4", "f32", 7])
def test_unknown_dtype(tmp_path, dtype):
    header = {"a": {"dtype": dtype, "shape": [2], "data_offsets": [0, 2]}}
    path = write_raw(tmp_path / "d.safetensors", header, b"\0" * 2)
    with pytest.raises(SafetensorsError, match="unknown or unsupported dtype"):
        read_safetensors(path)


@pytest.mark.parametrize(
    "header, match",
    [
        ([1, 2], "must be a JSON object"),
        ({"a": {"dtype": "F32"}}, "expected dtype, shape and data_offsets"),
        ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}, "shape must be"),
        ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, "data_offsets must be"),
        ({"__metadata__": {"epoch": 3}}, "__metadata__ must map strings to strings"),
    ],
)
def test_malformed_headers(tmp_path, header, match):
    path = write_raw(tmp_path / "m.safetensors", header, b"")
    with pytest.raises(SafetensorsError, match=match):
        read_safetensors(path)


def test_reference_package_agrees_our_rejections_are_invalid(tmp_path):
    """Files we call corrupt, the reference reader refuses too."""
    header = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    path = write_raw(tmp_path / "s.safetensors", header, b"\0" * 12)
    with pytest.raises(Exception):  # noqa: B017 - any error from the reference reader
        safetensors.numpy.load_file(str(path))


def test_deeply_nested_header_is_an_error_not_a_crash(tmp_path):
    text = b"[" * 200_000 + b"]" * 200_000
    path = tmp_path / "deep.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text)
    with pytest.raises(SafetensorsError, match="not valid UTF-8 JSON|must be a JSON object"):
        read_safetensors(path)
