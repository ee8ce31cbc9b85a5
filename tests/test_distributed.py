"""Data-parallel fit/evaluate/predict under torchrun (2 processes, gloo on CPU) vs one process."""

import json
import multiprocessing
import os
import runpy
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from kerastorch.training.distributed import Shard, loss_scale, rank_slice

SCRIPT = textwrap.dedent('''
    import json, os, sys
    import torch
    torch.set_num_threads(1)
    import kerastorch as kt

    out_dir = sys.argv[1]
    rank = int(os.environ.get("RANK", "0"))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(99, 6, generator=g)  # 99 = 3 * 32 + 3: the last global batch leaves rank 1 one padded sample
    y = (x[:, 0] - x[:, 1] > 0).long()
    torch.manual_seed(100 + rank)  # each rank starts from different weights: DDP must broadcast rank 0's
    model = kt.Sequential([kt.Input((6,)), kt.layers.Dense(8, activation="relu"), kt.layers.Dense(2)])
    if rank == 0:
        torch.manual_seed(7)
        model.set_weights(kt.Sequential([kt.Input((6,)), kt.layers.Dense(8, activation="relu"),
                                         kt.layers.Dense(2)]).get_weights())
    torch.manual_seed(1000 + rank)  # and draws different random numbers: the shuffle must still agree
    model.compile(kt.optimizers.SGD(0.1), kt.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    ckpt = kt.callbacks.ModelCheckpoint(os.path.join(out_dir, "ckpt_{epoch}.safetensors"), save_weights_only=True)
    history = model.fit(x, y, batch_size=32, epochs=1, shuffle=True, callbacks=[ckpt], verbose=0)
    logs = model.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
    pred = model.predict(x, batch_size=16, verbose=0)
    weights = [w.tolist() for w in model.get_weights()]

    class StopOnRankOne(kt.callbacks.Callback):  # one rank asks to stop mid-epoch: all stop at its end
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if rank == 1 and self.epoch == 1 and batch == 0:
                self.model.stop_training = True

    stopped = model.fit(x, y, batch_size=32, epochs=4, callbacks=[StopOnRankOne()], verbose=0)
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump({"history": history.history, "evaluate": logs, "saved": ckpt.saved, "stopped_epochs": len(stopped.epoch),
                   "weights": weights, "predict": pred.tolist()}, f)
''')


def test_rank_slices_cover_each_global_batch_once_with_zero_weight_padding():
    indices = torch.arange(10, 13)  # a last batch of 3 samples over 2 ranks
    first, real0 = rank_slice(indices, Shard(0, 2))
    second, real1 = rank_slice(indices, Shard(1, 2))
    assert first.tolist() == [10, 11] and real0 == 2
    assert second.tolist() == [12, 10] and real1 == 1  # one padded sample, weighted 0 by the adapter
    assert loss_scale(2, 3, Shard(1, 2)) == pytest.approx(4 / 3)
    tiny, real = rank_slice(torch.tensor([5]), Shard(1, 2))
    assert tiny.tolist() == [5] and real == 0


def _run_script(path, out_dir):
    sys.argv = [path, out_dir]
    runpy.run_path(path, run_name="__main__")


def _run(args, cwd, timeout=150):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]


def test_two_process_fit_equals_one_process(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    single, multi = tmp_path / "single", tmp_path / "multi"
    single.mkdir()
    multi.mkdir()
    reference = multiprocessing.get_context("fork").Process(target=_run_script, args=(str(script), str(single)))
    reference.start()  # the one-process reference, forked rather than started from scratch
    reference.join(timeout=120)
    assert reference.exitcode == 0
    _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone", str(script), str(multi)],
         tmp_path)
    one = json.loads((single / "rank0.json").read_text())
    ranks = [json.loads((multi / f"rank{r}.json").read_text()) for r in (0, 1)]
    for result in ranks:
        for expected, got in zip(one["weights"], result["weights"]):
            np.testing.assert_allclose(got, expected, atol=1e-5)
        np.testing.assert_allclose(result["history"]["loss"], one["history"]["loss"], atol=1e-6)
        assert result["history"]["accuracy"] == pytest.approx(one["history"]["accuracy"], abs=1e-7)
        assert result["evaluate"] == pytest.approx(one["evaluate"], abs=1e-6)
        np.testing.assert_allclose(result["predict"], one["predict"], atol=1e-6)
        assert len(result["predict"]) == 99
    assert ranks[0]["saved"] == [str(multi / "ckpt_1.safetensors")] and ranks[1]["saved"] == []
    assert one["stopped_epochs"] == 4 and [r["stopped_epochs"] for r in ranks] == [2, 2]
    assert sorted(p.name for p in multi.iterdir()) == ["ckpt_1.safetensors", "rank0.json", "rank1.json"]
