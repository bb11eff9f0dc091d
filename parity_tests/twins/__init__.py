"""Twin runs: one concept computed by both implementations from the same inputs.

One module per concept, named like its scratch_numpy/reference_torch modules. Each twin function
draws its inputs once with NumPy (seeded), runs the NumPy side and the torch side on copies of
them, and returns a ``ParityReport`` with the outputs, the gradients and the parameters after an
update, named alike on both sides. Each module lists its parity-report rows in ``CASES``
((label, run(dtype, device) -> ParityReport)) and the bugs its rows must catch in ``MUTANTS``
(parity_tests.twins.mutant). Shared draws, layout bridges and tolerances: ``common``.
"""

from . import (activations, augmentation, batchnorm, diagnosis, dropout, early_stopping, ewa, gradcheck, graph,
               layers, logistic, losses, minibatch, models, normalisation, optim, regularisation, schedules, signals,
               splits, training)

# in the parity report's row order
CONCEPTS = (activations, layers, losses, logistic, models, minibatch, ewa, optim, training, schedules,
            regularisation, dropout, batchnorm, normalisation, splits, augmentation, early_stopping, gradcheck,
            signals, diagnosis, graph)
CASES = [row for concept in CONCEPTS for row in concept.CASES]
