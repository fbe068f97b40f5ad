import hashlib
import io
import tarfile
import warnings

import numpy as np
import pytest

from nerve.datasets import cifar
from nerve.datasets.cifar import load_cifar10, read_cifar_binary

NAMES = cifar.TRAIN_FILES + cifar.TEST_FILES


def make_batches(per_file=3, seed=0):
    """{file name: (raw bytes, images (n, 3, 32, 32), labels)} in the binary version's layout."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in NAMES:
        images = rng.integers(0, 256, (per_file, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, per_file, dtype=np.uint8)
        # one record: label byte, then the red, green, blue planes, each row-major
        records = [
            bytes([label]) + image.tobytes() for label, image in zip(labels, images, strict=True)
        ]
        out[name] = (b"".join(records), images, labels)
    return out


def write_archive(path, batches):
    with tarfile.open(path, "w:gz") as archive:
        for name, (raw, _, _) in batches.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_record_layout_by_hand():
    image = np.zeros((3, 32, 32), np.uint8)
    image[0, 0, 1] = 11  # red, row 0, column 1 -> byte 1 of the image
    image[2, 31, 31] = 200  # blue, last pixel -> last byte
    images, labels = read_cifar_binary(bytes([7]) + image.tobytes())
    assert labels.tolist() == [7]
    raw = bytes([7]) + image.tobytes()
    assert raw[1 + 1] == 11 and raw[-1] == 200
    np.testing.assert_array_equal(images[0], image)


def test_read_rejects_partial_records_and_bad_labels():
    with pytest.raises(ValueError, match="not a whole number of 3073-byte"):
        read_cifar_binary(b"\0" * 3000)
    with pytest.raises(ValueError, match="label 12 is out of range"):
        read_cifar_binary(bytes([12]) + b"\0" * 3072)


def test_load_from_archive_with_checksum(tmp_path):
    batches = make_batches()
    sha = write_archive(tmp_path / cifar.ARCHIVE, batches)
    (X_train, y_train), (X_test, y_test) = load_cifar10(
        tmp_path, as_arrays=True, checksums={cifar.ARCHIVE: sha}
    )
    assert X_train.shape == (15, 3, 32, 32) and X_train.dtype == np.float32
    assert X_test.shape == (3, 3, 32, 32) and y_train.dtype == np.int64
    expected = np.concatenate([batches[n][1] for n in cifar.TRAIN_FILES])
    np.testing.assert_allclose(X_train * 255, expected, atol=1e-4)
    np.testing.assert_array_equal(y_test, batches["test_batch.bin"][2])


def test_published_checksum_checked_by_default(tmp_path):
    write_archive(tmp_path / cifar.ARCHIVE, make_batches())
    with pytest.raises(ValueError, match="checksum mismatch .* expected c4a38c50a1bc5f3a"):
        load_cifar10(tmp_path)


def test_truncated_archive(tmp_path):
    path = tmp_path / cifar.ARCHIVE
    write_archive(path, make_batches())
    path.write_bytes(path.read_bytes()[:200])
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="corrupt or truncated archive"):
        load_cifar10(tmp_path, checksums={cifar.ARCHIVE: sha})


def test_load_from_extracted_folder(tmp_path):
    batches = make_batches(per_file=2)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    sums = {}
    for name, (raw, _, _) in batches.items():
        (folder / name).write_bytes(raw)
        sums[name] = hashlib.sha256(raw).hexdigest()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train, test = load_cifar10(tmp_path, checksums=sums)
    assert len(train) == 10 and len(test) == 2
    x, y = test[1]
    assert tuple(x.shape) == (3, 32, 32)
    with pytest.warns(UserWarning, match="no published SHA-256"):
        load_cifar10(tmp_path)
    sums["data_batch_3.bin"] = "0" * 64
    with pytest.raises(ValueError, match="checksum mismatch for .*data_batch_3.bin"):
        load_cifar10(tmp_path, checksums=sums)


def test_missing_files_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("NERVE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        load_cifar10()
    assert str(tmp_path / "cifar10" / "cifar-10-binary.tar.gz") in str(info.value)
    assert "cifar.html" in str(info.value)
