"""One benchmark worker: ``python -m experiments.bench.worker SPEC OUT``.

experiments.bench.cli starts one per thread count, with OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and
MKL_NUM_THREADS already in its environment (NumPy's OpenBLAS reads them when it loads); the
worker sets torch's pool to the same count, runs the sections named in SPEC (JSON:
{"mode", "threads", "sections"}) and writes their results as JSON to OUT.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SECTIONS = ("peak_gemm", "steps", "vectorisation", "gradient_checking", "logging", "cuda")


def run(mode, threads: int, sections) -> dict:
    """{"threads", "machine", section: result, "section_seconds": {section: wall seconds}} for the
    requested sections."""
    import torch

    from .cuda import cuda_section
    from .step import OPTIMIZERS, measure_steps, peak_gemm
    from .tasks import gradient_checking, logging_overhead, vectorisation
    from .timing import machine, once

    torch.set_num_threads(threads)
    result = {"threads": threads, "machine": machine()}

    def cuda():
        cpu = {(row["batch"], row["optimizer"]): row["torch_s"]
               for row in result.get("steps", []) if row["dtype"] == "float32"}
        return cuda_section(mode.cuda_batches, OPTIMIZERS, cpu, steps=mode.cuda_steps, repeats=mode.repeats)
    work = {
        "peak_gemm": lambda: peak_gemm(*mode.peak_gemm, dtypes=mode.dtypes),
        "steps": lambda: measure_steps(mode.batches, mode.dtypes, repeats=mode.repeats, min_time=mode.min_time,
                                       peak=result.get("peak_gemm") or peak_gemm(*mode.peak_gemm, dtypes=mode.dtypes)),
        "vectorisation": lambda: vectorisation(*mode.vectorisation, repeats=mode.repeats, min_time=mode.min_time),
        "gradient_checking": lambda: gradient_checking(*mode.gradient_checking),
        "logging": lambda: logging_overhead(*mode.logging),
        "cuda": cuda,
    }
    seconds = {}
    for section in SECTIONS:   # in this order: the steps read the peak GEMM rate, the GPU section their times
        if section in sections:
            result[section], seconds[section] = once(work[section])
    result["section_seconds"] = seconds
    return result


def main(argv=None) -> int:
    from .cli import MODES

    spec_text, out = sys.argv[1:] if argv is None else argv
    spec = json.loads(spec_text)
    unknown = set(spec["sections"]) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    result = run(MODES[spec["mode"]], spec["threads"], spec["sections"])
    Path(out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
