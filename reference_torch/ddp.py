"""Data parallelism: the mini-batch loop on K processes with DistributedDataParallel (DDP),
giving the very parameters of the one-process loop.

Each process (rank r of K, under torchrun or torch.multiprocessing) holds the whole data set and
the same model, and trains through reference_torch.training.train with ``DataParallel`` as its
strategy:

* the batches: ``ShardSampler`` cuts each epoch's shared order (reference_torch.minibatch
  .epoch_orders: the NumPy side's draws) into the one-process global batches of B (the last one
  partial) and gives rank r the positions r, r + K, r + 2K, ... of each global batch b (as
  torch.utils.data.DistributedSampler strides over the data set), so the K shards of batch b are
  exactly batch b, each example once: no padding. Every rank runs every global batch, so all run
  the same number of steps (and stops at the same epoch: early stopping's decision is rank 0's,
  broadcast, DataParallel.agree); a shard is empty when batch b has fewer than K examples, and its rank
  still runs forward and backward (its cost 0, its gradient zeros) so that DDP's all-reduce meets
  every rank.
* the cost (weighting "global"): with n_B the global batch's size and L_i the loss of example i,
  rank r's cost is

      J_r = (K / n_B) sum_{i in shard r} L_i  (+ the model's penalty P(n_B))

  DDP sums the ranks' gradients and divides by K: (1/K) sum_r dJ_r = (1/n_B) sum_{i in batch} dL_i
  + dP, the gradient of the one-process batch cost, the mean over the whole batch; P, the same on
  every rank, is counted once (K copies averaged). L2 through weight_decay (optim.make_optimizer)
  is added by the optimiser after the all-reduce, the same on every rank: once too.
* weighting "rank_mean" is plain DDP: J_r = the mean loss over shard r (+ P(n_r)), so DDP
  computes the mean of the ranks' means, which is the batch mean only when the shards are equal;
  at the course's partial last batch (211 = 3 * 64 + 19 split 10 + 9 on 2 ranks) it is not. Kept
  to demonstrate the difference (parity_tests/test_ddp.py); an empty shard has no mean, so a run
  with one is refused.
* the recorded cost of a batch (History.costs): the ranks' J_r all-reduced (summed) over the
  group and divided by K, the whole batch's cost, once per epoch (one all-reduce of the epoch's
  costs), so every rank's History is the one-process History up to rounding.

Refused (ValueError): batch norm (each rank's statistics would be its shard's, not the batch's)
and dropout (torch would draw each rank's masks, which match nothing). Backend: gloo on the CPU,
NCCL on CUDA (each rank on cuda:LOCAL_RANK); whichever the group was initialised with.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Sampler

from scratch_numpy.contract import SAMPLING, check_batch_size, check_index_batches, check_permutation
from scratch_numpy.validation import check_choice, check_count, unchecked

from . import training
from .models import OUTPUTS, Network
from .validation import check_model

WEIGHTINGS = ("global", "rank_mean")


class ShardSampler(Sampler[list[int]]):
    """A batch sampler with DistributedSampler's interface (num_replicas, rank, set_epoch, len)
    over given epoch orders: it yields rank ``rank``'s shard of each global batch of the epoch.

    ``orders``: each epoch's order as reference_torch.minibatch.epoch_orders gives it, of the m
    examples: a permutation (sampling "shuffle"), cut into consecutive global batches of
    ``batch_size`` (the last one partial), or the index batches drawn with replacement (sampling
    "replacement"; an index may repeat in a batch, and each occurrence lands in exactly one shard,
    so the shards still sum to the batch's cost). Shard r of global batch g: g[r::num_replicas].
    """

    def __init__(self, orders: Sequence, m: int, batch_size: int, *, num_replicas: int, rank: int,
                 sampling: str = "shuffle"):
        m, batch_size = check_count("m", m), check_batch_size(batch_size)
        self.num_replicas = check_count("num_replicas", num_replicas)
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < self.num_replicas:
            raise ValueError(f"rank must be an integer in [0, {self.num_replicas}), got {rank!r}")
        self.rank, self.epoch = rank, 0
        if check_choice("sampling", sampling, SAMPLING) == "replacement":
            self.orders = [[batch.tolist() for batch in check_index_batches(order, m, f"orders[{e}]")]
                           for e, order in enumerate(orders)]
        else:
            self.orders = [_cut(check_permutation(order, m, f"orders[{e}]").tolist(), batch_size)
                           for e, order in enumerate(orders)]
        if not self.orders:
            raise ValueError("orders must hold at least one epoch's order, got none")

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration shards (DistributedSampler.set_epoch)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch < len(self.orders):
            raise ValueError(f"epoch must be an integer in [0, {len(self.orders)}), got {epoch!r}")
        self.epoch = epoch

    def global_batches(self) -> list:
        """The epoch's global batches (lists of indices), the one-process batches."""
        return self.orders[self.epoch]

    def __iter__(self):
        return iter([batch[self.rank::self.num_replicas] for batch in self.global_batches()])

    def __len__(self) -> int:
        return len(self.global_batches())


def _cut(order: list, batch_size: int) -> list:
    """The course's partition: consecutive slices of ``batch_size``, the last one partial."""
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


class _ShardCost(nn.Module):
    """What DDP wraps: forward(X_r, y_r, n_B) -> J_r, the rank's weighted cost (module docstring).
    The cost must come out of DDP's forward: calling model.cost directly would bypass DDP's
    reducer, which all-reduces the gradients of the parameters its forward used."""

    def __init__(self, model: Network, world_size: int, weighting: str):
        super().__init__()
        self.model, self.world_size, self.weighting = model, world_size, weighting
        self.loss = unchecked(OUTPUTS[model.output][1])   # the mean loss over the rows; train checked X and y

    def forward(self, X, y, n: int) -> torch.Tensor:
        model = self.model
        if self.weighting == "rank_mean":
            return model.cost(X, y, check=False)
        scores = model._scores(X, {})   # no dropout (refused): no masks
        # the shard's sum of losses; an empty shard's is 0 with zero gradients, through every parameter
        shard_sum = self.loss(scores, y) * len(y) if len(y) else scores.sum()
        cost = shard_sum * (self.world_size / n)
        return cost + model.penalty(n) if model.l2_lambda or model.l1_lambda else cost


class DataParallel:
    """The strategy of reference_torch.training.train for one rank of an initialised
    torch.distributed group (module docstring): the same five methods as training.OneProcess.

    ``weighting``: "global" (the one-process batch mean) or "rank_mean" (plain DDP's mean of the
    ranks' means; only to show how it differs)."""

    def __init__(self, model: Network, *, batch_size: int, sampling: str = "shuffle", weighting: str = "global"):
        check_model("model", model, Network)
        if model.batch_norm:
            raise ValueError("model has batch norm: each rank's batch statistics would be its shard's, not "
                             "the global batch's; data parallelism refuses it")
        if model.dropout_layers:
            raise ValueError(f"model has dropout (layers {list(model.dropout_layers)}): torch would draw each "
                             "rank's masks, which match no one-process run; data parallelism refuses it")
        if not dist.is_available() or not dist.is_initialized():
            raise ValueError("data parallelism needs an initialised torch.distributed process group "
                             "(torchrun, or dist.init_process_group)")
        self.model, self.batch_size = model, check_batch_size(batch_size)
        self.sampling = check_choice("sampling", sampling, SAMPLING)
        self.weighting = check_choice("weighting", weighting, WEIGHTINGS)
        self.world_size, self.rank = dist.get_world_size(), dist.get_rank()

    def start(self, X, y, orders: list) -> None:
        self.X, self.y = X, y
        self.sampler = ShardSampler(orders, X.shape[0], self.batch_size, num_replicas=self.world_size,
                                    rank=self.rank, sampling=self.sampling)
        if self.weighting == "rank_mean" and any(len(g) < self.world_size for order in self.sampler.orders
                                                 for g in order):
            raise ValueError(f"weighting='rank_mean' has no mean for an empty shard: a batch has fewer than "
                             f"{self.world_size} examples; use weighting='global'")
        device = self.model.linears[0].weight.device
        self.ddp = DistributedDataParallel(_ShardCost(self.model, self.world_size, self.weighting),
                                           device_ids=[device.index] if device.type == "cuda" else None)

    def batches(self, epoch: int):
        """Rank r's shard (X_r, y_r) of each global batch, with the global batch's size n_B."""
        self.sampler.set_epoch(epoch)
        device = self.X.device
        for shard, batch in zip(self.sampler, self.sampler.global_batches()):
            # indexed, not a DataLoader: its collate cannot form an empty shard
            index = torch.tensor(shard, dtype=torch.int64, device=device)
            yield self.X.index_select(0, index), self.y.index_select(0, index), len(batch)

    def cost(self, X_b, y_b, n: int) -> torch.Tensor:
        return self.ddp(X_b, y_b, n)

    def reduce(self, terms: torch.Tensor) -> torch.Tensor:
        """The batches' costs (column 0) summed over the ranks and divided by K: the global batch
        costs; the L2 terms (the other columns) are the same on every rank."""
        costs = terms[:, 0].contiguous()
        dist.all_reduce(costs)
        return torch.cat([(costs / self.world_size)[:, None], terms[:, 1:]], dim=1)

    def agree(self, stop: bool) -> bool:
        """Early stopping's decision, rank 0's (the rank that logs and checkpoints) broadcast to every
        rank: a rank that stopped alone would leave the others waiting in the next batch's all-reduce
        (or pair its next collective with theirs). The ranks' decisions agree when their histories do;
        one broadcast per epoch, and only when the loop has an early_stopping."""
        decision = torch.tensor([int(stop)], dtype=torch.int64, device=self.model.linears[0].weight.device)
        dist.broadcast(decision, src=0)
        return bool(decision.item())


def train(model: Network, X: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer, *,
          batch_size: int, sampling: str = "shuffle", weighting: str = "global", **loop):
    """reference_torch.training.train on this rank with the DataParallel strategy: same arguments
    and shapes (X (m, n_x), y (m,), the whole data set on every rank), same History (on every
    rank). ``weighting``: see DataParallel."""
    strategy = DataParallel(model, batch_size=batch_size, sampling=sampling, weighting=weighting)
    return training.train(model, X, y, optimizer, batch_size=batch_size, sampling=sampling, strategy=strategy,
                          **loop)
