import numpy as np
import pytest
import torch

import nerve
from nerve.data.transforms import (
    Compose,
    GaussianNoise,
    Lambda,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomShift,
    ToTensor,
)


def images(n=4, c=2, h=5, w=6, seed=0):
    return np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(np.float32)


def gen(seed=0):
    return nerve.Generator().manual_seed(seed)


def test_normalize_per_channel_matches_formula_and_torch():
    x = images()
    mean, std = [0.5, -1.0], [2.0, 0.25]
    out = Normalize(mean, std)(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    expected = (x - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    # torchvision's Normalize is (x - mean[c]) / std[c]; the same through torch ops:
    t = (torch.from_numpy(x) - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]
    np.testing.assert_allclose(out, t.numpy(), rtol=1e-6)


def test_normalize_scalar_any_shape_and_tensors():
    x = nerve.tensor([[1.0, 3.0]])
    out = Normalize(1.0, 2.0)(x)
    assert isinstance(out, nerve.Tensor) and out.tolist() == [[0.0, 1.0]]


def test_normalize_errors():
    with pytest.raises(ValueError, match="std evaluated to zero"):
        Normalize(0.0, [1.0, 0.0])
    with pytest.raises(ValueError, match="mean has 3 values but x of shape"):
        Normalize([0.0, 0.0, 0.0], 1.0)(images())
    with pytest.raises(TypeError, match="expected a floating-point input"):
        Normalize(0.0, 1.0)(np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="transforms are for data"):
        Normalize(0.0, 1.0)(nerve.ones(1, 2, 2, requires_grad=True))
    with pytest.raises(TypeError, match="expected a nerve.Tensor or numpy.ndarray, got list"):
        Normalize(0.0, 1.0)([1.0])


def test_random_crop_windows_come_from_the_padded_image():
    x = images(n=8, h=5, w=6)
    out = RandomCrop((4, 3), padding=1, generator=gen())(x)
    assert out.shape == (8, 2, 4, 3)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    offsets = set()
    for i in range(8):
        matches = [
            (top, left)
            for top in range(7 - 4 + 1)
            for left in range(8 - 3 + 1)
            if np.array_equal(padded[i, :, top : top + 4, left : left + 3], out[i])
        ]
        assert matches, f"image {i} is not a window of its padded input"
        offsets.add(matches[0])
    assert len(offsets) > 1  # each image draws its own offset


def test_random_shift_keeps_size_and_content():
    x = images(n=16, h=8, w=8)
    out = RandomShift(2, generator=gen(1))(x)
    assert out.shape == x.shape
    # every output is the input translated by (dy, dx) in [-2, 2] with zeros shifted in
    for i in range(16):
        found = False
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                shifted = np.zeros_like(x[i])
                src = x[i][:, max(0, dy) : 8 + min(0, dy), max(0, dx) : 8 + min(0, dx)]
                shifted[:, max(0, -dy) : 8 + min(0, -dy), max(0, -dx) : 8 + min(0, -dx)] = src
                found |= np.array_equal(shifted, out[i])
        assert found


def test_single_image_and_padding_modes():
    x = images(n=1)[0]  # (C, H, W)
    out = RandomCrop(5, padding=2, padding_mode="reflect", generator=gen())(x)
    assert out.shape == (2, 5, 5)
    out = RandomCrop((5, 6))(nerve.tensor(x))
    assert isinstance(out, nerve.Tensor)
    np.testing.assert_array_equal(out.numpy(), x)  # no padding, full size: identity
    with pytest.raises(ValueError, match="larger than the padded image"):
        RandomCrop(9)(x)
    with pytest.raises(ValueError, match=r"expected images \(..., C, H, W\)"):
        RandomCrop(2)(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="padding_mode must be"):
        RandomCrop(2, padding_mode="wrap")


def test_horizontal_flip():
    x = images(n=200, h=2, w=3)
    out = RandomHorizontalFlip(p=0.5, generator=gen())(x)
    flipped = np.array([np.array_equal(o, i[..., ::-1]) for o, i in zip(out, x, strict=True)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, x, strict=True)])
    assert (flipped | kept).all() and 60 < flipped.sum() < 140
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(x), x)


def test_gaussian_noise_statistics():
    x = np.zeros((200, 300), np.float32)
    out = GaussianNoise(std=0.5, mean=0.1, generator=gen())(x)
    assert out.dtype == np.float32
    assert abs(out.mean() - 0.1) < 0.01 and abs(out.std() - 0.5) < 0.01


def test_seeded_and_reproducible():
    x = images(n=10)
    augment = Compose([RandomShift(1), RandomHorizontalFlip(), GaussianNoise(0.1)])
    nerve.manual_seed(0)
    a = augment(x)
    nerve.manual_seed(0)
    b = augment(x)
    np.testing.assert_array_equal(a, b)
    c = Compose([RandomShift(1, generator=gen(5)), GaussianNoise(0.1, generator=gen(6))])(x)
    d = Compose([RandomShift(1, generator=gen(5)), GaussianNoise(0.1, generator=gen(6))])(x)
    np.testing.assert_array_equal(c, d)
    assert not np.array_equal(a, augment(x))


def test_compose_lambda_and_to_tensor():
    pipeline = Compose([Lambda(lambda x: x + 1), Lambda(lambda x: x * 2)])
    assert pipeline(np.array([1.0])).tolist() == [4.0]
    assert "Lambda" in repr(pipeline)
    image = np.zeros((4, 5, 3), np.uint8)
    image[1, 2, 0] = 255
    t = ToTensor()(image)
    assert isinstance(t, nerve.Tensor) and tuple(t.shape) == (3, 4, 5)
    assert t.dtype == nerve.float32 and t.numpy()[0, 1, 2] == 1.0
    with pytest.raises(TypeError, match="must be callable"):
        Compose([1])
