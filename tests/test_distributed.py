import json
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from siren import distributed
from siren.cli import main
from siren.errors import SirenError
from siren.run_folder import load_checkpoint


def _torchrun(argv: list[str], out) -> None:
    """`torchrun --standalone --nproc-per-node 2 -m siren.cli ARGV` on CPU; asserts success and one report."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if sys.platform.startswith("linux"):
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
              "-m", "siren.cli", *argv]
    proc = subprocess.run(launch, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.count("done:") == 1  # only rank 0 reports


@pytest.mark.parametrize("n,world", [(4, 2), (5, 2), (7, 3), (3, 3), (10, 1), (2, 4)])
def test_shard_partitions_contiguously(n, world):
    parts = [distributed.shard(n, r, world) for r in range(world)]
    assert [i for p in parts for i in p] == list(range(n))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    with pytest.raises(ValueError):
        distributed.shard(n, world, world)


def test_single_process_without_torchrun(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ctx = distributed.init("auto")
    assert (ctx.rank, ctx.world_size, ctx.device, ctx.is_main) == (0, 1, "auto", True)
    assert distributed.gather({"a": 1}, ctx) == [{"a": 1}]
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(SirenError, match="WORLD_SIZE"):
        distributed.init("cpu")


def test_leave_ends_a_process_that_joined_a_group_with_its_status_and_output():
    """A process that joined a group ends in `leave` with the status given, its unterminated output flushed and
    nothing after it run (no interpreter finalization: see `leave`); one that joined none goes on."""
    distributed.leave(3)                # this process joined no group: a no-op
    script = ("import sys; from siren import distributed; distributed._JOINED = True; print('out', end=''); "
              "print('err', end='', file=sys.stderr); distributed.leave(3); print('after')")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out", "err")


def test_two_process_torchrun_equals_one_process(tmp_path):
    """torchrun, 2 CPU processes (gloo on loopback), 5 images split 3 + 2: the same per-image PSNRs and the same
    final weights as fitting all 5 in one process, because member b is seeded by seed + b wherever it runs."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(8, 8), (8, 8), (6, 9), (8, 8), (7, 7)]):
        iio.imwrite(folder / f"im{i}.png", (rng.random((h, w, 3)) * 255).astype(np.uint8))
    common = ["fit", "image", str(folder), "--steps", "20", "--lr", "1e-3", "--hidden-features", "16",
              "--hidden-layers", "1", "--log-every", "10", "--no-progress", "--device", "cpu", "--seed", "3"]
    assert main(common + ["--out", str(tmp_path / "one")]) == 0
    _torchrun(common + ["--out", str(tmp_path / "two")], tmp_path / "two")
    one = json.loads((tmp_path / "one" / "metrics.json").read_text())["metrics"]
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())["metrics"]
    assert two["world_size"] == 2
    assert [r["name"] for r in two["images"]] == [r["name"] for r in one["images"]]
    np.testing.assert_allclose([r["psnr"] for r in two["images"]], [r["psnr"] for r in one["images"]], atol=1e-4)
    assert all((tmp_path / "two" / r["reconstruction"]).is_file() for r in two["images"])

    full = load_checkpoint(tmp_path / "one")["model"]
    shards = [load_checkpoint(tmp_path / "two" / f"rank{r}") for r in range(2)]
    assert [s["spec"]["options"]["seeds"] for s in shards] == [[3, 4, 5], [6, 7]]
    for key, value in full.items():
        torch.testing.assert_close(torch.cat([s["model"][key] for s in shards]), value, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("argv", [
    ["prior", "train", "--demo", "--size", "8", "--batch-size", "4", "--context-max", "20", "--latent-dim", "8",
     "--hyper-hidden", "8", "--encoder-hidden", "8", "--encoder-layers", "1", "--hidden-features", "8",
     "--hidden-layers", "1", "--lr", "1e-3"],
    ["meta", "train", "--demo", "--size", "8", "--batch-size", "4", "--inner-steps", "2", "--hidden-features", "8",
     "--hidden-layers", "1", "--lr", "1e-3", "--inner-lr", "1e-2"],
    ["meta", "train", "--demo", "--method", "functa", "--latent-features", "4", "--size", "8", "--batch-size", "4",
     "--hidden-features", "8", "--hidden-layers", "1", "--lr", "1e-3"]], ids=["prior", "meta", "functa"])
def test_data_parallel_two_processes_equal_one(tmp_path, argv):
    """torchrun, 2 CPU processes, each a half of every batch, gradients averaged: the same weights and metrics
    as one process on the whole batch (float32 sums in another order); then a resume across processes continues
    the same way. One run folder: rank 1 writes nothing."""
    common = [*argv, "--log-every", "2", "--checkpoint-every", "2", "--no-progress", "--no-report", "--device",
              "cpu", "--seed", "3"]
    assert main([*common, "--steps", "4", "--out", str(tmp_path / "one")]) == 0
    _torchrun([*common, "--steps", "2", "--out", str(tmp_path / "two")], tmp_path / "two")
    _torchrun([*common, "--steps", "4", "--out", str(tmp_path / "two"), "--resume"], tmp_path / "two")
    assert not any(p.name.startswith("rank") for p in (tmp_path / "two").iterdir())
    one, two = load_checkpoint(tmp_path / "one"), load_checkpoint(tmp_path / "two")
    assert two["step"] == 4
    for key, value in one["model"].items():
        torch.testing.assert_close(two["model"][key], value, rtol=1e-4, atol=1e-5)
    if "rates" in one["task_state"]:                 # functa: the learned rates, averaged like the weights
        torch.testing.assert_close(two["task_state"]["rates"], one["task_state"]["rates"], rtol=1e-4, atol=1e-5)
    m1, m2 = (json.loads((tmp_path / r / "metrics.json").read_text())["metrics"] for r in ("one", "two"))
    assert m2["psnr"] == pytest.approx(m1["psnr"], abs=1e-3)


@pytest.mark.parametrize("argv,metric", [
    (["fit", "image", "--demo", "cameraman", "--size", "24", "--batch", "96"], "psnr"),       # sampled batches
    (["fit", "image", "--demo", "astronaut", "--size", "9", "--batch", "0"], "psnr"),        # 81 pixels: 41 + 40
    (["sdf", "--demo", "torus", "--points", "300", "--batch", "64", "--resolution", "16"], "surface")],
    ids=["image-sampled", "image-full-uneven", "sdf"])
def test_one_signal_two_processes_equal_one(tmp_path, argv, metric):
    """One signal under torchrun, 2 CPU processes: each draws the step's batch and trains on its block, gradients
    averaged -> the weights and logged metrics of one process with the combined batch (a block's loss weighed by its
    share when the batch does not split evenly)."""
    common = [*argv, "--hidden-features", "16", "--hidden-layers", "1", "--steps", "3", "--log-every", "3",
              "--no-progress", "--no-report", "--device", "cpu", "--seed", "5"]
    assert main([*common, "--out", str(tmp_path / "one")]) == 0
    _torchrun([*common, "--out", str(tmp_path / "two")], tmp_path / "two")
    one, two = load_checkpoint(tmp_path / "one"), load_checkpoint(tmp_path / "two")
    for key, value in one["model"].items():
        torch.testing.assert_close(two["model"][key], value, rtol=1e-4, atol=1e-5)
    m1, m2 = (json.loads((tmp_path / r / "metrics.jsonl").read_text().splitlines()[-1]) for r in ("one", "two"))
    assert m2[metric] == pytest.approx(m1[metric], rel=1e-3, abs=1e-4)
