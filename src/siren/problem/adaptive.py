"""Residual-based adaptive sampling of a residual's points (RAD of Wu, Zhu, Tan, Kartha and Lu, "A comprehensive
study of non-adaptive and residual-based adaptive sampling for physics-informed neural networks", CMAME 2023).

    Residual(fn, points=4000, adaptive=Adaptive(every=100, candidates=10, k=1.0, c=1.0))

Every `every` steps (from step `every` on; before that the constraint's own sampler draws them) a pool of
M = candidates x points is drawn by the constraint's sampler (random: uniform where it holds) and its residual
r (M,) or (M, k) evaluated there with the current networks; each step then draws its points from the pool with
replacement, with probability

    p_m ∝ |r_m|^k / mean_j |r_j|^k + c          (|r_m|: the norm over a vector residual's components)

so c -> infinity is uniform sampling and c = 0 samples where the residual is large. The draws use the run's
generator, and `state_dict` keeps the pool, so `--resume` continues exactly.
"""
from __future__ import annotations

import torch

from ..errors import SirenError

__all__ = ["Adaptive"]

CHUNK = 8192          # candidates evaluated per `siren.diff` call


class Adaptive:
    """RAD sampling for a `Residual` (see the module docstring)."""

    def __init__(self, every: int = 100, candidates: int = 10, k: float = 1.0, c: float = 1.0):
        if not (isinstance(every, int) and every > 0 and isinstance(candidates, int) and candidates > 0):
            raise SirenError(f"adaptive sampling: every and candidates must be positive integers, got {every!r} and "
                             f"{candidates!r}")
        if not (k >= 0 and c >= 0):
            raise SirenError(f"adaptive sampling: k and c must be >= 0, got k = {k!r}, c = {c!r}")
        self.every, self.candidates, self.k, self.c = every, candidates, float(k), float(c)
        self.pool, self.p, self.step = None, None, -1

    def density(self, r: torch.Tensor) -> torch.Tensor:
        """Sampling probabilities (M,) (sum 1) of candidates with residuals r (M,) or (M, k)."""
        a = r.reshape(len(r), -1).abs().double().norm(dim=1) ** self.k
        p = a / a.mean().clamp_min(1e-300) + self.c
        if not bool(p.sum() > 0):                      # c = 0 and every residual 0: uniform
            p = torch.ones_like(p)
        return p / p.sum()

    def refresh(self, problem, name: str, models: dict, gen: torch.Generator | None, step: int) -> None:
        """Draw a new pool and its probabilities from the residual of constraint `name` with `models`."""
        con = problem.constraints[name]
        if not (callable(con.sampler) or con.sampler == "random"):
            raise SirenError(f"constraint {name!r}: adaptive sampling needs a residual with a random or callable "
                             "sampler (drop adaptive=, or sampler=)")
        (x, normals, data), = problem.point_sets(name, gen, n=con.points * self.candidates, step=step)
        p = next(models["solution"].parameters())
        rs = [problem.residual(name, models, [_take((x, normals, data), slice(s, s + CHUNK))], p.dtype,
                               p.device).detach().cpu() for s in range(0, len(x), CHUNK)]
        self.pool, self.p = (x, normals, data), self.density(torch.cat(rs))

    def sets(self, problem, name: str, models: dict, gen: torch.Generator | None, step: int) -> list:
        """This step's point sets [(x (N, d) float64, normals or None, data)] of constraint `name`."""
        if step < self.every:
            self.pool = None
            return problem.point_sets(name, gen, step=step)
        if self.pool is None or (step % self.every == 0 and step != self.step):
            self.refresh(problem, name, models, gen, step)
            self.step = step
        idx = torch.multinomial(self.p, problem.constraints[name].points, replacement=True, generator=gen)
        return [_take(self.pool, idx)]

    def state_dict(self) -> dict:
        return {"pool": self.pool, "p": self.p, "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.pool, self.p, self.step = state["pool"], state["p"], state["step"]


def _take(point_set: tuple, idx) -> tuple:
    """Rows idx of a point set (x, normals or None, data)."""
    x, normals, data = point_set
    return x[idx], None if normals is None else normals[idx], {k: v[idx] for k, v in data.items()}
