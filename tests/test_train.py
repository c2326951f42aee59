import json
import warnings

import numpy as np
import pytest
import torch

from siren.data.image import image_signal
from siren.diff import gemm
from siren.errors import SirenError
from siren.models import build_model
from siren.tasks.fit_image import ImageFitTask
from siren.train import TrainConfig, fit
from siren.run_folder import load_checkpoint, prepare_out_dir
from siren.launch import run


def _image(h=12, w=10):
    yy, xx = np.mgrid[0:h, 0:w]
    return (0.5 + 0.4 * np.sin(yy / 2.0) * np.cos(xx / 3.0))[..., None]


def _task(**kw):
    return ImageFitTask(image_signal(_image()), **kw)


def _model(seed=0):
    torch.manual_seed(seed)
    return build_model("siren", 2, 1, hidden_features=16, hidden_layers=1)


def _cfg(**kw):
    return TrainConfig(**{"steps": 20, "lr": 1e-3, "log_every": 5, "checkpoint_every": 5, "progress": False, **kw})


def test_loss_decreases_and_logs(tmp_path, device):
    res = fit(_model().to(device), _task().to(device), _cfg(), tmp_path)
    lines = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == [5, 10, 15, 20]
    assert lines[-1]["loss"] < lines[0]["loss"] and lines[-1]["psnr"] > lines[0]["psnr"]
    assert load_checkpoint(tmp_path)["step"] == 20 == res.step


@pytest.mark.parametrize("batched", [False, True])
def test_resume_after_interrupt_equals_uninterrupted(tmp_path, batched):
    """Ctrl-C at step 10 saves a checkpoint; resuming to 20 gives the same final loss as one run to 20.
    With random coordinate batches the sampler state is restored too."""
    kw = {"max_batch": 50} if batched else {}
    full = fit(_model(), _task(**kw), _cfg(schedule="cosine"), tmp_path / "a")

    def interrupt(step, record):
        if step == 10:
            raise KeyboardInterrupt

    part = fit(_model(), _task(**kw), _cfg(schedule="cosine"), tmp_path / "b", callback=interrupt)
    assert part.interrupted and part.step == 10 and load_checkpoint(tmp_path / "b")["step"] == 10
    resumed = fit(_model(seed=123), _task(**kw), _cfg(schedule="cosine"), tmp_path / "b", resume=True)
    assert resumed.step == 20
    assert abs(resumed.loss - full.loss) <= 1e-6 * max(1.0, abs(full.loss))
    assert resumed.history[-1]["psnr"] == pytest.approx(full.history[-1]["psnr"], abs=1e-6)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    task = _task()
    real = task.loss
    calls = {"n": 0}

    def loss(model, step, gen):
        calls["n"] += 1
        terms = real(model, step, gen)
        return {"mse": (terms["mse"][0] * float("nan"), 1.0)} if calls["n"] == 8 else terms

    task.loss = loss
    with pytest.raises(SirenError, match="loss became nan at step 8.*last good checkpoint"):
        fit(_model(), task, _cfg(), tmp_path)
    assert load_checkpoint(tmp_path)["step"] == 5


def test_out_dir_never_silently_overwritten(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("x")
    with pytest.raises(SirenError, match="already exists"):
        prepare_out_dir(tmp_path / "run")
    assert (tmp_path / "run" / "keep.txt").exists()
    prepare_out_dir(tmp_path / "run", overwrite=True)
    assert not (tmp_path / "run" / "keep.txt").exists()


def test_config_validation():
    with pytest.raises(SirenError, match="steps must be positive"):
        TrainConfig(steps=0)
    with pytest.raises(SirenError, match="learning rate"):
        TrainConfig(lr=-1)
    with pytest.raises(SirenError, match="log_every must be positive"):
        TrainConfig(log_every=0)
    with pytest.raises(SirenError, match="checkpoint_every must be positive"):
        TrainConfig(checkpoint_every=-2)
    with pytest.raises(SirenError, match="unknown matmul precision"):
        TrainConfig(matmul_precision="bf16")


@pytest.mark.skipif(not gemm.bfloat16_available(), reason="needs a CPU with bfloat16 oneDNN kernels")
def test_medium_matmul_precision_trains_close_to_float32_and_is_restored():
    """bfloat16 products (width 32 >= the 16 where they apply) change the numbers, not the outcome."""
    arch = {"hidden_features": 32, "hidden_layers": 1}
    results = {}
    for precision in ("highest", "medium"):
        torch.manual_seed(0)
        model = build_model("siren", 2, 1, **arch)
        results[precision] = fit(model, _task(), _cfg(steps=60, matmul_precision=precision))
        assert torch.get_float32_matmul_precision() == "highest"
    hi, med = (results[p].history[-1]["psnr"] for p in ("highest", "medium"))
    assert results["highest"].loss != results["medium"].loss
    assert abs(hi - med) < 3.0 and med > results["medium"].history[0]["psnr"]


def test_medium_precision_without_bfloat16_trains_in_float32_with_one_warning(monkeypatch):
    """A CPU without bfloat16 kernels (forced here, so this runs anywhere): "medium" warns once and gives exactly the
    float32 run."""
    monkeypatch.setattr(gemm, "_BF16", False)
    arch = {"hidden_features": 32, "hidden_layers": 1}
    results = {}
    for precision in ("highest", "medium"):
        torch.manual_seed(0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results[precision] = fit(build_model("siren", 2, 1, **arch), _task(), _cfg(steps=10, matmul_precision=precision))
        assert len([w for w in caught if "bfloat16" in str(w.message)]) == (precision == "medium")
        assert torch.get_float32_matmul_precision() == "highest"
    assert results["highest"].loss == results["medium"].loss


def test_seed_reproduces(tmp_path):
    a = run(_task(), "siren", _cfg(seed=3), tmp_path / "a", {"hidden_features": 16, "hidden_layers": 1})[1]
    b = run(_task(), "siren", _cfg(seed=3), tmp_path / "b", {"hidden_features": 16, "hidden_layers": 1})[1]
    c = run(_task(), "siren", _cfg(seed=4), tmp_path / "c", {"hidden_features": 16, "hidden_layers": 1})[1]
    assert a.loss == b.loss != c.loss
    cfg = json.loads((tmp_path / "a" / "config.json").read_text())
    assert cfg["model"]["name"] == "siren" and cfg["train"]["seed"] == 3
    assert {"reconstruction.png", "derivatives.png", "psnr.png", "metrics.json"} <= {p.name for p in (tmp_path / "a").iterdir()}


def test_failed_start_creates_no_run_folder(tmp_path):
    with pytest.raises(SirenError, match="no option"):
        run(_task(), "siren", _cfg(), tmp_path / "run", {"bogus": 1})
    with pytest.raises(SirenError, match="unknown device"):
        run(_task(), "siren", _cfg(device="tpu9"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


class CurriculumTask(ImageFitTask):
    """A task with its own state: a window of rows that widens with the step (a curriculum), and a counter of loss
    calls kept in the checkpoint. Two terms with weights, so the log must show raw terms and weights apart."""

    def __init__(self, signal):
        super().__init__(signal)
        self.calls = 0

    def loss(self, model, step, generator):
        self.calls += 1
        rows = 2 + step                                       # the sampled window grows with the step
        n = min(rows * self.signal.shape[1], self.coords.shape[0])
        err = (model(self.coords[:n]) - self.values[:n]).pow(2).mean()
        return {"mse": (err, 1.0), "mean_abs": ((model(self.coords[:n]) - self.values[:n]).abs().mean(), 0.25)}

    def state_dict(self):
        return {"calls": self.calls}

    def load_state_dict(self, state):
        self.calls = state["calls"]


def test_task_state_and_step_survive_resume_and_terms_are_logged_with_weights(tmp_path):
    full_task = CurriculumTask(image_signal(_image()))
    full = fit(_model(), full_task, _cfg(), tmp_path / "a")

    task = CurriculumTask(image_signal(_image()))
    fit(_model(), task, _cfg(steps=10), tmp_path / "b")
    resumed_task = CurriculumTask(image_signal(_image()))       # a fresh process: state only from the checkpoint
    resumed = fit(_model(seed=9), resumed_task, _cfg(), tmp_path / "b", resume=True)
    assert resumed_task.calls == full_task.calls == 20
    assert resumed.loss == full.loss
    record = json.loads((tmp_path / "a" / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["weights"] == {"mse": 1.0, "mean_abs": 0.25}
    assert record["loss"] == pytest.approx(record["mse"] + 0.25 * record["mean_abs"], rel=1e-6)


def test_failed_run_leaves_no_blocking_folder(tmp_path):
    """A run that fails before its first checkpoint removes the folder it made (a rerun just works); one that fails
    later keeps the checkpoint, and a rerun is told to --resume or --overwrite."""
    task = _task()
    real = task.loss
    task.loss = lambda model, step, gen: {"mse": (real(model, step, gen)["mse"][0] * float("nan"), 1.0)}
    with pytest.raises(SirenError, match="loss became nan at step 1"):
        run(task, "siren", _cfg(), tmp_path / "run", {"hidden_features": 8, "hidden_layers": 1})
    assert not (tmp_path / "run").exists()
    task.loss = lambda model, step, gen: ({"mse": (real(model, step, gen)["mse"][0] * float("nan"), 1.0)}
                                          if step == 7 else real(model, step, gen))
    with pytest.raises(SirenError, match="loss became nan at step 8"):
        run(task, "siren", _cfg(), tmp_path / "run", {"hidden_features": 8, "hidden_layers": 1})
    assert load_checkpoint(tmp_path / "run")["step"] == 5
    with pytest.raises(SirenError, match="pass --resume to continue it, --overwrite to start over"):
        run(_task(), "siren", _cfg(), tmp_path / "run", {"hidden_features": 8, "hidden_layers": 1})


def test_import_siren_exposes_the_subpackages():
    import siren
    x = torch.rand(5, 2, requires_grad=True)
    assert torch.allclose(siren.diff.gradient((x ** 2).sum(-1, keepdim=True), x)[:, 0], 2 * x)
    assert siren.models.build_model and siren.data.grid.grid and siren.tasks.REGISTRY


def test_interrupted_run_writes_its_summary_and_a_report_that_says_so(tmp_path):
    task = _task()
    real = task.loss

    def loss(model, step, gen):
        if step == 7:
            raise KeyboardInterrupt             # what Ctrl-C raises inside the loop
        return real(model, step, gen)

    task.loss = loss
    _, result, summary = run(task, "siren", _cfg(), tmp_path / "run", {"hidden_features": 8, "hidden_layers": 1})
    assert result.interrupted and summary["interrupted"] and summary["steps"] == 7
    assert load_checkpoint(tmp_path / "run")["step"] == 7
    assert "interrupted" in (tmp_path / "run" / "report.html").read_text().lower()
    listed = {e["path"] for e in json.loads((tmp_path / "run" / "outputs.json").read_text())}
    assert "report.html" in listed and "reconstruction.png" not in listed
