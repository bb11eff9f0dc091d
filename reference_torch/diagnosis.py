"""Bias/variance diagnosis of a trained torch model (course 2, week 1; course 3, human-level error).

The error rates 1 - accuracy of reference_torch.models.Network on the training and dev sets (eval
mode), read as the course reads them (scratch_numpy.diagnosis states the four cases):

    avoidable bias = train error - Bayes error        high when > threshold (0.02)
    variance       = dev error - train error          high when > threshold

``focus`` is the larger gap ("bias" on ties). The gaps are computed here, in float64 tensors; the
result is the shared record scratch_numpy.records.Diagnosis.
"""

from __future__ import annotations

import torch

from scratch_numpy.contract import check_error
from scratch_numpy.records import (HIGH_BIAS, HIGH_BIAS_AND_VARIANCE, HIGH_VARIANCE, LOW_BIAS_AND_VARIANCE,
                                   Diagnosis)
from scratch_numpy.validation import check_positive

from .models import Network
from .validation import check_model


def diagnose(train_error, dev_error, bayes_error=0.0, *, threshold: float = 0.02) -> Diagnosis:
    """The course's diagnosis from three error rates in [0, 1] (floats or 0-d tensors)."""
    errors = torch.tensor([check_error(name, value.item() if isinstance(value, torch.Tensor) and value.numel() == 1
                                       else value) for name, value in
                           (("train_error", train_error), ("dev_error", dev_error), ("bayes_error", bayes_error))],
                          dtype=torch.float64)
    threshold = check_positive("threshold", threshold, allow_zero=True)
    train, dev, bayes = errors
    bias, variance = float(train - bayes), float(dev - train)
    high_bias, high_variance = bias > threshold, variance > threshold
    case = (HIGH_BIAS_AND_VARIANCE if high_variance else HIGH_BIAS) if high_bias \
        else (HIGH_VARIANCE if high_variance else LOW_BIAS_AND_VARIANCE)
    return Diagnosis(case, bias, variance, "bias" if bias >= variance else "variance",
                     float(train), float(dev), float(bayes))


def diagnose_model(model, X_train, y_train, X_dev, y_dev, bayes_error=0.0, *, threshold: float = 0.02) -> Diagnosis:
    """``diagnose`` on the model's error rates. Shapes: X_train (m_train, n_x), y_train (m_train,) int64,
    X_dev (m_dev, n_x), y_dev (m_dev,)."""
    check_model("model", model, Network)
    # checked under their own names first: accuracy's messages would call both sets X and y
    for names, X, y in ((("X_train", "y_train"), X_train, y_train), (("X_dev", "y_dev"), X_dev, y_dev)):
        if y is None:
            raise ValueError(f"{names[1]} must be the (m,) int64 labels to score against, got None")
        model.check_data(X, y, names=names)
    return diagnose(1 - model.accuracy(X_train, y_train), 1 - model.accuracy(X_dev, y_dev), bayes_error,
                    threshold=threshold)
