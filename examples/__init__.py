"""Worked examples for the backward-pass checker (``parity_tests.checker.harness.check_backward`` and
``python -m parity_tests.checker``).

Each of the first six holds a small NumPy layer in the course's layout (examples are columns), written correctly,
then the same layer with a classic bug, each as a ``Case`` that states which rows the check flags and
which hint it prints:

    linear     Z = W A_prev + b        missing 1/m, transposed dW, db not summed over the examples
    relu       A = max(Z, 0)           the mask written with < instead of <= (shows only at Z = 0)
    dropout    inverted dropout        the 1/keep_prob scale forgotten; eval mode
    batchnorm  batch norm              dgamma summed over the wrong axis, biased running_var; eval mode
    softmax    softmax cross-entropy   the gradient's sign flipped
    project    scratch_numpy's own activations, linear layer, dropout and batch norm, all correct
    function   custom torch.autograd.Functions (check_function): wrong backward, an intermediate saved
               on ctx (double backward), a Function torch.func.vmap refuses
    model      whole networks (check_model): the course's L-layer and shallow nets, db2 without
               1/m (named as layer 2), scratch_numpy.models.Network

``python -m examples`` prints what the tool says about every case and exits 1 if any case behaves
otherwise than stated; ``parity_tests/test_examples.py`` runs every case as a test.

Apart from the cases: ``python -m examples.graph_trace`` prints the computation graph J = 3(a + bc) traced
node by node by scratch_numpy.graph and reference_torch.graph side by side (parity_tests/test_graph.py).
"""

import importlib

MODULES = ("linear", "relu", "dropout", "batchnorm", "softmax", "project", "function", "model")


def all_cases():
    """Every example case, module by module."""
    return [case for name in MODULES for case in importlib.import_module(f"examples.{name}").CASES]
