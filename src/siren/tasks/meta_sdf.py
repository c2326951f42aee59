"""Learned initializations for SDFs (MetaSDF, Sitzmann et al. 2020, with functa's modulations): `siren meta sdf
FOLDER|--demo --out RUN`, then `siren sdf SCAN --init RUN`: a new scan starts from the shape prior.

The meta-parameters are the base weights of a modulated SIREN 3 -> 1 (FiLM shifts M z + m from a latent z of L
numbers, `CoordinateMLP(latent_features=L)`; first omega_0 `siren.tasks.sdf.FIRST_FREQUENCY`, as `siren sdf` builds
it) and one SGD learning rate per latent dimension, r (L,) (meta-SGD). A meta step draws B training shapes
(`siren.data.shapeset`, each normalized as `siren sdf` normalizes a scan) and per shape n surface points (with
normals) and n points uniform in [-1, 1]^3; fits each shape's latent from z = 0 by K steps

    z <- z - r * grad_z L_b(z)          (`siren.tasks.meta.sgd_latent`)

with L_b the loss of `siren sdf` at the shape's points (`siren.tasks.sdf.sdf_terms`: surface, off-surface, normal
and Eikonal terms, `siren sdf`'s weights), and minimises mean_b L_b(z_b^K) over the base and r by the training
loop's Adam (`--lr`; `--rates-lr` for r), through the inner steps (second-order MAML). The terms need grad_x f,
taken by autograd with create_graph (`siren.diff`, mode "autograd"), so the outer gradient holds third derivatives
of the network; `siren.diff`'s fused path is once-differentiable and is not used here. The first `warmup` steps
(default none) instead fit the base at z = 0 to a sphere of radius 0.5 by `siren sdf`'s loss (first order): a
geometric initialization (as DiGS's), so that the meta steps start from a distance-like field, not from the
standard init's nearly flat one.

Logged: the terms of `siren sdf` at z^K. Metrics at log steps, on up to EVAL_SHAPES held-out shapes (fixed points):
"surface" = mean |f| at their surface points after K steps (model units), "surface_0" the same at z = 0, and
"eikonal_error" = mean ||grad f| - 1| at their uniform points after K steps. At the end each of those shapes is
meshed after K steps at `resolution`^3 (`SDFTask.scored_mesh`, pieces far from its points dropped): "chamfer",
"f_score", "normal_consistency" (means; units of each shape's bounding-box diagonal). The held-out shapes are
written to heldout/NAME.npy (x y z nx ny nz, model units) for `siren sdf heldout/NAME.npy --init RUN`, which
fits only the latent of the base, by the same SGD steps (`siren.models.LatentSiren`; pass `--steps K --batch n`
for exactly the meta-training's test time).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import diff, viz
from ..data.grid import random_indices
from ..data.shapeset import DEMO_SHAPES, training_shapes
from ..errors import SirenError
from ..options import option
from ..shapes import Sphere, sample_surface
from .base import Output, Task, register
from .meta import sgd_latent
from .sdf import FIRST_FREQUENCY, KEEP_WITHIN, SDFTask, sdf_terms

__all__ = ["MetaSDFConfig", "MetaSDFTask", "adapt_shapes", "shape_losses"]

EVAL_SHAPES = 8


def shape_losses(model, z: torch.Tensor, x: torch.Tensor, surface: int, normals: torch.Tensor | None,
                 second_order: bool = False) -> dict:
    """`siren sdf`'s terms {name: ((B,), weight)} of B shapes at latents z (B, L) and points x (B, P, 3), the first
    `surface` of each shape's P points on its surface with normals (B, surface, 3) (or None). second_order: the
    input gradient by autograd (differentiable twice more), else by `siren.diff`'s default path."""
    out = diff.derivatives(model, x, gradient=True, latent=z, mode="autograd" if second_order else "auto")
    return sdf_terms(out.value[..., 0], out.gradient[..., 0, :], surface, normals)


def _total(terms: dict) -> torch.Tensor:
    return sum(w * t for t, w in terms.values())


def adapt_shapes(model, rates: torch.Tensor, x: torch.Tensor, surface: int, normals: torch.Tensor | None,
                 steps: int, second_order: bool = False) -> list:
    """K = `steps` meta-SGD steps on the latents of B shapes from z = 0 (`sgd_latent`) on `siren sdf`'s loss at
    their points (as `shape_losses`) -> [z^0, ..., z^K], each (B, L)."""
    loss = lambda z: _total(shape_losses(model, z, x, surface, normals, second_order))   # noqa: E731
    return sgd_latent(loss, x.new_zeros(x.shape[0], rates.shape[0]), rates, steps, second_order)


@dataclass
class MetaSDFConfig:
    data: str | None = option(None, "folder of shapes: point clouds or meshes (every 10th file is held out)",
                              positional=True)
    demo: bool = option(False, "meta-train on procedural shapes from trimesh's primitives (tori, capsules, boxes "
                        "and their unions; every 10th held out; no download)")
    shapes: int = option(DEMO_SHAPES, "--demo: number of shapes")
    points: int = option(4096, "surface points per shape (sampled from a mesh or a demo shape)")
    batch: int = option(512, "surface points per shape per inner step (and as many uniform points)")
    batch_size: int = option(4, "shapes per meta step")
    inner_steps: int = option(5, "SGD steps on each shape's latent; also the test-time steps the init is trained for")
    inner_lr: float = option(3e-4, "the learned per-dimension rates' starting value")
    latent_features: int = option(64, "numbers in the latent fitted per shape")
    rates_lr: float = option(1e-5, "Adam learning rate of the learned rates (the base weights': --lr)")
    resolution: int = option(64, "marching-cubes grid of the held-out shapes' meshes at the end")
    warmup: int = option(0, "first steps that fit the base (z = 0) to a sphere of radius 0.5 without the inner loop "
                         "(a geometric initialization: a distance-like field to start the meta steps from)")


@register
class MetaSDFTask(Task):
    """Meta-learn a shape prior (a modulated SDF base and per-dimension latent rates); see the module docstring."""

    name = "meta sdf"
    help = ("meta-learn an SDF initialization over a folder of shapes (a modulated base, a latent per shape fitted by "
            "SGD on the Eikonal loss); fit a scan with `siren sdf SCAN --init RUN`")
    Config = MetaSDFConfig
    train_defaults = {"steps": 1000, "lr": 3e-4, "log_every": 100, "checkpoint_every": 250}
    metric_name = "surface"
    goals = {"surface": "min", "eikonal_error": "min", "chamfer": "min", "f_score": "max", "normal_consistency": "max"}
    in_features, out_features = 3, 1

    def __init__(self, shapes, batch: int = 512, batch_size: int = 4, inner_steps: int = 5, inner_lr: float = 3e-4,
                 latent_features: int = 64, rates_lr: float = 1e-5, resolution: int = 64, warmup: int = 0):
        """shapes: a `siren.data.shapeset.ShapeSet`."""
        for field, value, least in (("batch", batch, 1), ("batch_size", batch_size, 1), ("inner_steps", inner_steps, 1),
                                    ("latent_features", latent_features, 1), ("warmup", warmup, 0)):
            if value < least:
                raise SirenError(f"must be at least {least}, got {value}", field=field)
        for field, value in (("inner_lr", inner_lr), ("rates_lr", rates_lr)):
            if not value > 0:
                raise SirenError(f"must be positive, got {value}", field=field)
        if resolution < 8:
            raise SirenError(f"must be at least 8, got {resolution}", field="resolution")
        fewest = min(len(c.points) for c in shapes.train + shapes.test)
        if batch > fewest:
            raise SirenError(f"must be at most the fewest points of a shape ({fewest}), got {batch}", field="batch")
        if any(c.normals is None for c in shapes.train + shapes.test):
            raise SirenError("every shape needs normals (a cloud without them gets estimated ones)")
        self.shapes, self.batch, self.batch_size, self.inner_steps = shapes, batch, batch_size, inner_steps
        self.latent_features, self.rates_lr, self.resolution = latent_features, rates_lr, resolution
        self.rates = torch.nn.Parameter(torch.full((latent_features,), float(inner_lr)))
        self.inner_lr, self.warmup = inner_lr, warmup
        as_tensor = lambda a: torch.from_numpy(np.asarray(a, np.float32))     # noqa: E731
        self.train = [(as_tensor(c.points), as_tensor(c.normals)) for c in shapes.train]
        self.sphere = tuple(as_tensor(a) for a in sample_surface(Sphere(0.5), max(batch, 4096), seed=0))
        g = torch.Generator().manual_seed(1234)
        self.eval_shapes = shapes.test[:EVAL_SHAPES]
        self.eval = self._draw([(as_tensor(c.points), as_tensor(c.normals)) for c in self.eval_shapes], g)
        self.device = torch.device("cpu")

    @classmethod
    def from_config(cls, config: MetaSDFConfig) -> MetaSDFTask:
        if config.points < 10:
            raise SirenError(f"must be at least 10, got {config.points}", field="points")
        shapes = training_shapes(config.data, config.demo, config.points, config.shapes)
        return cls(shapes, config.batch, config.batch_size, config.inner_steps, config.inner_lr,
                   config.latent_features, config.rates_lr, config.resolution, config.warmup)

    def model_hints(self) -> dict:
        return {"latent_features": self.latent_features, "first_omega_0": FIRST_FREQUENCY}

    def parameters(self) -> list:
        """The learned rates, an Adam parameter group (at rates_lr) trained with the base (`siren.train.fit`)."""
        return [{"params": [self.rates], "lr": self.rates_lr}]

    def to(self, device) -> MetaSDFTask:
        self.device = torch.device(device)
        self.rates.data = self.rates.data.to(self.device)
        self.train = [(p.to(self.device), n.to(self.device)) for p, n in self.train]
        self.sphere = tuple(t.to(self.device) for t in self.sphere)
        self.eval = tuple(t.to(self.device) for t in self.eval)
        return self

    def _draw(self, shapes: list, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Per shape (points (M, 3), normals (M, 3)): `batch` surface points, then `batch` uniform points ->
        (x (B, 2 batch, 3), normals (B, batch, 3))."""
        xs, ns = [], []
        for points, normals in shapes:
            idx = random_indices(len(points), self.batch, generator).to(points.device)
            uniform = (torch.rand(self.batch, 3, generator=generator) * 2 - 1).to(points.device)
            xs.append(torch.cat([points[idx], uniform]))
            ns.append(normals[idx])
        return torch.stack(xs), torch.stack(ns)

    def _check(self, model) -> None:
        size = getattr(model, "latent_features", 0)
        if size != self.latent_features:
            raise SirenError(f"meta sdf needs a network with a latent of {self.latent_features} numbers, got "
                             f"{type(model).__name__} with latent_features {size} (use a modulated family, e.g. the "
                             f"default --model)")

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
        self._check(model)
        if step < self.warmup:                       # the base alone, fitted to a sphere (first order)
            x, normals = self._draw([self.sphere], generator)
            z = x.new_zeros(1, self.latent_features)
            return {k: (t.mean(), w) for k, (t, w) in shape_losses(model, z, x, self.batch, normals).items()}
        pick = torch.randint(len(self.train), (self.batch_size,), generator=generator).tolist()
        x, normals = self._draw([self.train[i] for i in pick], generator)
        z = adapt_shapes(model, self.rates, x, self.batch, normals, self.inner_steps, second_order=True)[-1]
        return {k: (t.mean(), w) for k, (t, w) in shape_losses(model, z, x, self.batch, normals, True).items()}

    def adapted(self, model) -> torch.Tensor:
        """The held-out evaluation shapes' latents after K steps at their fixed points -> (E, L)."""
        self._check(model)
        x, normals = self.eval
        return adapt_shapes(model, self.rates.detach(), x, self.batch, normals, self.inner_steps)[-1]

    def evaluate(self, model) -> dict:
        x, normals = self.eval
        out = {}
        for key, z in (("_0", torch.zeros(x.shape[0], self.latent_features, device=x.device)),
                       ("", self.adapted(model))):
            d = diff.derivatives(model, x, gradient=True, latent=z)
            out[f"surface{key}"] = float(d.value[:, :self.batch].detach().abs().mean())
            if not key:
                out["eikonal_error"] = float((d.gradient[:, self.batch:, 0].detach().norm(dim=-1) - 1).abs().mean())
        return out

    def write_outputs(self, model, out_dir: Path, history: list):
        """heldout/NAME.npy for every held-out shape; the evaluation shapes meshed after K steps and scored
        (means over them; heldout_mesh.png: the first one); surface.png."""
        from ..mesh import render_mesh_png
        out_dir = Path(out_dir)
        (out_dir / "heldout").mkdir(exist_ok=True)
        files = []
        for name, cloud in zip(self.shapes.test_names, self.shapes.test):
            path = f"heldout/{Path(name).stem}.npy"
            np.save(out_dir / path, np.concatenate([cloud.points, cloud.normals], axis=1).astype(np.float32))
            files.append(Output(path, "field", f"held-out shape {name}: x y z nx ny nz ({len(cloud.points)} points, "
                                f"model units), for `siren sdf {path} --init RUN`"))
        z = self.adapted(model)
        scores, first = [], None
        for name, cloud, latent in zip(self.shapes.test_names, self.eval_shapes, z):
            scorer = SDFTask(cloud, batch=self.batch, resolution=self.resolution, keep_within=KEEP_WITHIN)
            try:
                mesh, result = scorer.scored_mesh(_values(model, latent))
            except SirenError:                          # no surface yet: this shape has no scores
                continue
            scores.append(result)
            if first is None:
                first = (name, mesh)
        metrics = {"surface": self.evaluate(model)["surface"], "meshed": len(scores), "shapes": len(self.eval_shapes)}
        for key in ("chamfer", "f_score", "normal_consistency"):
            metrics[key] = float(np.mean([s[key] for s in scores])) if scores else None
        if first is not None:
            render_mesh_png(first[1], out_dir / "heldout_mesh.png",
                            title=f"{first[0]} after {self.inner_steps} steps")
            files.append(Output("heldout_mesh.png", "image", f"held-out shape {first[0]} after {self.inner_steps} "
                                f"steps from the prior (mean Chamfer of {len(scores)}: {metrics['chamfer']:.4f})"))
        viz.curve(history, "surface", out_dir / "surface.png",
                  ylabel=f"held-out mean |f| on the surface after {self.inner_steps} steps")
        files.append(Output("surface.png", "figure", "held-out mean |f| on the surface after the inner steps, "
                            "against meta step"))
        return metrics, files

    def meta(self) -> dict:
        rates = self.rates.detach().cpu().tolist()
        return {"task": self.name, "data": self.shapes.describe(), "batch_size": self.batch_size,
                "latent_features": self.latent_features, "rates_lr": self.rates_lr,
                "test_time": {"optimizer": "sgd", "lr": 1.0, "steps": self.inner_steps, "rates": rates,
                              "latent_features": self.latent_features, "batch": self.batch}}

    def state_dict(self) -> dict:
        return {"rates": self.rates.detach().cpu().clone()}

    def load_state_dict(self, state: dict) -> None:
        if "rates" in state:
            self.rates.data.copy_(state["rates"])

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        return ["--demo", "--shapes", "4", "--points", "64", "--batch", "16", "--batch-size", "2", "--inner-steps",
                "1", "--latent-features", "4", "--resolution", "8", "--hidden-features", "8", "--hidden-layers", "1"]


def _values(model, latent: torch.Tensor):
    """The base at one latent (L,) as a function (M, 3) -> (M,) for meshing."""
    def fn(x):
        with torch.no_grad():
            return model(x.to(latent.device), latent)[:, 0]
    return fn
