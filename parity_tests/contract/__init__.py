"""The input contract, one file per concept: bad input is a clear error, on both sides.

Each ``test_<concept>.py`` is named after the module of scratch_numpy/ and reference_torch/ it
covers (``test_activations.py`` for both ``activations.py``, ``test_bridge.py`` for
``reference_torch/bridge.py``, ``test_validation.py`` for the shared checks) and holds, NumPy and
torch side by side:

* ``test_fuzz``: the concept's property-based fuzz targets (registered with ``fuzzing.fuzz``);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found there, all fixed;
* the bad-input tables (``test_numpy_*``, ``test_torch_*``, ``test_bridge*``): rows whose call must
  raise a ValueError naming the argument.

``test_cross_cutting.py`` holds what spans concepts (scratch_numpy never imports torch, positive
controls, messages, float32 mixing, and the checks over the whole fuzz registry).

Shared machinery, once: ``fuzzing.py`` (the fuzz harness: targets, cases, the contract, the
counts, and the helpers several concepts' targets share), ``strategies.py`` (hypothesis strategies:
valid inputs and spoilers), ``bad_input.py`` (the table rows, their assertion, fresh data and the
tables several entry points share) and ``conftest.py`` (the table of fuzz counts in the terminal
summary; the whole-registry check runs last).
"""
