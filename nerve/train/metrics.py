"""Metrics that accumulate over batches: ``update(output, target)``, ``compute()``, ``reset()``.

Classification metrics take logits or probabilities ``(N, C)`` (or a single column of logits for
binary tasks) and integer targets ``(N,)``; regression metrics take predictions and targets of the
same shape. Everything is computed on NumPy arrays: metrics are bookkeeping, not part of the graph.

    acc = Accuracy(); acc.update(logits, y); acc.compute()   # -> 0.97
"""

from __future__ import annotations

import numpy as np


def _np(x) -> np.ndarray:
    from nerve.tensor import Tensor

    if isinstance(x, Tensor):
        return np.asarray(x.detach().numpy(force=True))
    return np.asarray(x)


def _labels(output: np.ndarray) -> np.ndarray:
    """Predicted class per row: argmax over classes, or a 0.5 threshold on a sigmoid column."""
    if output.ndim == 1 or (output.ndim == 2 and output.shape[1] == 1):
        flat = output.reshape(-1)
        # logits (any sign) are thresholded at 0, probabilities in [0, 1] at 0.5
        threshold = 0.5 if flat.size and flat.min() >= 0 and flat.max() <= 1 else 0.0
        return (flat > threshold).astype(np.int64)
    return output.argmax(axis=1)


class Metric:
    """Base class: a name (the key in logs) and accumulate/compute/reset."""

    name = "metric"
    higher_is_better = True

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output, target) -> None:
        raise NotImplementedError

    def compute(self):
        raise NotImplementedError

    def __call__(self, output, target):
        """One-shot: the metric of these outputs alone."""
        self.reset()
        self.update(output, target)
        value = self.compute()
        self.reset()
        return value


class Accuracy(Metric):
    """Fraction of rows whose predicted class equals the target."""

    name = "accuracy"

    def __init__(self):
        self.reset()

    def reset(self):
        self.correct = 0
        self.total = 0

    def update(self, output, target):
        pred, target = _labels(_np(output)), _np(target).reshape(-1)
        if pred.shape[0] != target.shape[0]:
            raise ValueError(f"Accuracy: {pred.shape[0]} predictions but {target.shape[0]} targets")
        self.correct += int((pred == target).sum())
        self.total += int(target.shape[0])

    def compute(self):
        return self.correct / self.total if self.total else float("nan")


class TopKAccuracy(Metric):
    """Fraction of rows whose target is among the k highest scores."""

    def __init__(self, k: int = 5):
        if k < 1:
            raise ValueError(f"TopKAccuracy: k must be >= 1, got {k}")
        self.k = k
        self.name = f"top{k}_accuracy"
        self.reset()

    def reset(self):
        self.correct = 0
        self.total = 0

    def update(self, output, target):
        out, target = _np(output), _np(target).reshape(-1)
        k = min(self.k, out.shape[1])
        top = np.argpartition(-out, k - 1, axis=1)[:, :k]
        self.correct += int((top == target[:, None]).any(axis=1).sum())
        self.total += int(target.shape[0])

    def compute(self):
        return self.correct / self.total if self.total else float("nan")


class ConfusionMatrix(Metric):
    """C[i, j] = number of samples of true class i predicted as class j."""

    name = "confusion_matrix"

    def __init__(self, num_classes: int):
        if num_classes < 2:
            raise ValueError(f"ConfusionMatrix: num_classes must be >= 2, got {num_classes}")
        self.num_classes = num_classes
        self.reset()

    def reset(self):
        self.matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, output, target):
        pred, target = _labels(_np(output)), _np(target).reshape(-1).astype(np.int64)
        np.add.at(self.matrix, (target, pred), 1)

    def compute(self):
        return self.matrix.copy()


class _PerClass(Metric):
    """precision/recall/F1 from a confusion matrix, averaged 'macro' (per class) or 'micro'."""

    def __init__(self, num_classes: int, average: str = "macro"):
        if average not in ("macro", "micro", "none"):
            raise ValueError(f"{type(self).__name__}: average must be macro, micro or none, got {average!r}")
        self.average = average
        self.cm = ConfusionMatrix(num_classes)

    def reset(self):
        self.cm.reset()

    def update(self, output, target):
        self.cm.update(output, target)

    def _counts(self):
        m = self.cm.matrix
        tp = np.diag(m).astype(np.float64)
        fp = m.sum(axis=0) - tp
        fn = m.sum(axis=1) - tp
        if self.average == "micro":
            return tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True)
        return tp, fp, fn

    def _reduce(self, values):
        return values if self.average == "none" else float(values.mean())


def _safe_div(a, b):
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)


class Precision(_PerClass):
    """tp / (tp + fp)."""

    name = "precision"

    def compute(self):
        tp, fp, _ = self._counts()
        return self._reduce(_safe_div(tp, tp + fp))


class Recall(_PerClass):
    """tp / (tp + fn)."""

    name = "recall"

    def compute(self):
        tp, _, fn = self._counts()
        return self._reduce(_safe_div(tp, tp + fn))


class F1(_PerClass):
    """2 precision recall / (precision + recall) = 2 tp / (2 tp + fp + fn)."""

    name = "f1"

    def compute(self):
        tp, fp, fn = self._counts()
        return self._reduce(_safe_div(2 * tp, 2 * tp + fp + fn))


class _Regression(Metric):
    higher_is_better = False

    def __init__(self):
        self.reset()

    def reset(self):
        self.n = 0
        self.sum_sq = 0.0
        self.sum_abs = 0.0
        self.sum_y = 0.0
        self.sum_y2 = 0.0

    def update(self, output, target):
        out, target = _np(output).astype(np.float64), _np(target).astype(np.float64)
        if out.shape != target.shape:
            out = out.reshape(target.shape) if out.size == target.size else out
        if out.shape != target.shape:
            raise ValueError(f"{type(self).__name__}: output shape {out.shape} != target shape {target.shape}")
        err = out - target
        self.n += err.size
        self.sum_sq += float((err * err).sum())
        self.sum_abs += float(np.abs(err).sum())
        self.sum_y += float(target.sum())
        self.sum_y2 += float((target * target).sum())


class MSE(_Regression):
    """mean (y_hat - y)^2."""

    name = "mse"

    def compute(self):
        return self.sum_sq / self.n if self.n else float("nan")


class MAE(_Regression):
    """mean |y_hat - y|."""

    name = "mae"

    def compute(self):
        return self.sum_abs / self.n if self.n else float("nan")


class R2(_Regression):
    """1 - SS_res / SS_tot, SS_tot = sum (y - mean y)^2."""

    name = "r2"
    higher_is_better = True

    def compute(self):
        if not self.n:
            return float("nan")
        ss_tot = self.sum_y2 - self.sum_y**2 / self.n
        return 1.0 - self.sum_sq / ss_tot if ss_tot > 0 else float("nan")


# one-shot functional forms
def accuracy(output, target) -> float:
    return Accuracy()(output, target)


def top_k_accuracy(output, target, k: int = 5) -> float:
    return TopKAccuracy(k)(output, target)


def confusion_matrix(output, target, num_classes: int) -> np.ndarray:
    return ConfusionMatrix(num_classes)(output, target)


def precision_recall_f1(output, target, num_classes: int, average: str = "macro"):
    p, r, f = Precision(num_classes, average), Recall(num_classes, average), F1(num_classes, average)
    for m in (p, r, f):
        m.update(output, target)
    return p.compute(), r.compute(), f.compute()


def mse(output, target) -> float:
    return MSE()(output, target)


def mae(output, target) -> float:
    return MAE()(output, target)


def r2_score(output, target) -> float:
    return R2()(output, target)


_BY_NAME = {"accuracy": Accuracy, "acc": Accuracy, "mse": MSE, "mae": MAE, "r2": R2}


def get(metric, num_classes: int | None = None) -> Metric:
    """A Metric instance from an instance or a short name ('accuracy', 'top5', 'f1', 'mse' ...)."""
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str):
        if metric in _BY_NAME:
            return _BY_NAME[metric]()
        if metric.startswith("top") and metric[3:].isdigit():
            return TopKAccuracy(int(metric[3:]))
        if metric in ("precision", "recall", "f1"):
            if num_classes is None:
                raise ValueError(f"metric {metric!r} needs num_classes")
            return {"precision": Precision, "recall": Recall, "f1": F1}[metric](num_classes)
    raise ValueError(
        f"unknown metric {metric!r}; use a Metric or one of accuracy, top5, precision, recall, f1, mse, mae, r2"
    )
