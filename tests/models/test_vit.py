"""ViT (nerve/models/vit.py) against PyTorch's own pre-norm Transformer encoder layers."""

import os

import numpy as np
import pytest
import torch
from torch import nn as tnn
from zoo_oracle import blas_threads, count, digits_batch, losses_of_short_run

import nerve
from nerve.models import build
from nerve.models.vit import ViT, ViTConfig

SLOW = bool(os.environ.get("NERVE_SLOW"))


class TorchViT(tnn.Module):
    """The same network from torch.nn.TransformerEncoderLayer(norm_first=True): an independent
    implementation of the pre-norm block (its fused in_proj is our qkv, same row order)."""

    def __init__(self, c: ViTConfig):
        super().__init__()
        d = c.dim
        self.patch_embed = tnn.Conv2d(c.in_channels, d, c.patch_size, stride=c.patch_size)
        self.cls_token = tnn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = tnn.Parameter(torch.zeros(1, (c.image_size // c.patch_size) ** 2 + 1, d))
        self.blocks = tnn.ModuleList(
            tnn.TransformerEncoderLayer(d, c.heads, c.mlp_ratio * d, dropout=0.0,
                                        activation="gelu", batch_first=True, norm_first=True)
            for _ in range(c.depth)
        )
        self.ln_f = tnn.LayerNorm(d)
        self.head = tnn.Linear(d, c.num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], 1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x)[:, 0])


RENAME = {"ln_1": "norm1", "ln_2": "norm2", "attn.qkv.weight": "self_attn.in_proj_weight",
          "attn.qkv.bias": "self_attn.in_proj_bias", "attn.proj": "self_attn.out_proj",
          "mlp.fc": "linear1", "mlp.proj": "linear2"}


def torch_name(name):
    for ours, theirs in RENAME.items():
        name = name.replace(ours, theirs)
    return name


def twin_of(model):
    twin = TorchViT(model.config)
    theirs = twin.state_dict()
    ours = model.state_dict()
    assert sorted(torch_name(n) for n in ours) == sorted(theirs)
    with torch.no_grad():
        for name, value in ours.items():
            theirs[torch_name(name)].copy_(torch.from_numpy(np.array(value.numpy())))
    return twin


def vit_parameters(c: ViTConfig, tokens: int) -> int:
    d, p = c.dim, c.patch_size
    patch = c.in_channels * p * p * d + d
    block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * (c.mlp_ratio * d * d) + (
        c.mlp_ratio * d + d)
    return patch + d + tokens * d + c.depth * block + 2 * d + d * c.num_classes + c.num_classes


def test_registered_vit_shapes_and_parameter_count():
    nerve.manual_seed(0)
    model = build("vit", (1, 8, 8), 10)
    c = model.config
    assert (c.patch_size, c.dim, c.depth, c.heads) == (2, 64, 4, 4)
    assert model.num_patches == 16  # 8x8 image, 2x2 patches: a 4x4 grid
    assert count(model) == vit_parameters(c, 17) == count(TorchViT(c)) == 136_138
    x = nerve.randn(3, 1, 8, 8)
    assert model(x).shape == (3, 10)
    assert model.patch_embed(x).shape == (3, 64, 4, 4)
    assert build("vit", (3, 32, 32), 5).num_patches == 64  # 4x4 patches on 32x32


def test_logits_and_gradients_equal_pytorchs_encoder():
    nerve.manual_seed(0)
    model = build("vit", (1, 8, 8), 10, dropout=0.0)
    twin = twin_of(model)
    x, y = digits_batch(16)
    loss = nerve.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    x_t, y_t = torch.from_numpy(x.numpy()), torch.from_numpy(y.numpy())
    loss_t = torch.nn.functional.cross_entropy(twin(x_t), y_t)
    loss_t.backward()
    assert loss.item() == pytest.approx(loss_t.item(), rel=1e-5)
    with torch.no_grad():
        np.testing.assert_allclose(model(x).detach().numpy(), twin(x_t).numpy(), atol=1e-5)
    grads = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        theirs = grads[torch_name(name)].grad.numpy()
        np.testing.assert_allclose(p.grad.numpy(), theirs, rtol=1e-3,
                                   atol=1e-4 * np.abs(theirs).max() + 1e-7, err_msg=name)


def test_the_class_token_reads_the_image():
    """Only token 0 (the class token) reaches the head, and attention carries every patch to it:
    changing one corner patch changes the logits."""
    nerve.manual_seed(0)
    model = build("vit", (1, 8, 8), 10, dropout=0.0).eval()
    x = nerve.zeros(1, 1, 8, 8)
    corner = x.clone()
    corner[0, 0, 6:, 6:] = 1.0
    with nerve.no_grad():
        assert not np.allclose(model(x).numpy(), model(corner).numpy(), atol=1e-4)


def test_bad_configurations_raise():
    with pytest.raises(ValueError, match="multiple of patch_size"):
        ViT(ViTConfig(image_size=8, patch_size=3))
    with pytest.raises(ValueError, match="divisible by heads"):
        ViT(ViTConfig(dim=30, heads=4))
    with pytest.raises(ValueError, match="vit expects square images"):
        build("vit", (1, 8, 6), 10)


def test_loss_falls_in_a_short_run():
    nerve.manual_seed(0)
    x, y = digits_batch(64)
    losses = losses_of_short_run(build("vit", (1, 8, 8), 10, dropout=0.0), x, y, steps=30, lr=1e-3)
    assert losses[-1] < 0.5 * losses[0], losses[::5]


@pytest.mark.slow
def test_vit_reaches_97_percent_on_the_digits(tmp_path):
    """The ViT (2x2 patches, a class token, 4 blocks of width 64, 136,138 parameters) on the 8x8
    digits' fixed 75/25 split (1347 train / 450 test), seed 0, as ``nerve train`` runs it.

    Recipe: AdamW (lr 2e-3, weight decay 0.05) with a cosine schedule, batches of 32, label
    smoothing 0.1, dropout 0.2, all the training images (no validation split), no augmentation.
    NERVE_SLOW=1: 30 epochs, >= 97% (measured 98.22% on seed 0, 97.78% on seed 1, 98.00% on
    seed 2; 55 s on 2 cores). Default (CI): 10 epochs, >= 91% (measured 96.89%, 19 s; 5 points
    of margin for another machine's rounding). Position embeddings at the reference code's std
    0.02 instead of 0.5 measured 97.11% against 98.22% (dropout 0.1, 40 epochs); shifting the
    training digits by a pixel (RandomShift(1)) made it underfit: 96.0-96.9%.
    """
    from zoo_oracle import train_and_score

    from nerve.train.run import RunConfig

    epochs, bar = (30, 0.97) if SLOW else (10, 0.91)
    config = RunConfig(model="vit", data="digits", epochs=epochs, batch_size=32, optimizer="adamw",
                       lr=2e-3, weight_decay=0.05, label_smoothing=0.1, val_fraction=0.0, seed=0,
                       model_options={"dropout": 0.2})
    with blas_threads(1):  # small matrices: a second OpenBLAS thread only slows them down
        accuracy = train_and_score(config, tmp_path)
    assert accuracy >= bar
