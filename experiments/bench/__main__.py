"""``python -m experiments.bench``: the same command as ``python -m experiments bench``."""

import sys

from .cli import main

sys.exit(main())
