"""The server's API: WebSocket messages in, states out, bad messages refused by name."""

import base64
import json
import time
from pathlib import Path

import numpy as np
import pytest

import nerve
from playground.ws_helpers import receive, send

STATIC = Path(__file__).resolve().parents[2] / "nerve" / "playground" / "static"


def softmax(z, temperature):
    e = np.exp((z - z.max()) / temperature)
    return e / e.sum()


def test_page_and_static_files_are_served_with_a_strict_csp(client):
    page = client.get("/")
    assert page.status_code == 200 and "<title>nerve playground</title>" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    for path in ("/static/js/main.js", "/static/js/learn.js", "/static/style.css"):
        assert client.get(path).status_code == 200
    assert client.get("/static/nope.js").status_code == 404
    assert client.get("/status").json()["sessions"] == 0


def test_static_files_load_nothing_from_elsewhere():
    # no CDN: no script, style or font from another origin anywhere in the page's files
    for path in STATIC.rglob("*"):
        if path.is_file():
            text = path.read_text().replace("http://www.w3.org/2000/svg", "")  # a name, not a URL
            assert "http://" not in text and "https://" not in text, path
            assert "//cdn" not in text and "@import" not in text, path


def test_each_socket_has_its_own_session_and_closing_frees_it(client, app):
    with client.websocket_connect("/ws") as first:
        assert first.receive_json()["type"] == "hello"
        with client.websocket_connect("/ws") as second:
            assert second.receive_json()["type"] == "hello"
            assert len(app.state.sessions) == 2
            send(first, "forward.init", layers=[3, 2], seed=1)
            send(second, "forward.init", layers=[5, 4, 2], seed=1)
            assert receive(first, "forward.network")["layers"] == [3, 2]
            assert receive(second, "forward.network")["layers"] == [5, 4, 2]
        deadline = time.monotonic() + 5
        while len(app.state.sessions) != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(app.state.sessions) == 1
    deadline = time.monotonic() + 5
    while app.state.sessions and time.monotonic() < deadline:
        time.sleep(0.02)
    assert app.state.sessions == {}


def test_a_foreign_origin_is_refused(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()


def test_forward_network_and_sample_are_nerves_numbers(ws):
    send(ws, "forward.init")
    network = receive(ws, "forward.network")
    assert network["layers"] == [5, 7, 6, 2]
    shapes = [np.array(w).shape for w in network["weights"]]
    assert shapes == [(7, 5), (6, 7), (2, 6)]
    send(ws, "forward.sample", temperature=0.65)
    sample = receive(ws, "forward.sample")
    # recompute the forward pass from the weights the page shows: it must agree
    a = np.array(sample["input"])
    assert a.shape == (5,) and np.all(np.abs(a) <= 1)
    for k, (w, b) in enumerate(zip(network["weights"], network["biases"], strict=True)):
        z = np.array(w) @ a + np.array(b)
        np.testing.assert_allclose(sample["z"][k], z, rtol=1e-4, atol=1e-6)
        a = np.tanh(z) if k < 2 else z
    np.testing.assert_allclose(sample["logits"], a, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(sample["probs"], softmax(a, 0.65), rtol=1e-5)

    # a new temperature on the same sample: same input, sharper or flatter probabilities
    send(ws, "forward.sample", temperature=3.0, new=False)
    again = receive(ws, "forward.sample")
    assert again["input"] == sample["input"]
    np.testing.assert_allclose(again["probs"], softmax(a, 3.0), rtol=1e-5)
    send(ws, "forward.sample", temperature=0.65)
    assert receive(ws, "forward.sample")["input"] != sample["input"]


def test_forward_init_is_seeded_and_randomize_draws_new_weights(ws):
    send(ws, "forward.init", seed=7)
    first = receive(ws, "forward.network")
    send(ws, "forward.init", seed=7)
    assert receive(ws, "forward.network")["weights"] == first["weights"]
    send(ws, "forward.randomize")
    other = receive(ws, "forward.network")
    assert other["seed"] != 7 and other["weights"] != first["weights"]
    assert other["layers"] == [5, 7, 6, 2]
    # the init is nn.Linear's: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for w in other["weights"]:
        w = np.array(w)
        assert np.abs(w).max() <= 1 / np.sqrt(w.shape[1]) + 1e-6


@pytest.mark.parametrize(
    "message, field, words",
    [
        ({"type": "forward.init", "layers": [5, 0, 2]}, "layers", "between 1 and 16"),
        ({"type": "forward.init", "layers": [5]}, "layers", "a list of 2 to 8"),
        ({"type": "forward.sample", "temperature": 0}, "temperature", "between 0.05 and 5"),
        ({"type": "learn.config", "layers": [4] * 9}, "layers", "a list of 0 to 8"),
        ({"type": "learn.config", "layers": [17]}, "layers", "between 1 and 16"),
        ({"type": "learn.config", "lr": 100}, "lr", "between 1e-05 and 10"),
        ({"type": "learn.config", "batch_size": 0}, "batch_size", "between 1 and 1000"),
        ({"type": "learn.config", "colour": "red"}, "colour", "unknown field 'colour'"),
        ({"type": "learn.hyper", "layers": [2]}, "layers", "unknown field 'layers'"),
        ({"type": "learn.upload", "csv": "1,2\n"}, "csv", "4 to 5000 data rows"),
        ({"type": "learn.upload", "csv": "a" * 300_000}, "csv", "at most 256000 characters"),
        ({"type": "learn.teleport"}, "type", "unknown message type 'learn.teleport'"),
    ],
)
def test_bad_messages_are_refused_by_name_and_the_session_goes_on(ws, message, field, words):
    ws.send_text(json.dumps(message))
    error = receive(ws, "error")
    assert error["field"] == field and words in error["message"]
    send(ws, "forward.init", layers=[2, 2])
    assert receive(ws, "forward.network")["layers"] == [2, 2]


def test_non_json_and_binary_messages_get_errors(ws):
    ws.send_text("{not json")
    assert "not valid JSON" in receive(ws, "error")["message"]
    ws.send_bytes(b"\x00\x01")
    assert "binary messages" in receive(ws, "error")["message"]
    send(ws, "learn.play")
    assert "send 'learn.config' before 'learn.play'" in receive(ws, "error")["message"]
    send(ws, "forward.sample")
    assert "send 'forward.init' before" in receive(ws, "error")["message"]


def configure(ws, **fields):
    send(ws, "learn.config", **fields)
    data = receive(ws, "learn.data")
    frame = receive(ws, "learn.frame")
    return data, frame


def test_learn_config_gives_data_and_a_first_frame(ws):
    data, frame = configure(ws, dataset="circle", n_points=200, train_ratio=70, layers=[5, 3])
    assert data["sizes"] == [2, 5, 3, 1] and data["problem"] == "classification"
    assert len(data["train"]["x"]) == 140 and len(data["test"]["y"]) == 60
    assert data["config"]["layers"] == [5, 3] and data["config"]["seed"] == 1
    assert len(data["feature_maps"]) == 2
    assert frame["epoch"] == 0 and frame["running"] is False and frame["diverged"] is False
    assert [np.array(w).shape for w in frame["weights"]] == [(5, 2), (3, 5), (1, 3)]
    assert [len(layer) for layer in frame["neurons"]] == [5, 3]
    grid = frame["neuron_grid"]
    assert len(base64.b64decode(frame["neurons"][0][0]["data"])) == grid * grid
    size = frame["boundary"]["size"]
    assert len(base64.b64decode(frame["boundary"]["data"])) == size * size
    assert 0.5 < frame["metrics"]["test_loss"] < 1.0  # untrained: about log 2
    assert set(frame["metrics"]) == {"train_loss", "test_loss", "train_accuracy", "test_accuracy"}


def play_until(ws, predicate, timeout_s):
    send(ws, "learn.play")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        frame = receive(ws, "learn.frame")
        if predicate(frame):
            break
    send(ws, "learn.pause")
    receive(ws, "learn.frame", until=lambda f: not f["running"])
    return frame


def test_xor_test_loss_falls_while_playing(ws):
    configure(ws, dataset="xor", layers=[8, 8], optimizer="adam", lr=0.03)
    frame = play_until(ws, lambda f: f["metrics"]["test_loss"] < 0.2, timeout_s=30)
    assert frame["metrics"]["test_loss"] < 0.2, frame["metrics"]
    assert frame["metrics"]["test_accuracy"] > 0.9
    assert frame["epoch"] > 0 and frame["updates"] > 0
    assert len(frame["history"]["test"]) >= 2
    assert frame["history"]["test"][-1] < frame["history"]["test"][0]


def test_training_rate_for_a_2_8_8_1_network(ws):
    """At least 20 updates per second while frames keep coming (the page stays fed)."""
    configure(ws, dataset="xor", layers=[8, 8], batch_size=10)
    send(ws, "learn.play")
    first = receive(ws, "learn.frame", until=lambda f: f["running"] and f["updates"] > 0)
    start = time.monotonic()
    frames = 0
    while time.monotonic() - start < 2.0:
        last = receive(ws, "learn.frame")
        frames += 1
    elapsed = time.monotonic() - start
    send(ws, "learn.pause")
    rate = (last["updates"] - first["updates"]) / elapsed
    print(f"2-8-8-1: {rate:.0f} updates/s, {frames / elapsed:.1f} frames/s")
    assert rate >= 20, rate
    assert frames / elapsed >= 4


def test_step_runs_exactly_one_epoch_and_reset_restores_the_start(ws):
    _, start = configure(ws, dataset="gaussian", n_points=100, batch_size=10)
    send(ws, "learn.step")
    frame = receive(ws, "learn.frame", until=lambda f: not f["running"])
    assert frame["epoch"] == 1 and frame["updates"] == 5  # 50 train points / 10
    assert frame["weights"] != start["weights"]
    send(ws, "learn.reset")
    reset = receive(ws, "learn.frame")
    assert reset["epoch"] == 0 and reset["weights"] == start["weights"]


def test_hyperparameters_change_without_resetting(ws):
    configure(ws, dataset="xor", n_points=100)
    send(ws, "learn.step")
    receive(ws, "learn.frame", until=lambda f: f["epoch"] == 1 and not f["running"])
    send(
        ws,
        "learn.hyper",
        lr=0.1,
        optimizer="momentum",
        batch_size=5,
        regularization="l2",
        reg_rate=0.01,
        dropout=0.2,
        loss="mse",
    )
    frame = receive(ws, "learn.frame")
    assert frame["epoch"] == 1 and frame["loss"] == "mse"
    assert frame["config"]["optimizer"] == "momentum" and frame["config"]["lr"] == 0.1
    send(ws, "learn.step")
    frame = receive(ws, "learn.frame", until=lambda f: not f["running"])
    assert frame["epoch"] == 2 and frame["updates"] == 5 + 10


def test_a_diverging_run_is_shown_and_can_be_reset(ws):
    # linear units, squared features and a learning rate of 10: the weights blow up to inf
    configure(
        ws,
        dataset="plane",
        layers=[8, 8],
        activation="linear",
        lr=10.0,
        features=["x1", "x2", "x1^2", "x2^2", "x1*x2"],
        optimizer="momentum",
    )
    frame = play_until(ws, lambda f: f["diverged"], timeout_s=20)
    assert frame["diverged"] is True and frame["running"] is False
    assert frame["metrics"]["test_loss"] is None  # NaN travels as null
    send(ws, "learn.play")
    assert "diverged" in receive(ws, "error")["message"]
    send(ws, "learn.reset")
    frame = receive(ws, "learn.frame")
    assert frame["diverged"] is False and frame["metrics"]["test_loss"] is not None


def test_multiclass_and_regression(ws):
    data, frame = configure(ws, dataset="spiral", classes=4, layers=[8])
    assert data["num_classes"] == 4 and data["sizes"] == [2, 8, 4]
    assert frame["boundary"]["channels"] == 4
    channels = np.frombuffer(base64.b64decode(frame["boundary"]["data"]), np.uint8)
    sums = channels.reshape(-1, 4).astype(int).sum(1)
    assert np.all(np.abs(sums - 255) <= 4)  # probabilities (quantized) sum to one
    data, frame = configure(ws, dataset="plane", loss="cross_entropy")
    assert data["problem"] == "regression" and data["loss"] == "mse"
    assert set(frame["metrics"]) == {"train_loss", "test_loss"}


def test_csv_upload_then_train_on_it(ws):
    send(ws, "learn.config", dataset="csv")
    assert "no CSV uploaded" in receive(ws, "error")["message"]
    rows = ["x1,x2,label"] + [f"{i},{(i * 7) % 13},{'ab'[i % 2]}" for i in range(40)]
    send(ws, "learn.upload", csv="\n".join(rows), name="mine.csv")
    uploaded = receive(ws, "learn.uploaded")
    assert uploaded == {
        "type": "learn.uploaded",
        "name": "mine.csv",
        "rows": 40,
        "problem": "classification",
        "classes": 2,
        "class_names": ["a", "b"],
    }
    data, _ = configure(ws, dataset="csv", train_ratio=50)
    assert data["num_classes"] == 2 and len(data["train"]["x"]) == 20
    send(ws, "learn.upload", csv="1,2,0\n1,x,1\n3,4,0\n5,6,1\n")
    error = receive(ws, "error")
    assert error["field"] == "csv" and "data row 2" in error["message"]


def test_backprop_frames_carry_gradients(ws):
    _, frame = configure(ws, dataset="xor", layers=[3])
    assert "gradients" not in frame
    send(ws, "learn.backprop", enabled=True)
    frame = receive(ws, "learn.frame")
    grads = frame["gradients"]
    assert [np.array(g).shape for g in grads["weights"]] == [(3, 2), (1, 3)]
    assert [len(g) for g in grads["biases"]] == [3, 1]
    assert any(abs(v) > 0 for row in grads["weights"][0] for v in row)
    send(ws, "learn.backprop", enabled=False)
    assert "gradients" not in receive(ws, "learn.frame")


def test_export_loads_back_to_the_same_predictions(ws, tmp_path):
    configure(ws, dataset="moons", layers=[6], activation="relu", features=["x1", "x2", "x1*x2"])
    send(ws, "learn.step")
    receive(ws, "learn.frame", until=lambda f: not f["running"])
    send(ws, "learn.export")
    export = receive(ws, "learn.export")
    assert export["filename"] == "playground-moons.safetensors"
    path = tmp_path / export["filename"]
    path.write_bytes(base64.b64decode(export["safetensors"]))
    state = nerve.load(str(path))
    assert sorted(state) == ["0.bias", "0.weight", "3.bias", "3.weight"]
    assert tuple(state["0.weight"].shape) == (6, 3)
    # run the snippet as the user would, from the download folder
    (tmp_path / "snippet.py").write_text(export["snippet"])
    namespace = {"__name__": "snippet"}
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(export["snippet"], "snippet.py", "exec"), namespace)
        outputs = namespace["predict"](export["probe"]["points"])
    finally:
        os.chdir(cwd)
    np.testing.assert_allclose(outputs, export["probe"]["outputs"], rtol=1e-4, atol=1e-6)


def test_an_internal_failure_is_reported_and_the_session_survives(ws, monkeypatch):
    from nerve.playground import forward

    def broken(self, temperature, new=True):
        raise RuntimeError("boom")

    send(ws, "forward.init")
    receive(ws, "forward.network")
    monkeypatch.setattr(forward.ForwardNet, "sample", broken)
    send(ws, "forward.sample")
    error = receive(ws, "error")
    assert "internal error while handling 'forward.sample'" in error["message"]
    assert "boom" in error["message"]
    monkeypatch.undo()
    send(ws, "forward.sample")
    assert receive(ws, "forward.sample")["probs"]


def test_frames_wait_for_the_page_but_training_does_not(ws):
    """Without acks the server sends one frame at a time, trains on, and answers a pause."""
    configure(ws, dataset="xor", layers=[8, 8])
    send(ws, "learn.play")
    frames = [ws.receive_json()]  # the reply to play: read, but not acknowledged
    assert frames[0]["type"] == "learn.frame" and frames[0]["running"]
    time.sleep(0.8)  # less than the 2 s after which an unacknowledged frame counts as drawn
    send(ws, "learn.pause")
    paused = ws.receive_json()
    assert paused["type"] == "learn.frame" and paused["running"] is False
    assert paused["updates"] > frames[0]["updates"] + 10  # kept training meanwhile
    send(ws, "learn.ack")
    send(ws, "learn.ack")
    send(ws, "learn.play")
    assert receive(ws, "learn.frame", until=lambda f: f["updates"] > paused["updates"])


def test_a_client_that_never_acks_still_gets_frames(ws):
    configure(ws, dataset="xor", layers=[4])
    send(ws, "learn.play")
    first = ws.receive_json()
    second = ws.receive_json()  # after the ack timeout (2 s), not never
    assert second["type"] == "learn.frame" and second["updates"] > first["updates"]
    send(ws, "learn.pause")
