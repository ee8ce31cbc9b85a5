"""Data-parallel training under `torchrun`: process group, DDP wrapping, sharding and reductions.

`batch_size` keeps Keras's meaning of the *global* batch: each of the N processes takes its slice
of every global batch, so N processes step through exactly the batches one process would. A slice
that runs short (the last, partial batch) is padded with samples whose weight is zero, and the
per-rank loss is rescaled so that DDP's gradient average equals the single-process gradient.
"""

from __future__ import annotations

import atexit
import gc
import math
import os
import weakref
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Shard:
    """Which process this is, among how many."""

    rank: int = 0
    world_size: int = 1

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_chief(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


_ALONE = Shard()  # a single process (the frozen value is shared, not built per call)
_TORCHRUN: dict[tuple[int, int], bool] = {}  # (process id, number of environment variables) -> launched_by_torchrun()


def _torchrun_process() -> bool:
    """`launched_by_torchrun()`, read again only in another process or once variables were added
    (torchrun sets them before the process starts; a missing variable costs a KeyError to look up)."""
    key = (os.getpid(), len(os.environ))
    known = _TORCHRUN.get(key)
    if known is None:
        known = _TORCHRUN[key] = launched_by_torchrun()
    return known


def current_shard(device: torch.device | None = None) -> Shard:
    """The process group this process belongs to, initialising it under torchrun if needed.

    Uses NCCL when the model lives on CUDA and gloo otherwise.
    """
    if not dist.is_available():
        return _ALONE
    if not dist.is_initialized():
        if not _torchrun_process():
            return _ALONE
        backend = "nccl" if device is not None and device.type == "cuda" else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
        atexit.register(_destroy_group)  # a group left alive at exit can abort the interpreter
    return Shard(dist.get_rank(), dist.get_world_size())


_WRAPPED: list = []  # weak references to models holding a DDP wrapper


def _destroy_group() -> None:
    """Tear down in order at exit: DDP wrappers first, then the group, all ranks together.

    Left to interpreter shutdown, a DDP reducer can outlive its process group, or a rank can exit
    while its peer still talks to it; either aborts the process ("terminate called ...").
    """
    for ref in _WRAPPED:
        model = ref()
        if model is not None:
            model.__dict__.pop("_train_module", None)
    _WRAPPED.clear()
    gc.collect()
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def is_chief() -> bool:
    """True on the process that prints and writes files (rank 0, or the only process)."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def rank_slice(indices: torch.Tensor, shard: Shard) -> tuple[torch.Tensor, int]:
    """This rank's part of one global batch of `indices`, padded to an equal length.

    Returns the indices (length ceil(n / world)) and how many of them are real; the rest repeat
    the batch's first samples and must be given zero weight.
    """
    n = len(indices)
    per = math.ceil(n / shard.world_size)
    part = indices[shard.rank * per:(shard.rank + 1) * per]
    real = len(part)
    if real < per:
        part = torch.cat([part, indices[: per - real].repeat(math.ceil((per - real) / max(n, 1)))[: per - real]])
    return part, real


def loss_scale(per_rank: int, global_real: int, shard: Shard) -> float:
    """Factor making DDP's mean of per-rank losses equal the loss over the real global batch."""
    return per_rank * shard.world_size / global_real


def all_reduce_sum(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """Sum each tensor across processes (one flat all-reduce); returns new tensors."""
    if not tensors:
        return []
    flat = torch.cat([t.detach().reshape(-1).to(torch.float64 if t.device.type == "cpu" else torch.float32)
                      for t in tensors])
    dist.all_reduce(flat)
    out, offset = [], 0
    for t in tensors:
        out.append(flat[offset:offset + t.numel()].reshape(t.shape).to(t.dtype))
        offset += t.numel()
    return out


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank if `flag` is True on any of them (keeps stop decisions in step)."""
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def same_on_all_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """Rank 0's copy of `tensor` on every rank (so all ranks shuffle with the same permutation)."""
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else tensor.device
    shared = tensor.to(device)
    dist.broadcast(shared, src=0)
    return shared.to(tensor.device)


def wrap_ddp(model: torch.nn.Module) -> torch.nn.Module:
    """`DistributedDataParallel` around the model (on its own device for CUDA)."""
    from torch.nn.parallel import DistributedDataParallel

    device = next(iter(model.parameters())).device
    _WRAPPED.append(weakref.ref(model))
    if device.type == "cuda":
        return DistributedDataParallel(model, device_ids=[device.index])
    return DistributedDataParallel(model)
