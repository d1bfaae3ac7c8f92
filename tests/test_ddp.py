"""Data-parallel training under ``torchrun`` (gloo on the CPU): replicas stay identical."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unet_tutorial import config as C
from unet_tutorial import train as T
import unet_tutorial.data as D

REPO = Path(__file__).resolve().parents[1]

#: Run by every process of torchrun: train a tiny net, then write a hash of the
#: final parameters and the loss history of this rank.
SCRIPT = r'''
import hashlib, json, os, sys
from pathlib import Path
import numpy as np
from unet_tutorial import config as C
from unet_tutorial import train as T
import unet_tutorial.data as D
from unet_tutorial.data import synthetic_em

out = Path(sys.argv[1])
rank = int(os.environ["RANK"])
pairs = [synthetic_em((64, 64), n_cells=6, seed=s) for s in range(3)]
data = D.prepare_data(([p[0] for p in pairs], [p[1] for p in pairs]), holdout=1)
cfg = C.TrainConfig(**json.loads(sys.argv[2]))
model, hist = T.train(cfg, data=data, out_dir=out / "run", progress=False)
digest = hashlib.sha256()
for name, tensor in model.state_dict().items():
    digest.update(name.encode())
    digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
(out / f"rank{rank}.json").write_text(json.dumps({
    "hash": digest.hexdigest(), "loss": hist.loss, "world": int(os.environ["WORLD_SIZE"]),
    "params": [float(v) for v in model.state_dict()["head.weight"].flatten()],
}))
'''


def ddp_config(**changes) -> C.TrainConfig:
    base = dict(name="ddp", base_channels=4, depth=2, dropout=0.0, tile_size=60, batch_size=1, holdout=1,
                augment="flips", optimizer="adam", lr=3e-3, steps=6, val_every=0, checkpoint_every=3,
                seed=1, device="cpu", num_threads=1, precision="fp32")  # the comparison is about DDP, not bf16
    base.update(changes)
    return C.TrainConfig(**base)


@pytest.mark.slow
def test_torchrun_two_processes_keep_identical_replicas(tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun not found next to the Python interpreter")
    script = tmp_path / "ddp_script.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cfg = ddp_config()
    res = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node=2", str(script), str(tmp_path), json.dumps(cfg.to_dict())],
        env=env, capture_output=True, text=True, timeout=240,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert r0["hash"] == r1["hash"]  # the two replicas hold bit-identical weights
    assert r0["loss"] == r1["loss"] and len(r0["loss"]) == cfg.steps
    assert (tmp_path / "run" / "model.pt").is_file() and (tmp_path / "run" / "checkpoint.pt").is_file()

    # Each process took its own tile (shards of 1 of the 2 tiles per step); the
    # averaged gradients then equal those of one process taking both tiles.
    single_model, single = T.train(ddp_config(batch_size=2), data=_data(), progress=False)
    np.testing.assert_allclose(r0["loss"], single.loss, rtol=1e-4)
    np.testing.assert_allclose(r0["params"], single_model.state_dict()["head.weight"].flatten().numpy(),
                               rtol=1e-3, atol=1e-5)
    # ... and differ from one process taking one tile per step
    _, alone = T.train(ddp_config(), data=_data(), progress=False)
    assert not np.allclose(r0["loss"][1:], alone.loss[1:], rtol=1e-4)


def _data() -> D.TrainData:
    from unet_tutorial.data import synthetic_em

    pairs = [synthetic_em((64, 64), n_cells=6, seed=s) for s in range(3)]
    return D.prepare_data(([p[0] for p in pairs], [p[1] for p in pairs]), holdout=1)
