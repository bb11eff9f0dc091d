"""Bias/variance diagnosis from train and dev error (course 2, week 1; course 3, human-level error).

Errors are fractions in [0, 1] (0.15 for 15 %). With Bayes error (or human-level error as its
proxy; 0 when not given):

    avoidable bias = train error - Bayes error
    variance       = dev error - train error

Each counts as high when it exceeds ``threshold`` (default 0.02, two percentage points), which
gives the course's four cases:

    train   dev    Bayes   avoidable bias   variance   case
    1 %     11 %   0       1 %              10 %       high variance
    15 %    16 %   0       15 %             1 %        high bias
    15 %    30 %   0       15 %             15 %       high bias and high variance
    0.5 %   1 %    0       0.5 %            0.5 %      low bias and low variance
    15 %    16 %   15 %    0                1 %        low bias and low variance

``focus`` is the course's advice for what to work on next: the larger of the two gaps
(human 1 %, train 8 %, dev 10 %: bias; human 7.5 %, same train and dev: variance;
ties go to bias).
"""

from __future__ import annotations


from .contract import check_error
from .models import Network
from .records import Diagnosis, HIGH_BIAS, HIGH_BIAS_AND_VARIANCE, HIGH_VARIANCE, LOW_BIAS_AND_VARIANCE
from .validation import check_model, check_positive

CASES = {  # (high bias, high variance) -> case
    (False, True): HIGH_VARIANCE,
    (True, False): HIGH_BIAS,
    (True, True): HIGH_BIAS_AND_VARIANCE,
    (False, False): LOW_BIAS_AND_VARIANCE,
}


def diagnose(train_error, dev_error, bayes_error=0.0, *, threshold: float = 0.02) -> Diagnosis:
    """The course's diagnosis (module docstring): high bias when train - Bayes > threshold,
    high variance when dev - train > threshold."""
    train_error, dev_error = check_error("train_error", train_error), check_error("dev_error", dev_error)
    bayes_error = check_error("bayes_error", bayes_error)
    threshold = check_positive("threshold", threshold, allow_zero=True)
    bias, variance = train_error - bayes_error, dev_error - train_error
    return Diagnosis(CASES[bias > threshold, variance > threshold], bias, variance,
                     "bias" if bias >= variance else "variance", train_error, dev_error, bayes_error)


def diagnose_network(network, params, X_train, Y_train, X_dev, Y_dev, bayes_error=0.0, *,
                     threshold: float = 0.02) -> Diagnosis:
    """``diagnose`` on the error rates 1 - accuracy of a trained scratch_numpy.models.Network.

    Shapes: X_train (n_x, m_train), Y_train (1, m_train), X_dev (n_x, m_dev), Y_dev (1, m_dev).
    """
    check_model("network", network, Network)
    # checked under their own names first: accuracy's messages would call both sets X and Y
    network._check_labelled(params, X_train, Y_train, names=("X_train", "Y_train"))
    network._check_labelled(params, X_dev, Y_dev, names=("X_dev", "Y_dev"))
    return diagnose(1 - network.accuracy(params, X_train, Y_train), 1 - network.accuracy(params, X_dev, Y_dev),
                    bayes_error, threshold=threshold)
