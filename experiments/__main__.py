import os
import sys

# One BLAS thread for the NumPy side, as the runner gives the torch side one intra-op thread:
# measured on 2 cores, a second thread slows these products down (up to 20x when the other core
# is busy). It must be set before NumPy is imported; an explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .cli import main  # noqa: E402

sys.exit(main())
