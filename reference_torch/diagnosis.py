"""Bias/variance diagnosis of a trained torch model: the error rates 1 - accuracy of
reference_torch.models.Network on the training and dev sets (eval mode), read with
scratch_numpy.diagnosis.diagnose (the course's four cases; the reading is plain arithmetic,
so both sides share it and differ only in how the errors are measured).
"""

from __future__ import annotations

from scratch_numpy.diagnosis import Diagnosis, diagnose

from .models import Network
from .validation import check_model


def diagnose_model(model, X_train, y_train, X_dev, y_dev, bayes_error=0.0, *, threshold: float = 0.02) -> Diagnosis:
    """Shapes: X_train (m_train, n_x), y_train (m_train,) int64, X_dev (m_dev, n_x), y_dev (m_dev,)."""
    check_model("model", model, Network)
    # checked under their own names first: accuracy's messages would call both sets X and y
    for names, X, y in ((("X_train", "y_train"), X_train, y_train), (("X_dev", "y_dev"), X_dev, y_dev)):
        if y is None:
            raise ValueError(f"{names[1]} must be the (m,) int64 labels to score against, got None")
        model.check_data(X, y, names=names)
    return diagnose(1 - model.accuracy(X_train, y_train), 1 - model.accuracy(X_dev, y_dev), bayes_error,
                    threshold=threshold)
