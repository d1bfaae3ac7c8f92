"""The training loop's samples (§3): which tile at which step, and the seed of each step's drop-out.

Everything random in a run is a pure function of ``(seed, step, rank)``, so a
run killed at any moment and resumed draws exactly what the uninterrupted run
drew, and processes of a data-parallel run see disjoint shards:

- :func:`sample_numbers`: the sample numbers of one step of one process;
- :class:`NumberedSamples`: sample number → an augmented training tile (a new
  permutation of the tiles every epoch);
- :func:`step_seed`: the seed of one step's drop-out masks;
- :func:`batches`: the collated batches of the steps from ``start`` on (in the
  training process or in DataLoader workers: the same tiles).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from .config import TrainConfig

__all__ = ["sample_numbers", "NumberedSamples", "step_seed", "collate", "batches"]

def sample_numbers(step: int, batch_size: int, rank: int = 0, world_size: int = 1) -> list[int]:
    """Global sample numbers used by process ``rank`` at 0-based ``step``.

    Step ``s`` consumes samples ``s·B·R … (s+1)·B·R − 1`` (``B`` tiles per
    process, ``R`` processes); process ``r`` takes its own contiguous block of
    ``B``. Every sample number is used exactly once across processes, so the
    processes see disjoint shards, and the numbers depend on nothing but the
    step: a resumed run draws exactly what the uninterrupted run drew.
    """
    first = (step * world_size + rank) * batch_size
    return list(range(first, first + batch_size))


class NumberedSamples(torch.utils.data.Dataset):
    """Sample number ``g`` → a tile of a :class:`~unet_tutorial.data.TileDataset`, shuffled per epoch.

    Epoch ``e = g // n`` visits the ``n`` items in the order of a permutation
    drawn from ``(seed, e)``; the tile dataset seeds every item from
    ``(seed, epoch, index)``. A sample is thus a pure function of its number,
    also inside DataLoader workers.
    """

    def __init__(self, tiles, seed: int) -> None:
        self.tiles = tiles
        self.n = len(tiles)
        self.seed = int(seed)

    def __len__(self) -> int:  # large enough for any run
        return 2**62

    def __getitem__(self, g: int):
        epoch, pos = divmod(int(g), self.n)
        order = np.random.default_rng([self.seed, epoch, 7919]).permutation(self.n)
        self.tiles.set_epoch(epoch)
        return self.tiles[int(order[pos])]


def step_seed(seed: int, step: int, rank: int) -> int:
    """A 63-bit seed for the drop-out masks of one step of one process."""
    digest = hashlib.blake2b(f"{seed}/{step}/{rank}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def collate(items: list[tuple]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    xs, ys, ws = zip(*items)
    x = torch.stack([torch.as_tensor(v) for v in xs])
    y = torch.stack([torch.as_tensor(v) for v in ys]).long()
    w = None if ws[0] is None else torch.stack([torch.as_tensor(v) for v in ws]).float()
    return x, y, w


def batches(samples: NumberedSamples, config: TrainConfig, start: int, rank: int, world: int):
    """Iterator of collated batches for steps ``start, start+1, …`` (workers optional)."""
    if config.num_workers == 0:
        for step in range(start, config.steps):
            yield collate([samples[g] for g in sample_numbers(step, config.batch_size, rank, world)])
        return
    order = [sample_numbers(s, config.batch_size, rank, world) for s in range(start, config.steps)]
    loader = torch.utils.data.DataLoader(samples, batch_sampler=order, num_workers=config.num_workers,
                                         collate_fn=collate, pin_memory=torch.cuda.is_available(),
                                         persistent_workers=False)
    yield from loader
