"""Metrics against scikit-learn's on random predictions, plus hand-worked cases."""

import numpy as np
import pytest
from sklearn import metrics as skm

from nerve.train import metrics as M

rng = np.random.default_rng(0)
LOGITS = rng.standard_normal((200, 4))
TARGET = rng.integers(0, 4, 200)
PRED = LOGITS.argmax(1)


def test_accuracy_by_hand():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0], [0.1, 0.2]])
    assert M.accuracy(logits, np.array([0, 1, 1, 1])) == 0.75


def test_accuracy_accumulates_over_batches():
    acc = M.Accuracy()
    for i in range(0, 200, 64):
        acc.update(LOGITS[i:i + 64], TARGET[i:i + 64])
    assert acc.compute() == pytest.approx(skm.accuracy_score(TARGET, PRED))


def test_binary_column_of_logits_and_probabilities():
    assert M.accuracy(np.array([[-1.0], [2.0]]), np.array([0, 1])) == 1.0
    assert M.accuracy(np.array([0.2, 0.9]), np.array([0, 1])) == 1.0


def test_top_k():
    expected = skm.top_k_accuracy_score(TARGET, LOGITS, k=2)
    assert M.top_k_accuracy(LOGITS, TARGET, k=2) == pytest.approx(expected)


def test_confusion_matrix_matches_sklearn():
    np.testing.assert_array_equal(M.confusion_matrix(LOGITS, TARGET, 4),
                                  skm.confusion_matrix(TARGET, PRED, labels=range(4)))


@pytest.mark.parametrize("average", ["macro", "micro"])
def test_precision_recall_f1_match_sklearn(average):
    p, r, f = M.precision_recall_f1(LOGITS, TARGET, 4, average)
    assert p == pytest.approx(skm.precision_score(TARGET, PRED, average=average))
    assert r == pytest.approx(skm.recall_score(TARGET, PRED, average=average))
    assert f == pytest.approx(skm.f1_score(TARGET, PRED, average=average))


def test_regression_metrics_match_sklearn():
    y = rng.standard_normal(50)
    y_hat = y + 0.3 * rng.standard_normal(50)
    assert M.mse(y_hat, y) == pytest.approx(skm.mean_squared_error(y, y_hat))
    assert M.mae(y_hat, y) == pytest.approx(skm.mean_absolute_error(y, y_hat))
    assert M.r2_score(y_hat, y) == pytest.approx(skm.r2_score(y, y_hat))


def test_get_by_name_and_errors():
    assert isinstance(M.get("accuracy"), M.Accuracy)
    assert M.get("top3").k == 3
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        M.get("nope")
    with pytest.raises(ValueError, match="needs num_classes"):
        M.get("f1")
    with pytest.raises(ValueError, match="3 predictions but 2 targets"):
        M.accuracy(np.zeros((3, 2)), np.zeros(2))
