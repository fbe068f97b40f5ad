import io
import json
import math
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import nerve
import nerve.safetensors_io as sio
from nerve.safetensors_io import SafetensorsError
from nerve.serialization import load, save


def assert_same(a, b, path="obj"):
    """Deep equality: same containers, key order, tensor dtypes/values, float nan/inf."""
    assert type(a) is type(b), f"{path}: {type(a)} != {type(b)}"
    if isinstance(a, nerve.Tensor):
        assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape), path
        assert a.requires_grad == b.requires_grad, path
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=path)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for key in a:
            assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    else:
        assert a == b, path


def state_dict():
    g = nerve.Generator().manual_seed(0)
    return {
        "fc1.weight": nerve.randn(4, 3, generator=g),
        "fc1.bias": nerve.zeros(4),
        "bn.num_batches_tracked": nerve.tensor(7),
        "emb.weight": nerve.randn(5, 2, generator=g, dtype=nerve.float64),
        "mask": nerve.tensor([True, False, True]),
        "half": nerve.ones(2, dtype=nerve.float16),
        "ids": nerve.tensor([1, 2, 3], dtype=nerve.int32),
        "pixels": nerve.tensor([0, 255], dtype=nerve.uint8),
        "scalar": nerve.tensor(2.5),
        "empty": nerve.zeros(0, 3),
    }


def checkpoint():
    params = state_dict()
    nerve.manual_seed(11)
    return {
        "model": params,
        "optimizer": {
            "state": {
                0: {"step": 3, "exp_avg": nerve.ones(4, 3), "exp_avg_sq": nerve.zeros(4, 3)},
                1: {"step": 3, "exp_avg": nerve.ones(4), "exp_avg_sq": nerve.zeros(4)},
            },
            "param_groups": [
                {
                    "lr": 1e-3,
                    "betas": (0.9, 0.999),
                    "eps": 1e-8,
                    "weight_decay": 0.0,
                    "amsgrad": False,
                    "foreach": None,
                    "params": [0, 1],
                }
            ],
        },
        "epoch": 7,
        "rng": nerve.get_rng_state(),
        "numpy_rng": np.random.default_rng(3).bit_generator.state,
        "history": {"loss": [1.5, float("nan"), float("inf"), -float("inf")], "tag": "run-1"},
        "raw": b"\x00\xffbytes",
        "array": np.arange(6, dtype=np.int16).reshape(2, 3),
        "np_scalar": np.float32(0.25),
        "tuple_keys": {(1, "a"): "x", 2.5: None, True: "yes"},
        "looks_like_a_tag": {"__tensor__": "not a tensor", "__tuple__": [1]},
        "empty": {},
    }


def test_round_trip_flat_state_dict(tmp_path):
    path = tmp_path / "model.safetensors"
    original = state_dict()
    save(original, path)
    assert_same(original, load(path))


def test_round_trip_nested_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    original = checkpoint()
    save(original, path)
    loaded = load(path)
    expected = dict(original)
    expected["np_scalar"] = 0.25  # numpy scalars come back as Python numbers
    assert_same(expected, loaded)
    assert list(loaded["optimizer"]["state"]) == [0, 1]  # int keys stay ints
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)


def test_rng_state_resumes_the_stream(tmp_path):
    nerve.manual_seed(5)
    nerve.rand(3)
    save({"rng": nerve.get_rng_state()}, tmp_path / "rng.safetensors")
    expected = nerve.rand(4)
    nerve.manual_seed(999)
    nerve.set_rng_state(load(tmp_path / "rng.safetensors")["rng"])
    assert nerve.rand(4).tolist() == expected.tolist()


def test_top_level_values_and_requires_grad(tmp_path):
    path = tmp_path / "x.safetensors"
    for obj in (nerve.arange(3), [nerve.ones(1), 2, "three"], (1, 2.0), 5, None, "text"):
        save(obj, path)
        assert_same(obj, load(path))
    w = nerve.ones(2, requires_grad=True)
    save({"w": w}, path)
    loaded = load(path)["w"]
    assert loaded.requires_grad and loaded.is_leaf and loaded.grad is None


def test_colliding_dotted_names_stay_apart(tmp_path):
    obj = {"a.b": nerve.tensor([1.0]), "a": {"b": nerve.tensor([2.0])}, "c": [nerve.ones(1)]}
    save(obj, tmp_path / "c.safetensors")
    assert_same(obj, load(tmp_path / "c.safetensors"))
    names = set(safetensors.numpy.load_file(str(tmp_path / "c.safetensors")))
    assert names == {"a.b", "a.b#2", "c.0"}


def test_flat_state_dict_is_a_plain_safetensors_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save(state_dict(), path)
    theirs = safetensors.torch.load_file(str(path))
    assert set(theirs) == set(state_dict())
    for key, value in state_dict().items():
        np.testing.assert_array_equal(theirs[key].numpy(), value.numpy())
    with safetensors.safe_open(str(path), "np") as f:
        structure = json.loads(f.metadata()["nerve.structure"])
    assert structure["fc1.weight"] == {"__tensor__": "fc1.weight"}


def test_loads_foreign_safetensors_as_flat_dict(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(model.state_dict(), str(path))
    loaded = nerve.serialization.load(path)
    assert set(loaded) == set(model.state_dict())
    for key, value in model.state_dict().items():
        assert isinstance(loaded[key], nerve.Tensor)
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy())
    assert loaded["1.num_batches_tracked"].dtype == nerve.int64


def test_file_objects(tmp_path):
    buffer = io.BytesIO()
    save(checkpoint()["optimizer"], buffer)
    buffer.seek(0)
    assert_same(checkpoint()["optimizer"], load(buffer))


def test_map_location(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": nerve.ones(2)}, path)
    for location in ("cpu", nerve.device("cpu"), {"cuda": "cpu"}, None):
        w = load(path, map_location=location)["w"]
        assert w.device.type == "cpu" and w.tolist() == [1.0, 1.0]
    assert load(path, weights_only=False)["w"].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="callables are not supported"):
        load(path, map_location=lambda storage, location: storage)
    with pytest.raises(ValueError, match=r"map_location: device: expected 'cpu' or 'cuda\[:N\]'"):
        load(path, map_location="tpu")
    with pytest.raises(ValueError, match="map_location: device"):
        load(path, map_location={"cpu": "gpu"})


def test_save_errors_name_the_path(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store optimizer.hook of type function"):
        save({"optimizer": {"hook": lambda: 0}}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match=r"numpy dtype <U1"):
        save({"a": np.array(["x"])}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="cannot store a dict key of type object"):
        save({object(): 1}, tmp_path / "x.safetensors")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({}, tmp_path / "missing" / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_file_mode_follows_umask(tmp_path):
    path = tmp_path / "mode.safetensors"
    old = os.umask(0o022)
    try:
        save({"a": nerve.ones(1)}, path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


# --- atomic writes ----------------------------------------------------------------------


def test_failure_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"epoch": 1, "w": nerve.ones(1000)}, path)
    before = path.read_bytes()
    written = []

    def write_then_fail(f, array):
        if written:
            f.write(b"\0" * 10)
            raise OSError("disk full")
        written.append(array)
        f.write(array.reshape(-1).view(np.uint8).data)

    monkeypatch.setattr(sio, "_write_array", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save({"epoch": 2, "w": nerve.zeros(1000), "v": nerve.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert load(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]  # no temp left


def test_failed_rename_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"epoch": 1}, path)

    def broken_replace(src, dst):
        raise PermissionError("rename refused")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(PermissionError):
        save({"epoch": 2}, path)
    monkeypatch.undo()
    assert load(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]


def test_data_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("rename"), real_replace(a, b)))
    save({"a": nerve.ones(2)}, tmp_path / "x.safetensors")
    assert events[:2] == ["fsync", "rename"]


def test_process_killed_mid_write_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"epoch": 1, "w": nerve.ones(10)}, path)
    before = path.read_bytes()
    script = textwrap.dedent(
        f"""
        import os
        import nerve, nerve.safetensors_io as sio
        from nerve.serialization import save

        def die(f, array):
            f.write(b"partial")
            f.flush()
            os._exit(9)  # the process dies mid-write: no cleanup, no exception handlers

        sio._write_array = die
        save({{"epoch": 2, "w": nerve.zeros(10)}}, {str(path)!r})
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == 9, result.stderr.decode()
    assert path.read_bytes() == before
    assert load(path)["epoch"] == 1


# --- corrupt, truncated, foreign files never run code ------------------------------------


class Exploit:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_load_refuses_corrupt_and_foreign_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "good.safetensors"
    save({"w": nerve.ones(4), "epoch": 1}, good)
    raw = good.read_bytes()
    cases = {
        "truncated.safetensors": (raw[: len(raw) - 3], "truncated"),
        "tiny.safetensors": (raw[:5], "shorter than the 8-byte header length"),
        "garbage.bin": (np.random.default_rng(0).bytes(256), "not a safetensors file"),
        "model.pkl": (pickle.dumps({"w": Exploit()}), "Python pickle; nerve never loads"),
        "long_header.safetensors": ((1 << 40).to_bytes(8, "little") + raw[8:], "beyond the file"),
    }
    for name, (content, match) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(SafetensorsError, match=match):
            load(tmp_path / name)
    assert not (tmp_path / "PWNED").exists()


def test_load_refuses_bad_offsets_and_dtypes(tmp_path):
    def write(header, data):
        text = json.dumps(header).encode()
        path = tmp_path / "bad.safetensors"
        path.write_bytes(len(text).to_bytes(8, "little") + text + data)
        return path

    path = write({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8000]}}, b"\0" * 8)
    with pytest.raises(SafetensorsError, match="out of range"):
        load(path)
    path = write({"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8)
    with pytest.raises(SafetensorsError, match="unknown or unsupported dtype 'C64'"):
        load(path)


def test_load_refuses_corrupt_structure(tmp_path):
    path = tmp_path / "s.safetensors"
    sio.write_safetensors(path, {"w": np.ones(2)}, {"nerve.structure": '{"a": {"__tensor__": "x"'})
    with pytest.raises(SafetensorsError, match="corrupt nerve.structure metadata"):
        load(path)
    sio.write_safetensors(
        path, {"w": np.ones(2)}, {"nerve.structure": '{"a": {"__tensor__": "v"}}'}
    )
    with pytest.raises(SafetensorsError, match="corrupt nerve.structure metadata"):
        load(path)


def test_shared_tensors_stay_shared_and_cycles_are_refused(tmp_path):
    path = tmp_path / "tied.safetensors"
    embedding = nerve.randn(5, 3)
    save({"encoder.weight": embedding, "decoder.weight": embedding, "other": nerve.ones(1)}, path)
    assert len(safetensors.numpy.load_file(str(path))) == 2  # stored once
    loaded = load(path)
    assert loaded["encoder.weight"] is loaded["decoder.weight"]
    np.testing.assert_array_equal(loaded["decoder.weight"].numpy(), embedding.numpy())
    cyclic = {"a": []}
    cyclic["a"].append(cyclic)
    with pytest.raises(ValueError, match=r"a.0 contains itself \(a cycle\)"):
        save(cyclic, path)
    same_list = [1, 2]
    save({"x": same_list, "y": same_list}, path)  # repeated, not cyclic: fine
    assert load(path) == {"x": [1, 2], "y": [1, 2]}


def test_resuming_from_a_checkpoint_continues_exactly(tmp_path):
    """Model, Adam state and RNG saved mid-run: the resumed run matches the uninterrupted one."""
    import nerve.nn as nn
    import nerve.optim as optim

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(nerve.randn(3, 2))
            self.b = nn.Parameter(nerve.zeros(2))

        def forward(self, x):
            return x @ self.w + self.b

    def steps(model, opt, n):
        for _ in range(n):
            opt.zero_grad()
            loss = (model(nerve.randn(4, 3)) ** 2).sum()  # fresh data from the global RNG
            loss.backward()
            opt.step()

    nerve.manual_seed(0)
    model = Model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    steps(model, opt, 3)
    path = tmp_path / "run.safetensors"
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict()}
    save({**ckpt, "epoch": 3, "rng": nerve.get_rng_state()}, path)
    steps(model, opt, 3)
    expected = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}

    nerve.manual_seed(123)  # a different process state
    resumed = Model()
    resumed_opt = optim.Adam(resumed.parameters(), lr=0.5)
    loaded = load(path)
    resumed.load_state_dict(loaded["model"])
    resumed_opt.load_state_dict(loaded["optimizer"])
    nerve.set_rng_state(loaded["rng"])
    assert loaded["epoch"] == 3
    steps(resumed, resumed_opt, 3)
    for key, value in resumed.state_dict().items():
        np.testing.assert_array_equal(value.detach().numpy(), expected[key])
