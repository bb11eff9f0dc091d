"""python -m examples.graph_trace [--logdir DIR]: the course's graph J = 3(a + bc) at a = 5, b = 3, c = 2,
built by the same builder calls with scratch_numpy.graph (left) and reference_torch.graph (right), traced
node by node: the forward values, then the backward gradients dJ/dnode. The torch column is read back
from autograd (grad_fn types and edges). ``--logdir``: also log the torch graph to TensorBoard there
(SummaryWriter.add_graph; view it with ``tensorboard --logdir DIR``, tab "Graphs").
"""

from __future__ import annotations

import argparse
import sys

from parity_tests.twins.graph import course, run_numpy, run_torch
from reference_torch import graph as t_graph


def side_by_side(left: str, right: str, titles=("NumPy (scratch_numpy.graph)", "torch (reference_torch.graph)")):
    """Two traces as two columns, line by line."""
    lines = [titles[0], *left.splitlines()], [titles[1], *right.splitlines()]
    width = max(len(line) for line in lines[0]) + 4
    n = max(map(len, lines))
    pad = [column + [""] * (n - len(column)) for column in lines]
    return "\n".join((l.ljust(width) + r).rstrip() for l, r in zip(*pad))


def traces(build):
    """(NumPy trace, torch trace) of recipe ``build``."""
    ng, n_out = run_numpy(build)
    tg, t_out = run_torch(build)
    return ng.trace(n_out), tg.trace(t_out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser("python -m examples.graph_trace", description=__doc__.split("\n")[0])
    parser.add_argument("--logdir", help="write the torch graph to TensorBoard in this directory")
    args = parser.parse_args(argv)
    build = course()
    print(side_by_side(*traces(build)))
    if args.logdir:
        from torch.utils.tensorboard import SummaryWriter

        with SummaryWriter(log_dir=args.logdir) as writer:
            t_graph.add_graph(writer, build)
        print(f"\ngraph logged: tensorboard --logdir {args.logdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
