import gzip
import hashlib

import numpy as np
import pytest

import nerve
from nerve.datasets import idx
from nerve.datasets.idx import load_fashion_mnist, load_mnist, read_idx, write_idx

STEMS = list(idx.FILES.values())


def make_files(folder, gz=True, n_train=6, n_test=4, seed=0):
    """Write a tiny MNIST-shaped set; returns (arrays, checksums of the written files)."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    checksums = {}
    for stem, array in arrays.items():
        name = stem + (".gz" if gz else "")
        write_idx(folder / name, array)
        checksums[name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    return arrays, checksums


@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
        np.array([-5, 7], dtype=np.int8),
        np.array([[-30000, 2]], dtype=np.int16),
        np.array([1, -(2**31)], dtype=np.int32),
        np.array([1.5, -2.25], dtype=np.float32),
        np.array([np.pi], dtype=np.float64),
    ],
)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, array, suffix):
    path = tmp_path / f"x.idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == array.dtype.newbyteorder("=") and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_idx_bytes_by_hand(tmp_path):
    # magic 0x00000801 (ubyte, 1 dim), 3 items, then the bytes
    path = tmp_path / "labels"
    path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 1, 9]))
    np.testing.assert_array_equal(read_idx(path), [7, 1, 9])
    # big-endian int32 2x1
    path.write_bytes(bytes([0, 0, 0x0C, 2, 0, 0, 0, 2, 0, 0, 0, 1]) + (258).to_bytes(4, "big") * 2)
    np.testing.assert_array_equal(read_idx(path), [[258], [258]])


def test_idx_rejects_bad_files(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x12\x34\x08\x01")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
    with pytest.raises(ValueError, match=r"shape \(5,\) \(5 data bytes\) but the file holds 2"):
        read_idx(path)
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 2, 1, 2]))[:-6])
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        read_idx(path)


@pytest.mark.parametrize("loader", [load_mnist, load_fashion_mnist])
def test_load_gz_with_checksums(tmp_path, loader):
    arrays, checksums = make_files(tmp_path)
    (X_train, y_train), (X_test, y_test) = loader(tmp_path, as_arrays=True, checksums=checksums)
    assert X_train.shape == (6, 1, 28, 28) and X_train.dtype == np.float32
    assert y_train.dtype == np.int64 and X_test.shape == (4, 1, 28, 28)
    np.testing.assert_allclose(X_train[:, 0] * 255, arrays["train-images-idx3-ubyte"], atol=1e-4)
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0


def test_load_flat_and_datasets(tmp_path):
    _, checksums = make_files(tmp_path / "raw")  # torchvision's layout
    train, test = load_mnist(tmp_path, flatten=True, checksums=checksums)
    assert len(train) == 6 and len(test) == 4
    x, y = train[0]
    assert tuple(x.shape) == (784,) and y.dtype == nerve.int64


def test_published_checksums_are_checked_by_default(tmp_path):
    make_files(tmp_path)
    with pytest.raises(ValueError, match="checksum mismatch .* expected 440fcabf73cc546f"):
        load_mnist(tmp_path)
    with pytest.raises(ValueError, match="checksum mismatch .* expected 3aede38d61863908"):
        load_fashion_mnist(tmp_path)


def test_checksum_mismatch_names_the_file(tmp_path):
    _, checksums = make_files(tmp_path)
    raw = (tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(ValueError, match="checksum mismatch for .*t10k-labels-idx1-ubyte.gz"):
        load_mnist(tmp_path, checksums=checksums)


def test_uncompressed_files_warn_unless_given_a_checksum(tmp_path):
    arrays, checksums = make_files(tmp_path, gz=False)
    with pytest.warns(UserWarning, match="no published SHA-256"):
        (X, y), _ = load_mnist(tmp_path, as_arrays=True)
    np.testing.assert_array_equal(y, arrays["train-labels-idx1-ubyte"])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_mnist(tmp_path, as_arrays=True, checksums=checksums)


def test_missing_files_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("NERVE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        load_mnist()
    message = str(info.value)
    assert "nerve downloads nothing" in message
    for stem in STEMS:
        assert str(tmp_path / "mnist" / (stem + ".gz")) in message
    with pytest.raises(FileNotFoundError, match="fashion-mnist"):
        load_fashion_mnist()


def test_wrong_shapes_are_refused(tmp_path):
    _, _ = make_files(tmp_path, gz=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5, np.uint8))  # 6 images, 5 labels
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="expected 6 labels"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((6, 20, 20), np.uint8))
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"expected uint8 images"):
        load_mnist(tmp_path)
