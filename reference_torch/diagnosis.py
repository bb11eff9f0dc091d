"""Bias/variance diagnosis of a trained torch model: the error rates 1 - accuracy of
reference_torch.models.Network on the training and dev sets (eval mode), read with
scratch_numpy.diagnosis.diagnose (the course's four cases; the reading is plain arithmetic,
so both sides share it and differ only in how the errors are measured).
"""

from __future__ import annotations

from scratch_numpy.diagnosis import Diagnosis, diagnose


def diagnose_model(model, X_train, y_train, X_dev, y_dev, bayes_error=0.0, *, threshold: float = 0.02) -> Diagnosis:
    """Shapes: X_train (m_train, n_x), y_train (m_train,) int64, X_dev (m_dev, n_x), y_dev (m_dev,)."""
    return diagnose(1 - model.accuracy(X_train, y_train), 1 - model.accuracy(X_dev, y_dev), bayes_error,
                    threshold=threshold)
