"""Points on the plane, uploaded CSV files, features and the heatmap grid."""

import numpy as np
import pytest

from nerve.datasets import toy2d
from nerve.playground.data import EXTENT, features, grid, make_points, parse_csv, split
from nerve.playground.protocol import ProtocolError


@pytest.mark.parametrize("name", ["circle", "xor", "gaussian", "spiral", "moons"])
def test_builtin_sets_are_toy2d_halved_onto_the_plane(name):
    points = make_points(name, 200, noise=10, seed=3)
    raw_x, raw_y = toy2d.make_toy2d(name, 200, 0.1, 3)
    np.testing.assert_allclose(points.x, raw_x * 0.5, rtol=1e-6)
    np.testing.assert_array_equal(points.y, raw_y)
    assert points.problem == "classification" and points.num_classes == 2
    assert points.scale == 0.5 and points.x.dtype == np.float32


def test_multiclass_sets():
    spiral = make_points("spiral", 300, noise=0, seed=0, classes=3)
    assert spiral.num_classes == 3 and set(spiral.y.tolist()) == {0, 1, 2}
    blobs = make_points("gaussian", 400, noise=0, seed=0, classes=5)
    assert blobs.num_classes == 5
    # two-class-only sets ignore the class count
    assert make_points("xor", 100, 0, 0, classes=4).num_classes == 2


@pytest.mark.parametrize("name", ["plane", "multigauss"])
def test_regression_sets(name):
    points = make_points(name, 300, noise=0, seed=1)
    assert points.problem == "regression" and points.y.dtype == np.float32
    assert np.abs(points.y).max() <= 1.0 and np.abs(points.x).max() <= EXTENT
    assert points.y.std() > 0.1
    if name == "plane":  # y = (x1 + x2) / (2 * 0.9 * EXTENT)
        np.testing.assert_allclose(points.y, points.x.sum(1) / (1.8 * EXTENT), atol=1e-6)


def test_csv_classification_with_header_and_word_labels():
    text = "x,y,label\n# a comment\n0,0,cat\n10,0,dog\n0,10,cat\n10,10,bird\n5,5,dog\n"
    points = parse_csv(text)
    assert points.problem == "classification" and points.num_classes == 3
    assert points.class_names == ("bird", "cat", "dog")
    assert points.y.tolist() == [1, 2, 1, 0, 2]
    # centred on (5, 5) and scaled so the farthest coordinate reaches 0.9 * EXTENT
    assert points.center == (5.0, 5.0)
    np.testing.assert_allclose(np.abs(points.x).max(), 0.9 * EXTENT, rtol=1e-6)
    np.testing.assert_allclose((np.array([[10, 0]]) - points.center) * points.scale, points.x[1:2])


def test_csv_integer_labels_semicolons_and_regression():
    points = parse_csv("1;2;0\n2;1;1\n3;3;2\n0;0;1\n")
    assert points.num_classes == 3 and points.class_names == ("0", "1", "2")
    numbers = parse_csv("1,2,0.5\n2,1,-2.0\n3,3,1.25\n0,0,0.1\n")
    assert numbers.problem == "regression"
    np.testing.assert_allclose(numbers.y, [0.25, -1.0, 0.625, 0.05])


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "the CSV is empty"),
        ("x1,x2,label\n", "4 to 5000 data rows, got 0"),
        ("1,2,0\n2,1,1\n", "4 to 5000 data rows, got 2"),
        ("1,2,0\n2,1\n3,3,1\n0,0,1\n", "data row 2 has 2 values"),
        ("1,2,0\n2,abc,1\n3,3,1\n0,0,1\n", "data row 2: x1 and x2 must be numbers"),
        ("1,2,0\n2,inf,1\n3,3,1\n0,0,1\n", "data row 2: x1 and x2 must be finite"),
        ("1,2,0\n2,1,0\n3,3,0\n0,0,0\n", "2 to 8 distinct values, got 1"),
        ("\n".join(f"{k},{k},{k}" for k in range(9)), "2 to 8 distinct values, got 9"),
        ("1,2,0\n" * 5001, "4 to 5000 data rows, got 5001"),
        ("1,2,0\n" * 50000, "larger than 256 kB"),
    ],
)
def test_csv_errors_name_the_problem(text, words):
    with pytest.raises(ProtocolError, match=words) as info:
        parse_csv(text)
    assert info.value.field == "csv" and info.value.request == "learn.upload"


def test_features_and_grid():
    x = np.array([[1.0, 2.0], [-0.5, 3.0]], dtype=np.float32)
    names = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin x1", "sin x2"]
    out = features(x, names)
    expected = np.array(
        [[1, 2, 1, 4, 2, np.sin(1), np.sin(2)], [-0.5, 3, 0.25, 9, -1.5, np.sin(-0.5), np.sin(3)]]
    )
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert features(x, ["x2"]).shape == (2, 1)
    cells = grid(4)  # centres, row-major from the top-left
    assert cells.shape == (16, 2)
    np.testing.assert_allclose(cells[0], [-0.75 * EXTENT, 0.75 * EXTENT])
    np.testing.assert_allclose(cells[-1], [0.75 * EXTENT, -0.75 * EXTENT])


def test_split_is_seeded_and_disjoint():
    points = make_points("xor", 100, 0, 0)
    train, test = split(points, 70, seed=5)
    assert len(train) == 70 and len(test) == 30
    assert set(train.tolist()).isdisjoint(test.tolist())
    again, _ = split(points, 70, seed=5)
    np.testing.assert_array_equal(train, again)
