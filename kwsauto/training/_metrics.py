"""Classification metrics from predictions: accuracy, confusion matrix, per-class precision/recall/F1."""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["ClassMetrics", "classification_metrics", "predict"]


@dataclass(frozen=True)
class ClassMetrics:
    """``confusion[i][j]``: clips of true class i predicted as j."""

    labels: tuple[str, ...]
    accuracy: float
    macro_f1: float
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    f1: tuple[float, ...]
    support: tuple[int, ...]
    confusion: tuple[tuple[int, ...], ...]

    @property
    def per_class(self) -> dict[str, dict[str, float]]:
        """Label → precision, recall, f1 and support, as a card's ``test_per_class`` holds them."""
        return {
            label: {"precision": p, "recall": r, "f1": f, "support": s}
            for label, p, r, f, s in zip(self.labels, self.precision, self.recall, self.f1, self.support)
        }

    def to_dict(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class": self.per_class,
            "confusion": [list(row) for row in self.confusion],
        }


def classification_metrics(y_true: torch.Tensor, y_pred: torch.Tensor, labels: tuple[str, ...]) -> ClassMetrics:
    k = len(labels)
    confusion = torch.bincount(y_true * k + y_pred, minlength=k * k).view(k, k)
    tp = confusion.diag().double()
    predicted = confusion.sum(0).double()
    support = confusion.sum(1).double()
    precision = torch.where(predicted > 0, tp / predicted.clamp_min(1), torch.zeros_like(tp))
    recall = torch.where(support > 0, tp / support.clamp_min(1), torch.zeros_like(tp))
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall).clamp_min(1e-12), 0 * tp)
    present = support > 0
    return ClassMetrics(
        labels=tuple(labels),
        accuracy=float(tp.sum() / max(1, len(y_true))),
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        precision=tuple(precision.tolist()),
        recall=tuple(recall.tolist()),
        f1=tuple(f1.tolist()),
        support=tuple(int(s) for s in support.tolist()),
        confusion=tuple(tuple(int(v) for v in row) for row in confusion.tolist()),
    )


@torch.no_grad()
def predict(model: torch.nn.Module, features: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Class indices for ``features`` ``[n, 1, frames, coeffs]``, in eval mode."""
    was_training = model.training
    model.eval()
    out = torch.cat([model(features[i : i + batch_size]).argmax(1) for i in range(0, len(features), batch_size)])
    model.train(was_training)
    return out
