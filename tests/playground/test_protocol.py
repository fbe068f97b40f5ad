"""Message checks: every field's kind and range, unknown fields and types named."""

import json

import pytest

from nerve.playground.protocol import LEARN_CONFIG, ProtocolError, parse_message


def msg(**fields):
    return json.dumps(fields)


def test_defaults_are_filled_in():
    kind, fields = parse_message(msg(type="learn.config"))
    assert kind == "learn.config"
    assert fields == {name: spec.default for name, spec in LEARN_CONFIG.items()}
    kind, fields = parse_message(msg(type="forward.init"))
    assert fields == {"layers": [5, 7, 6, 2], "seed": 0}
    assert parse_message(msg(type="forward.sample"))[1] == {"temperature": 0.65, "new": True}


def test_valid_values_pass_and_ints_become_ints():
    _, fields = parse_message(
        msg(
            type="learn.config",
            dataset="spiral",
            layers=[16] * 8,
            lr=1e-5,
            batch_size=3.0,
            features=["x1", "sin x2"],
            classes=8,
        )
    )
    assert fields["layers"] == [16] * 8 and fields["batch_size"] == 3
    assert isinstance(fields["batch_size"], int) and fields["features"] == ["x1", "sin x2"]


@pytest.mark.parametrize(
    "fields, field, words",
    [
        ({"layers": [4] * 9}, "layers", "list of 0 to 8"),
        ({"layers": [17]}, "layers", "between 1 and 16"),
        ({"layers": [0, 2]}, "layers", "between 1 and 16"),
        ({"layers": [2.5]}, "layers", "an integer"),
        ({"layers": "4,2"}, "layers", "a list"),
        ({"lr": 0}, "lr", "between 1e-05 and 10"),
        ({"lr": 11}, "lr", "between"),
        ({"lr": "fast"}, "lr", "a number"),
        ({"lr": True}, "lr", "a number"),
        ({"batch_size": 0}, "batch_size", "between 1 and 1000"),
        ({"batch_size": 2.5}, "batch_size", "an integer"),
        ({"dataset": "mnist"}, "dataset", "one of circle, xor"),
        ({"features": []}, "features", "a list of 1 to 7"),
        ({"features": ["x1", "x1"]}, "features", "distinct"),
        ({"features": ["x3"]}, "features", "distinct items from"),
        ({"dropout": 0.95}, "dropout", "between 0 and 0.9"),
        ({"classes": 9}, "classes", "between 2 and 8"),
        ({"seed": -1}, "seed", "between 0"),
        ({"noise": 51}, "noise", "between 0 and 50"),
        ({"activation": "gelu"}, "activation", "relu, tanh, sigmoid, linear"),
    ],
)
def test_out_of_range_values_are_named(fields, field, words):
    with pytest.raises(ProtocolError, match=words) as info:
        parse_message(msg(type="learn.config", **fields))
    assert info.value.field == field and info.value.request == "learn.config"
    assert repr(field) in str(info.value)


def test_non_finite_numbers_are_refused():
    with pytest.raises(ProtocolError, match="'temperature' must be between"):
        parse_message('{"type": "forward.sample", "temperature": NaN}')
    with pytest.raises(ProtocolError, match="'lr' must be between"):
        parse_message('{"type": "learn.hyper", "lr": Infinity}')


def test_unknown_field_and_type_are_named():
    with pytest.raises(ProtocolError, match="unknown field 'bogus' in 'learn.play'") as info:
        parse_message(msg(type="learn.play", bogus=1))
    assert info.value.field == "bogus"
    with pytest.raises(ProtocolError, match="unknown message type 'learn.fly'"):
        parse_message(msg(type="learn.fly"))
    with pytest.raises(ProtocolError, match="unknown message type None"):
        parse_message(msg(kind="learn.play"))


def test_malformed_messages():
    with pytest.raises(ProtocolError, match="not valid JSON"):
        parse_message("{type: learn.play")
    with pytest.raises(ProtocolError, match="must be a JSON object, got list"):
        parse_message("[1, 2]")
    with pytest.raises(ProtocolError, match="message too large"):
        parse_message(" " * 500_000)
    with pytest.raises(ProtocolError, match="'learn.upload' needs the field 'csv'"):
        parse_message(msg(type="learn.upload"))
    with pytest.raises(ProtocolError, match="true or false"):
        parse_message(msg(type="learn.backprop", enabled=1))


def test_error_message_shape():
    err = ProtocolError("bad", "learn.config", "lr")
    assert err.to_message() == {
        "type": "error",
        "request": "learn.config",
        "field": "lr",
        "message": "bad",
    }
