"""`Problem`: a domain, named inputs and outputs, constraints, unknowns and optional hard constraints.

    problem = Problem(Interval(-1, 1) * TimeInterval(0, 1), outputs="u", constraints={
        "pde": Residual(lambda v: v.d("u", "t") + v.u * v.d("u", "x") - nu * v.d("u", "x", "x")),
        "ic": Initial("u", lambda p: -torch.sin(math.pi * p.x)),
        "walls": Dirichlet("u", 0.0)})

inputs default to ("x",), ("x", "y"), ("x", "y", "z") by dimension, with "t" last for a space-time domain.
`compile(seed)` (done by the solve task before training) builds the unknown fields and dry-runs every constraint
once on a recording view: what it reads becomes the `siren.diff.Request` of each network, so each step makes one
`siren.diff.derivatives` call per network and constraint (forward mode where the family has it). It also refuses
bad input with one line naming the constraint: an unknown name, a wrong shape, an unknown no constraint reads.
`terms(models, gen)` -> {constraint: (mean of residual^2, weight)}.

hints: facts for the model families (`siren.models` hints), e.g. {"first_omega_0": 3.0}: a smooth solution wants
a lower omega_0 than an image; flags and keyword options still win.
box: {input: (lo, hi)}: the interval the network's [-1, 1] stands for along that input (default: the domain's
bounding box), e.g. a time scale of the problem's own; residuals stay in the user's units either way.
balance: None (fixed weights) or "gradnorm": every `balance_every` steps each term's weight becomes
w_i = mean_j |grad_theta L_j| / |grad_theta L_i| (norms over the solution network's parameters, times the
constraint's own weight), smoothed by an exponential average (0.9 old, 0.1 new), as in Wang, Teng and Perdikaris
(2021), "Understanding and mitigating gradient pathologies in PINNs".
"""
from __future__ import annotations

import numpy as np
import torch

from .. import distributed
from ..errors import SirenError
from .constraints import Constraint, Observation, Periodic
from .sampling import call_sampler, draw, fixed
from .time import SpaceTime
from .transform import Hard
from .unknowns import Field, Parameter
from .frame import Frame
from .view import RESERVED, Recorder

__all__ = ["Problem", "BALANCE"]

BALANCE = (None, "gradnorm")
DEFAULT_INPUTS = ("x", "y", "z")


class Problem(Frame):
    """See the module docstring. hard: {output: Hard(value, distance)} (or a (value, distance) tuple)."""

    def __init__(self, domain, outputs=("u",), constraints: dict | None = None, inputs=None,
                 unknowns: dict | None = None, hard: dict | None = None, balance: str | None = None,
                 balance_every: int = 100, hints: dict | None = None, box: dict | None = None):
        domain.check("the domain")
        self.domain = domain
        space_dim = domain.dim - 1 if isinstance(domain, SpaceTime) else domain.dim
        if inputs is None:
            inputs = DEFAULT_INPUTS[:space_dim] + (("t",) if isinstance(domain, SpaceTime) else ())
        self.inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        self.outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
        if len(self.inputs) != domain.dim:
            raise SirenError(f"{len(self.inputs)} input names {self.inputs} for a domain of dimension {domain.dim}")
        self.space = self.inputs[:space_dim]
        self.lo, self.hi = np.array(domain.lo, float), np.array(domain.hi, float)     # the network's box
        for k, (a, b) in (box or {}).items():
            if k not in self.inputs or not (np.isfinite(a) and np.isfinite(b) and b > a):
                raise SirenError(f"box {k!r}: ({a}, {b}) must be an interval hi > lo of an input "
                                 f"({', '.join(self.inputs)})")
            self.lo[self.inputs.index(k)], self.hi[self.inputs.index(k)] = a, b
        unknowns = dict(unknowns or {})
        self.parameters = {k: u for k, u in unknowns.items() if isinstance(u, Parameter)}
        self.fields = {k: u for k, u in unknowns.items() if isinstance(u, Field)}
        if len(self.parameters) + len(self.fields) != len(unknowns):
            raise SirenError("unknowns must be Parameter or Field objects (siren.problem)")
        names = [*self.inputs, *self.outputs, *unknowns]
        for n in names:
            if not n.isidentifier() or n in RESERVED or names.count(n) > 1:
                raise SirenError(f"name {n!r} is not usable: names of inputs, outputs and unknowns must be distinct "
                                 f"identifiers other than {', '.join(sorted(RESERVED))}")
        for k, f in self.fields.items():
            missing = [i for i in f.inputs if i not in self.inputs]
            if missing:
                raise SirenError(f"unknown field {k!r} depends on {missing}, which are no inputs ({self.inputs})")
        self.constraints = dict(constraints or {})
        if not self.constraints:
            raise SirenError("a problem needs at least one constraint (constraints={'pde': Residual(...)})")
        for k, c in self.constraints.items():
            if not isinstance(c, Constraint):
                raise SirenError(f"constraint {k!r} is a {type(c).__name__}, not a siren.problem constraint")
        self.hard = {k: (h if isinstance(h, Hard) else Hard(*h)) for k, h in (hard or {}).items()}
        for k, h in self.hard.items():
            if k not in self.outputs:
                raise SirenError(f"hard constraint on {k!r}, which is no output ({', '.join(self.outputs)})")
            h.bind(self)
        if balance not in BALANCE:
            raise SirenError(f"unknown balance {balance!r} (choose None or 'gradnorm')")
        self.balance, self.balance_every = balance, balance_every
        self.hints = dict(hints or {})       # model hints (siren.models), e.g. {"first_omega_0": 3.0}
        self.requests, self.fixed_points, self.weights = {}, {}, {k: 1.0 for k in self.constraints}

    def to_dict(self) -> dict:
        """What a run folder stores so `siren.load` works without problem.py."""
        return {"inputs": list(self.inputs), "outputs": list(self.outputs), "lo": self.lo.tolist(),
                "hi": self.hi.tolist(), "domain": self.domain.to_dict(),
                "hard": {k: h.describe() for k, h in self.hard.items()},
                "fields": {k: {"inputs": list(f.inputs), "spec": f.model.spec if f.model is not None else None}
                           for k, f in self.fields.items()},
                "parameters": list(self.parameters)}

    # before training --------------------------------------------------------------------------------------------
    def point_sets(self, name: str, gen: torch.Generator | None, seed: int = 0, n: int | None = None,
                   step: int = 0):
        """The point sets of a constraint for one step: [(x (N, d) float64, normals or None, data {name: (N,
        ...)})]."""
        c = self.constraints[name]
        n = n or c.points
        if callable(c.sampler):
            x, normal, data = call_sampler(c.sampler, n, gen, step, name)
        elif c.sampler == "random" or isinstance(c, Observation):
            x, normal, data = draw(self.domain, c.on, n, gen)
        else:
            if name not in self.fixed_points:
                self.fixed_points[name] = fixed(self.domain, c.on, n, c.sampler, seed)
            x, normal, data = self.fixed_points[name]
        if isinstance(c, Periodic):
            if c.axis not in self.inputs:
                raise SirenError(f"constraint {name!r}: periodic along {c.axis!r}, which is no input "
                                 f"({', '.join(self.inputs)})")
            a = self.inputs.index(c.axis)
            lo, hi = x.clone(), x.clone()
            lo[:, a], hi[:, a] = self.domain.lo[a], self.domain.hi[a]
            return [(lo, None, data), (hi, None, data)]
        return [(x, normal, data)]

    def compile(self, seed: int = 0) -> None:
        """Build the fields, dry-run each constraint (see the module docstring)."""
        for k, f in self.fields.items():
            if f.model is None:
                f.build(seed)
        gen = torch.Generator().manual_seed(seed)
        read = set()
        for name, c in self.constraints.items():
            small = callable(c.sampler) or c.sampler == "random"
            sets = self.point_sets(name, gen, seed, n=min(c.points, 8) if small else None)
            recorders = [Recorder(self, x) for x, _, _ in sets]
            views = [self.view_of(r, normal, name, data) for r, (_, normal, data) in zip(recorders, sets)]
            try:
                result = c.compute(views)
            except SirenError:                    # already one line naming the constraint
                raise
            except Exception as e:                # the user's code failed: name the constraint
                raise SirenError(f"constraint {name!r} failed on a dry run: {type(e).__name__}: {e}") from None
            n = len(sets[0][0])
            if not torch.is_tensor(result) or result.dim() not in (1, 2) or result.shape[0] != n:
                shape = tuple(result.shape) if torch.is_tensor(result) else type(result).__name__
                raise SirenError(f"constraint {name!r} returns {shape}, not a tensor of shape (N,) or (N, k) with "
                                 f"one row per point (N = {n})")
            needs = {}
            for r in recorders:
                read |= r.parameters_read | {k for k in r.needs if k != "solution"}
                for net, nd in r.needs.items():
                    if net in needs:
                        needs[net].merge(nd)
                    else:
                        needs[net] = nd
            self.requests[name] = {net: nd.request(2 / (self.hi[self.axes_of(net)] - self.lo[self.axes_of(net)]),
                                                   transformed=net == "solution" and bool(self.hard))
                                   for net, nd in needs.items()}
        unused = [k for k in [*self.parameters, *self.fields] if k not in read]
        if unused:
            raise SirenError(f"unknown {unused[0]!r} is read by no constraint (use it in a residual, or drop it)")

    # each step ------------------------------------------------------------------------------------------------
    def residual(self, name: str, models: dict, sets, dtype, device) -> torch.Tensor:
        """The residual of one constraint on its point sets -> (N,) or (N, k) (real or complex)."""
        from .live import Live
        views = []
        for x, normal, data in sets:
            x = x.to(device=device, dtype=dtype)
            live = Live(self, x, models, self.requests[name])
            views.append(self.view_of(live, None if normal is None else normal.to(x), name,
                                      {k: v.to(device) for k, v in data.items()}))
        return self.constraints[name].compute(views)

    def terms(self, models: dict, gen: torch.Generator, seed: int = 0, check: bool = False,
              shard: tuple[int, int] = (0, 1), step: int = 0) -> dict:
        """{constraint: (mean residual^2 (0-dim), weight)} for one step. shard (rank, world): this process's
        contiguous block of every point set (all ranks draw the same points), its mean weighed by its share
        (block size x world / N), so that the ranks' averaged gradients are those of the whole batch. step: the
        steps taken so far (for callable samplers)."""
        p = next(models["solution"].parameters())
        out = {}
        for name, c in self.constraints.items():
            sets = (c.adaptive.sets(self, name, models, gen, step) if c.adaptive is not None   # siren.problem.adaptive
                    else self.point_sets(name, gen, seed, step=step))
            share = 1.0
            if shard[1] > 1:
                n = len(sets[0][0])
                block = distributed.shard(n, *shard)
                part = slice(block.start, block.stop)
                sets = [(x[part], None if nr is None else nr[part], {k: v[part] for k, v in data.items()})
                        for x, nr, data in sets]
                share = len(block) * shard[1] / n
            r = self.residual(name, models, sets, p.dtype, p.device)
            r = r.abs() if r.is_complex() else r
            term = ((r ** 2).mean() * share).to(p.dtype) if len(r) else (r.sum() * 0.0)
            if getattr(c, "flood", False):        # |L - noise^2| + noise^2, L the whole batch's mean over ranks
                whole = term.detach().reshape(1).clone()
                whole = distributed.mean(whole, shard[1]) if shard[1] > 1 else whole
                level = c.noise ** 2
                term = torch.sign(whole[0] - level) * (term - level) + level
            if c.causal is not None:                                           # siren.problem.causal
                term = c.causal.term(name, r, sets[0][0], self.domain, shard)
            if check and not bool(torch.isfinite(term)):
                raise SirenError(f"constraint {name!r} gives NaN or infinity at its points (check the residual's "
                                 "divisions and logarithms, and the values it compares with)")
            out[name] = (term, c.weight * self.weights[name])
        return out

    def rebalance(self, terms: dict, params: list, world_size: int = 1) -> None:
        """Gradient-norm weights (see the module docstring) from this step's terms. world_size > 1 (torchrun, each
        process a share of the points): each term's gradient is averaged over the processes first, so every
        process sets the weights of the whole batch."""
        norms = {}
        for k, (term, _) in terms.items():
            grads = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
            flat = torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads)])
            if world_size > 1:
                distributed.mean(flat, world_size)
            norms[k] = float(torch.sqrt((flat ** 2).sum() + 1e-30))
        mean = sum(norms.values()) / len(norms)
        for k, v in norms.items():
            self.weights[k] = 0.9 * self.weights[k] + 0.1 * mean / v
