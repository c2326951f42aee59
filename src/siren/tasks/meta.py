"""Learned initializations (Tancik et al. 2021; Reptile, MAML): `siren meta train FOLDER|--demo --out RUN`.

The model is the meta-parameters theta: a one-member batched network (model kind "batched", num_signals 1; any
family whose forward takes a leading batch of weight sets of another size). A step takes a batch of B training
images y_b (S x S, values in [-1, 1] on the grid of [-1, 1]^2 that `siren fit image` uses), clones theta to B
weight sets phi_b and runs K inner steps on L_b(phi) = mean over the image's pixels and channels of
(f_phi(x) - y_b)^2, all B in one batched pass (`torch.func.functional_call`):

    sgd:   phi <- phi - alpha grad L_b(phi)
    adam:  torch.optim.Adam's update (betas 0.9, 0.999, eps 1e-8) with lr alpha, per image: what `siren fit image`
           does at test time, so the init is trained for the optimizer that will use it

Outer update, by fit's optimizer (Adam, --lr) on a loss whose gradient is the meta-gradient:
    reptile   "reptile" = 1/2 sum over parameters ||theta - mean_b stopgrad(phi_b^K)||^2, gradient
              theta - mean_b phi_b^K (Nichol et al.: plain SGD on it with lr eps is theta <- theta + eps (mean phi - theta))
    maml      "mse" = mean_b L_b(phi_b^K(theta)), backpropagated through the K inner steps (second order)
Logged: "inner_mse" = mean_b L_b(phi_b^K) (the reptile run's weight 0). Metrics (held-out split of the folder or the
demo's held-out photographs): "psnr" = mean PSNR (dB on [0, 1]) of held-out images after K inner steps from theta,
"psnr_0" the same at theta itself.

`siren fit image IMAGE --init RUN` starts from theta with the settings stored here (`meta()["test_time"]`: inner
optimizer, learning rate and steps). Data-parallel under torchrun (`data_parallel`): process r takes its share of
each step's batch (the batch itself depends only on the seed and the step), the launcher averages the gradients.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.func import functional_call

from .. import distributed, viz
from ..data.grid import grid
from ..data.imagefolder import Split, StepImages, spread, training_split
from ..data.packaged import DATASETS
from ..errors import SirenError
from ..metrics import mse_to_psnr, to_unit
from ..options import option
from .base import Output, Task, register

__all__ = ["MetaConfig", "MetaTask", "FunctaTask", "adapt", "adapt_latent", "sgd_latent", "latent_predict", "predict",
           "unit_psnrs", "INNER_OPTIMIZERS", "METHODS"]

INNER_OPTIMIZERS = ("adam", "sgd")
METHODS = ("reptile", "maml", "functa")
BETAS, EPS = (0.9, 0.999), 1e-8     # torch.optim.Adam's defaults, the test-time optimizer of `siren fit`
LOG_EVAL_IMAGES = 16
FINAL_EVAL_IMAGES = 64
SHOWN_STEPS = (0, 1, 2, 5, 10, 50)


def predict(model, params: dict, coords: torch.Tensor) -> torch.Tensor:
    """The batched `model` with B weight sets `params` ({name: (B, ...)}) at coords (N, d) -> (B, N, C)."""
    return functional_call(model, params, (coords,))


def _loss(model, params: dict, coords: torch.Tensor, values: torch.Tensor, weight: torch.Tensor | None):
    """(B,) per-image MSE; weight (B, N) (rows summing to 1 over the observed pixels) or None (all pixels)."""
    sq = (predict(model, params, coords) - values).pow(2).mean(-1)                       # (B, N)
    return sq.mean(-1) if weight is None else (sq * weight).sum(-1)


def adapt(model, theta: dict, coords: torch.Tensor, values: torch.Tensor, steps: int, lr: float,
          optimizer: str = "adam", observed: torch.Tensor | None = None, second_order: bool = False) -> list:
    """K = `steps` inner steps from theta ({name: (1, ...)}) on B images -> [phi^0, ..., phi^K], each {name: (B, ...)}.

    coords: (N, d); values: (B, N, C); observed: (B, N) bool, the pixels the loss sees (None: all). second_order:
    keep the graph through the steps (MAML), else every phi^k is detached from theta (phi^0 too)."""
    batch = values.shape[0]
    weight = None if observed is None else observed.float() / observed.float().sum(-1, keepdim=True).clamp_min(1)
    phi = {k: v.expand(batch, *v.shape[1:]) for k, v in theta.items()}
    if not second_order:
        phi = {k: v.detach().clone().requires_grad_() for k, v in phi.items()}
    out, m, s = [phi], {k: 0.0 for k in phi}, {k: 0.0 for k in phi}
    for t in range(1, steps + 1):
        with torch.enable_grad():
            loss = _loss(model, phi, coords, values, weight).sum()      # image b's gradient is its own L_b's
            grads = torch.autograd.grad(loss, list(phi.values()), create_graph=second_order)
        new = {}
        for (k, p), g in zip(phi.items(), grads):
            if optimizer == "sgd":
                new[k] = p - lr * g
                continue
            m[k] = BETAS[0] * m[k] + (1 - BETAS[0]) * g
            s[k] = BETAS[1] * s[k] + (1 - BETAS[1]) * g * g
            denom = s[k].clamp_min(1e-30).sqrt() / (1 - BETAS[1] ** t) ** 0.5 + EPS    # clamp: finite MAML grads
            new[k] = p - lr / (1 - BETAS[0] ** t) * m[k] / denom
        phi = new if second_order else {k: v.detach().requires_grad_() for k, v in new.items()}
        out.append(phi)
    return out


@torch.no_grad()
def unit_psnrs(model, params: dict, coords: torch.Tensor, values: torch.Tensor) -> list[float]:
    """PSNR (dB on [0, 1], clipped) of each of the B images (values (B, N, C) in [-1, 1])."""
    err = (to_unit(predict(model, params, coords)) - to_unit(values)).pow(2).mean((1, 2))
    return [mse_to_psnr(float(e)) for e in err]


def latent_predict(model, latents: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """The modulated `model` (a `CoordinateMLP` with latent_features L) at B latents (B, L) on coords (N, d) ->
    (B, N, C): the plain model call (autograd all the way, differentiable twice)."""
    return model(coords.expand(latents.shape[0], *coords.shape), latents)


def _latent_loss(model, latents, coords, values, weight):
    """(B,) per-image MSE at the latents (B, L); weight as `_loss`."""
    sq = (latent_predict(model, latents, coords) - values).pow(2).mean(-1)                # (B, N)
    return sq.mean(-1) if weight is None else (sq * weight).sum(-1)


def adapt_latent(model, rates: torch.Tensor, coords: torch.Tensor, values: torch.Tensor, steps: int,
                 observed: torch.Tensor | None = None, second_order: bool = False) -> list:
    """K = `steps` meta-SGD steps (`sgd_latent`) on the latent of each of B images from z = 0 -> [z^0, ..., z^K],
    each (B, L), on L_b as `adapt`'s (values (B, N, C) at coords (N, d); observed as `adapt`'s), by autograd on the
    plain model call."""
    weight = None if observed is None else observed.float() / observed.float().sum(-1, keepdim=True).clamp_min(1)
    return sgd_latent(lambda z: _latent_loss(model, z, coords, values, weight),
                      values.new_zeros(values.shape[0], rates.shape[0]), rates, steps, second_order)


def sgd_latent(loss, z: torch.Tensor, rates: torch.Tensor, steps: int, second_order: bool = False) -> list:
    """K = `steps` meta-SGD steps on B latents from z^0 = z (B, L) -> [z^0, ..., z^K], each (B, L):

        z^{k+1} = z^k - rates * grad_z L_b(z^k)        (rates: (L,), one learning rate per latent dimension)

    loss(z) -> (B,): L_b, signal b's loss, a function of z_b alone (their sum is differentiated). second_order:
    each gradient is taken with create_graph=True, so the z^k stay functions of the base weights and the rates and
    a loss on z^K backpropagates through every inner step (second-order MAML; the loss must be differentiable
    twice: `siren.diff`'s fused path is not, its hand-written backward passes are once-differentiable). Else every
    z^k is detached."""
    out = [z if second_order else z.detach()]
    for _ in range(steps):
        with torch.enable_grad():
            if not z.requires_grad:
                z = z.detach().requires_grad_()
            grad, = torch.autograd.grad(loss(z).sum(), z, create_graph=second_order)
        z = z - rates * grad
        if not second_order:
            z = z.detach()
        out.append(z)
    return out


@dataclass
class MetaConfig:
    data: str | None = option(None, "folder of images of one class (every 10th file is held out, or CelebA's "
                              "list_eval_partition.txt)", positional=True)
    demo: bool = option(False, "meta-train on the bundled demo crops of scikit-image's photographs, split by "
                        "photograph (no download)")
    dataset: str | None = option(None, "meta-train on an image set that ships with a package: faces (scikit-image's "
                                 "LFW subset) or fashion-mnist (Debian's dataset-fashion-mnist)",
                                 choices=list(DATASETS))
    size: int = option(32, "images are centre-cropped and resized to size x size pixels")
    batch_size: int = option(8, "images per meta step (under torchrun: split across the processes)")
    method: str = option("reptile", "outer update: reptile (first order) or maml (through the inner steps) on all "
                         "weights, or functa (a modulated base; only a latent is fitted per image, by SGD at learned "
                         "per-dimension rates, second order)", choices=list(METHODS))
    inner_steps: int | None = option(None, "inner steps per image; also the test-time steps the init is trained for "
                                     "(default 5; functa 3)")
    inner_optimizer: str | None = option(None, "inner (and test-time) optimizer: adam (what `siren fit` uses) or sgd "
                                         "(default adam; functa: sgd, the only choice)", choices=list(INNER_OPTIMIZERS))
    inner_lr: float | None = option(None, "inner (and test-time) learning rate (default 1e-3); functa: the learned "
                                    "rates' starting value (default 1)")
    latent_features: int = option(64, "functa: numbers in the latent fitted per image")
    rates_lr: float = option(1e-2, "functa: Adam learning rate of the learned rates (the base weights': --lr)")
    workers: int = option(0, "processes reading a folder's images (0: read them in the training process)")


@register
class MetaTask(Task):
    """Meta-learn a SIREN initialization over a Split of images; see the module docstring."""

    name = "meta train"
    help = ("meta-learn a SIREN initialization for a class of images (Reptile or MAML on all weights, or functa: a "
            "modulated base and a latent per image); fit with --init RUN")
    Config = MetaConfig
    train_defaults = {"steps": 2000, "lr": 1e-4, "log_every": 100, "checkpoint_every": 500}
    model_kind = "batched"
    data_parallel = True
    goals = {"psnr": "max", "mse": "min", "reptile": "min"}

    def __init__(self, split: Split, batch_size: int = 8, method: str = "reptile", inner_steps: int = 5,
                 inner_optimizer: str = "adam", inner_lr: float = 1e-3, workers: int = 0,
                 shard: tuple[int, int] = (0, 1)):
        for field, value in (("batch_size", batch_size), ("inner_steps", inner_steps)):
            if value < 1:
                raise SirenError(f"must be at least 1, got {value}", field=field)
        if not inner_lr > 0:
            raise SirenError(f"must be positive, got {inner_lr}", field="inner_lr")
        if method not in METHODS or inner_optimizer not in INNER_OPTIMIZERS:
            raise SirenError(f"unknown method {method!r} or inner optimizer {inner_optimizer!r} (choose "
                             f"{'/'.join(METHODS)} and {'/'.join(INNER_OPTIMIZERS)})")
        self.split, self.batch_size, self.method = split, batch_size, method
        self.inner_steps, self.inner_optimizer, self.inner_lr = inner_steps, inner_optimizer, inner_lr
        self.workers, self.part = workers, distributed.batch_share(batch_size, *shard)
        self.size = split.train.size
        self.in_features, self.out_features = 2, 3
        self.coords = grid((self.size, self.size))
        self.device = torch.device("cpu")
        self.images = StepImages(split.train, batch_size, workers, self.part)
        self._eval = None

    @classmethod
    def resolve(cls, config: MetaConfig):
        """--method functa is the modulated meta-learning (`FunctaTask`)."""
        return FunctaTask if config.method == "functa" else cls

    @classmethod
    def from_config(cls, config: MetaConfig, shard: tuple[int, int] = (0, 1)) -> MetaTask:
        split = training_split(config.data, config.demo, config.size, config.dataset)
        return cls(split, config.batch_size, config.method, _given(config.inner_steps, 5),
                   _given(config.inner_optimizer, "adam"), _given(config.inner_lr, 1e-3), config.workers, shard)

    def model_hints(self) -> dict:
        return {"num_signals": 1}

    def to(self, device) -> MetaTask:
        self.device = torch.device(device)
        self.coords = self.coords.to(self.device)
        self.images.close()
        self._eval = None
        return self

    def _theta(self, model) -> dict:
        theta = dict(model.named_parameters())
        if any(p.shape[0] != 1 for p in theta.values()):
            raise SirenError("a learned initialization is one network: build the model with one member")
        return theta

    def _batch(self, step: int, generator: torch.Generator) -> torch.Tensor:
        """This process's share of the training images of step `step` -> (b, N, 3) on the device."""
        images = self.images(step, generator)
        return images.reshape(images.shape[0], -1, 3).to(self.device)

    def _adapt(self, model, values: torch.Tensor, steps: int, **kw) -> list:
        return adapt(model, self._theta(model), self.coords, values, steps, self.inner_lr, self.inner_optimizer,
                     **kw)

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
        values = self._batch(step, generator)
        maml = self.method == "maml"
        phi = self._adapt(model, values, self.inner_steps, second_order=maml)[-1]
        inner = _loss(model, phi, self.coords, values, None).mean()
        if maml:
            return {"mse": (inner, 1.0)}
        theta = self._theta(model)
        reptile = sum(0.5 * (theta[k] - p.detach().mean(0, keepdim=True)).pow(2).sum() for k, p in phi.items())
        return {"reptile": (reptile, 1.0), "inner_mse": (inner.detach(), 0.0)}

    def _test_images(self, count: int) -> torch.Tensor:
        """`count` held-out images spread evenly over the split -> (M, N, 3) on the device."""
        images = spread(self.split.test, count)
        return images.reshape(images.shape[0], -1, 3).to(self.device)

    def _predict(self, model, state) -> torch.Tensor:
        """The network at an adapted state (a weight set {name: (B, ...)}) -> (B, N, 3)."""
        return predict(model, state, self.coords)

    def _steps_label(self) -> str:
        return f"{self.inner_optimizer}, lr {self.inner_lr:g}"

    def curve(self, model, values: torch.Tensor, steps: int) -> list[float]:
        """Mean held-out PSNR after 0..steps test-time steps from theta (values (M, N, 3))."""
        out = []
        for state in self._adapt(model, values, steps):
            with torch.no_grad():
                err = (to_unit(self._predict(model, state)) - to_unit(values)).pow(2).mean((1, 2))
            out.append(float(np.mean([mse_to_psnr(float(e)) for e in err])))
        return out

    def evaluate(self, model) -> dict:
        if self._eval is None:
            self._eval = self._test_images(LOG_EVAL_IMAGES)
        curve = self.curve(model, self._eval, self.inner_steps)
        return {"psnr": curve[-1], "psnr_0": curve[0]}

    def meta(self) -> dict:
        return {"task": self.name, "size": self.size, "channels": 3, "method": self.method,
                "batch_size": self.batch_size, "data": self.split.describe(),
                "test_time": {"optimizer": self.inner_optimizer, "lr": self.inner_lr, "steps": self.inner_steps}}

    def state_dict(self) -> dict:
        return {"data_seed": self.images.seed}

    def load_state_dict(self, state: dict) -> None:
        self.images.seed = state.get("data_seed")
        self.images.close()

    def write_outputs(self, model, out_dir: Path, history: list):
        """steps.png (held-out PSNR against test-time steps), reconstructions.png (held-out images at theta and
        after K steps), psnr.png; metrics: held-out PSNR after each of SHOWN_STEPS steps on up to 64 images."""
        out_dir = Path(out_dir)
        self.images.close()
        values = self._test_images(FINAL_EVAL_IMAGES)
        most = max(SHOWN_STEPS)
        curve = self.curve(model, values, most)
        result = {"psnr": curve[self.inner_steps], "test_images": int(values.shape[0]),
                  **{f"psnr_{k}": curve[k] for k in SHOWN_STEPS}}
        plt = viz.pyplot()
        fig, ax = plt.subplots(figsize=(5, 3.4))
        ax.plot(range(most + 1), curve, marker=".")
        ax.axvline(self.inner_steps, color="gray", ls=":")
        ax.set(xlabel=f"test-time steps ({self._steps_label()})",
               ylabel="held-out PSNR (dB)", xscale="symlog")
        fig.tight_layout()
        fig.savefig(out_dir / "steps.png", dpi=100)
        plt.close(fig)
        show = values[:6]
        phis = self._adapt(model, show, self.inner_steps)
        rows = [("truth", show), ("theta", self._predict(model, phis[0])),
                (f"{self.inner_steps} steps", self._predict(model, phis[-1]))]
        fig, axes = plt.subplots(3, show.shape[0], figsize=(1.6 * show.shape[0], 5), squeeze=False)
        for r, (label, imgs) in enumerate(rows):
            for c in range(show.shape[0]):
                axes[r, c].imshow(to_unit(imgs[c].detach()).reshape(self.size, self.size, 3).cpu().numpy())
                axes[r, c].set_xticks([])
                axes[r, c].set_yticks([])
            axes[r, 0].set_ylabel(label)
        fig.tight_layout()
        fig.savefig(out_dir / "reconstructions.png", dpi=100)
        plt.close(fig)
        viz.curve(history, "psnr", out_dir / "psnr.png",
                  ylabel=f"held-out PSNR (dB) after {self.inner_steps} steps")
        return result, [Output("steps.png", "figure", "held-out PSNR (dB) against test-time steps from the learned "
                               "initialization"),
                        Output("reconstructions.png", "figure", f"held-out images: truth, theta, and after "
                               f"{self.inner_steps} steps ({curve[self.inner_steps]:.2f} dB mean)"),
                        Output("psnr.png", "figure", "held-out PSNR (dB) after the inner steps, against meta step")]

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        return ["--demo", "--size", "8", "--batch-size", "2", "--inner-steps", "2", "--hidden-features", "8",
                "--hidden-layers", "1"]


def _given(value, default):
    return default if value is None else value


class FunctaTask(MetaTask):
    """`siren meta train --method functa` (functa, Dupont et al. 2022; COIN++; CAVIA): the meta-parameters are the base
    weights of a modulated SIREN (`latent_features` L: FiLM shifts M z + m on every hidden layer, M and m included)
    and the per-dimension learning rates `rates` (L,) of the latent (meta-SGD). A step takes B training images, fits
    a latent per image from z = 0 by K SGD steps at the rates (`adapt_latent`, second order) and minimises
    "mse" = mean_b L_b(z_b^K) over the base and the rates by the training loop's Adam (the rates are the task's
    `parameters()`, in its state_dict and in `meta()["test_time"]["rates"]`). `siren fit image --init RUN` then fits
    only the latent of that base, by the same SGD steps (`siren.models.LatentSiren`). Data-parallel under
    torchrun like `MetaTask`: the launcher averages the rates' gradients with the weights' (`task.parameters()`)."""

    model_kind = "coordinates"
    goals = {"psnr": "max", "mse": "min"}

    def __init__(self, split: Split, batch_size: int = 8, latent_features: int = 64, inner_steps: int = 3,
                 inner_lr: float = 1.0, workers: int = 0, shard: tuple[int, int] = (0, 1), rates_lr: float = 1e-2):
        if latent_features < 1:
            raise SirenError(f"must be at least 1, got {latent_features}", field="latent_features")
        if not rates_lr > 0:
            raise SirenError(f"must be positive, got {rates_lr}", field="rates_lr")
        super().__init__(split, batch_size, "maml", inner_steps, "sgd", inner_lr, workers, shard)
        self.method, self.latent_features, self.rates_lr = "functa", latent_features, rates_lr
        self.rates = torch.nn.Parameter(torch.full((latent_features,), float(inner_lr)))

    @classmethod
    def from_config(cls, config: MetaConfig, shard: tuple[int, int] = (0, 1)) -> FunctaTask:
        if config.inner_optimizer not in (None, "sgd"):
            raise SirenError(f"--method functa fits the latent by SGD at learned rates, not {config.inner_optimizer} "
                             f"(leave --inner-optimizer out)")
        split = training_split(config.data, config.demo, config.size, config.dataset)
        return cls(split, config.batch_size, config.latent_features, _given(config.inner_steps, 3),
                   _given(config.inner_lr, 1.0), config.workers, shard, config.rates_lr)

    def model_hints(self) -> dict:
        return {"latent_features": self.latent_features}

    def parameters(self) -> list:
        """The learned rates, an Adam parameter group (at rates_lr) trained with the base (`siren.train.fit`)."""
        return [{"params": [self.rates], "lr": self.rates_lr}]

    def to(self, device) -> FunctaTask:
        super().to(device)
        self.rates.data = self.rates.data.to(self.device)
        return self

    def _check(self, model) -> None:
        size = getattr(model, "latent_features", 0)
        if size != self.latent_features:
            raise SirenError(f"--method functa needs a network with a latent of {self.latent_features} numbers, got "
                             f"{type(model).__name__} with latent_features {size} (use a modulated family, e.g. the "
                             f"default --model)")

    def _adapt(self, model, values: torch.Tensor, steps: int, observed=None, second_order: bool = False) -> list:
        self._check(model)
        return adapt_latent(model, self.rates if second_order else self.rates.detach(), self.coords, values, steps,
                            observed, second_order)

    def _predict(self, model, state) -> torch.Tensor:
        return latent_predict(model, state, self.coords)

    def _steps_label(self) -> str:
        return "sgd on the latent, learned rates"

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
        values = self._batch(step, generator)
        z = self._adapt(model, values, self.inner_steps, second_order=True)[-1]
        return {"mse": (_latent_loss(model, z, self.coords, values, None).mean(), 1.0)}

    def meta(self) -> dict:
        rates = self.rates.detach().cpu().tolist()
        return {**super().meta(), "latent_features": self.latent_features, "rates_lr": self.rates_lr,
                "test_time": {"optimizer": "sgd", "lr": 1.0, "steps": self.inner_steps, "rates": rates,
                              "latent_features": self.latent_features}}

    def state_dict(self) -> dict:
        return {**super().state_dict(), "rates": self.rates.detach().cpu().clone()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if "rates" in state:
            self.rates.data.copy_(state["rates"])
