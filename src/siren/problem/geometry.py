"""Domains in the user's units: primitives, set operations, products with time.

Every domain has a dimension d, a bounding box (lo (d,), hi (d,)), a signed distance `sdf(x)` (x (N, d) float64
tensor -> (N,), < 0 inside; exact for primitives, min / max combinations for set operations, so a bound of the true
distance there) and draws points:

    interior(n, gen)          (N, d) uniform in the domain (rejection from the box for set operations)
    boundary(n, gen)          (points (N, d), outward normals (N, d), part labels (N,) as indices into `parts`)

Boundary parts are named "<primitive>.<side>" ("outer.top", "hole.arc"); a primitive is named by `name=` (default
its kind). `A | B` union, `A - B` difference (the normals of B's boundary flip), `A & B` intersection; boundary
points of a primitive are kept where the composite holds the point just inside along the normal and not the
point just outside (so boundaries that coincide, as in an L-shape cut from a square, are handled).
`space * TimeInterval(t0, t1)` is a space-time domain (`siren.problem.time`).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import SirenError

__all__ = ["Domain", "Interval", "Rectangle", "Box", "Disk", "Ball", "Polygon", "Union", "Difference",
           "Intersection"]

DTYPE = torch.float64


def _uniform(n: int, lo, hi, gen) -> torch.Tensor:
    lo, hi = torch.as_tensor(lo, dtype=DTYPE), torch.as_tensor(hi, dtype=DTYPE)
    return lo + (hi - lo) * torch.rand(n, len(lo), generator=gen, dtype=DTYPE)


class Domain:
    """Base class: see the module docstring."""
    dim: int
    lo: np.ndarray
    hi: np.ndarray

    # set operations -------------------------------------------------------------------------------------------
    def __or__(self, other):
        return Union(self, other)

    def __sub__(self, other):
        return Difference(self, other)

    def __and__(self, other):
        return Intersection(self, other)

    def __mul__(self, other):
        from .time import SpaceTime, TimeInterval
        if not isinstance(other, TimeInterval):
            raise SirenError("a domain multiplies only a TimeInterval (space * TimeInterval(t0, t1))")
        return SpaceTime(self, other)

    # what subclasses provide ------------------------------------------------------------------------------------
    def sdf(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def primitives(self) -> list:
        """[(primitive, sign)]: the primitives whose boundaries bound this domain, sign -1 where normals flip."""
        raise NotImplementedError

    @property
    def parts(self) -> list[str]:
        """The names of the boundary parts, "<primitive>.<side>"."""
        return [f"{p.name}.{s}" for p, _ in self.primitives() for s in p.sides]

    def to_dict(self) -> dict:
        raise NotImplementedError

    # sampling ---------------------------------------------------------------------------------------------------
    def contains(self, x: torch.Tensor) -> torch.Tensor:
        return self.sdf(x) <= 0

    def interior(self, n: int, gen: torch.Generator | None = None) -> torch.Tensor:
        """n points uniform in the domain (rejection from the bounding box)."""
        out, have = [], 0
        for _ in range(1000):
            x = _uniform(max(2 * (n - have), 64), self.lo, self.hi, gen)
            x = x[self.contains(x)]
            out.append(x)
            have += len(x)
            if have >= n:
                return torch.cat(out)[:n]
        raise SirenError(f"{self.describe()} has (almost) no interior to sample (check its extent)")

    def boundary(self, n: int, gen: torch.Generator | None = None):
        """n boundary points -> (points (n, d), outward normals (n, d), part index (n,) into `parts`)."""
        prims = self.primitives()
        sizes = np.array([p.perimeter() for p, _ in prims], float)
        if not sizes.sum() > 0:
            raise SirenError(f"{self.describe()} has no boundary to sample")
        eps = 1e-7 * max(1.0, float(np.max(self.hi - self.lo)))
        offsets = np.cumsum([0] + [len(p.sides) for p, _ in prims])
        pts, nrm, lab, have = [], [], [], 0
        for _ in range(1000):
            want = max(2 * (n - have), 64)
            counts = torch.multinomial(torch.as_tensor(sizes / sizes.sum()), want, replacement=True,
                                       generator=gen).bincount(minlength=len(prims))
            for k, ((p, sign), m) in enumerate(zip(prims, counts.tolist())):
                if m == 0:
                    continue
                x, nx, side = p.boundary_points(m, gen)
                nx = sign * nx
                keep = self.contains(x - eps * nx) & ~self.contains(x + eps * nx)
                pts.append(x[keep])
                nrm.append(nx[keep])
                lab.append(side[keep] + int(offsets[k]))
                have += int(keep.sum())
            if have >= n:
                perm = torch.randperm(have, generator=gen)[:n]
                return torch.cat(pts)[perm], torch.cat(nrm)[perm], torch.cat(lab)[perm]
        raise SirenError(f"{self.describe()} has (almost) no boundary left after its set operations")

    def describe(self) -> str:
        return f"{type(self).__name__} {self.to_dict()}"

    def check(self, what: str = "domain") -> None:
        """SirenError when the domain has zero measure (a flat box, or nothing left after set operations)."""
        if not np.all(self.hi - self.lo > 0):
            raise SirenError(f"{what} has zero measure: its box is {self.lo.tolist()}..{self.hi.tolist()} "
                             "(give every axis a positive extent)")
        x = _uniform(4096, self.lo, self.hi, torch.Generator().manual_seed(0))
        if not bool(self.contains(x).any()):
            raise SirenError(f"{what} has zero measure: no point of its box lies inside "
                             "(check the set operations)")


class Primitive(Domain):
    """A domain with its own boundary: sides (names), perimeter() and boundary_points(n, gen)."""
    sides: tuple[str, ...] = ("boundary",)
    kind = "primitive"

    def primitives(self) -> list:
        return [(self, 1.0)]

    def perimeter(self) -> float:
        raise NotImplementedError

    def boundary_points(self, n: int, gen):
        raise NotImplementedError


class Rectangle(Primitive):
    """The box lo <= x <= hi in any dimension (d = len(lo)). Sides: in 1-D "left", "right"; in 2-D "left",
    "right", "bottom", "top" (x = lo, x = hi, y = lo, y = hi); in 3-D also "front", "back" (z = lo, hi)."""
    kind = "rectangle"

    def __init__(self, lo, hi, name: str | None = None):
        self.lo, self.hi = np.asarray(lo, float).reshape(-1), np.asarray(hi, float).reshape(-1)
        if self.lo.shape != self.hi.shape:
            raise SirenError(f"box corners {self.lo.tolist()} and {self.hi.tolist()} differ in dimension")
        self.dim, self.name = len(self.lo), name or self.kind
        names = [("left", "right"), ("bottom", "top"), ("front", "back")]
        self.sides = tuple(s for i in range(self.dim) for s in (names[i] if i < 3 else (f"lo{i}", f"hi{i}")))
        self.check(f"{self.kind} {self.name!r}")

    def sdf(self, x):
        lo, hi = torch.as_tensor(self.lo, dtype=x.dtype), torch.as_tensor(self.hi, dtype=x.dtype)
        c, h = (lo + hi) / 2, (hi - lo) / 2
        q = (x - c).abs() - h
        return q.clamp(min=0).norm(dim=-1) + q.max(dim=-1).values.clamp(max=0)

    def _face_sizes(self) -> np.ndarray:
        ext = self.hi - self.lo
        return np.array([np.prod(np.delete(ext, i)) for i in range(self.dim) for _ in (0, 1)])

    def perimeter(self) -> float:
        return float(self._face_sizes().sum())

    def boundary_points(self, n, gen):
        sizes = torch.as_tensor(self._face_sizes())
        face = torch.multinomial(sizes / sizes.sum(), n, replacement=True, generator=gen)
        x = _uniform(n, self.lo, self.hi, gen)
        axis, upper = face // 2, (face % 2).bool()
        rows = torch.arange(n)
        x[rows, axis] = torch.where(upper, torch.as_tensor(self.hi)[axis], torch.as_tensor(self.lo)[axis])
        normal = torch.zeros(n, self.dim, dtype=DTYPE)
        normal[rows, axis] = torch.where(upper, 1.0, -1.0).to(DTYPE)
        return x, normal, face

    def to_dict(self):
        return {"kind": self.kind, "lo": self.lo.tolist(), "hi": self.hi.tolist(), "name": self.name}


class Interval(Rectangle):
    """[a, b] (1-D). Sides "left" (x = a, normal -1) and "right" (x = b, normal +1)."""
    kind = "interval"

    def __init__(self, a: float, b: float, name: str | None = None):
        super().__init__([a], [b], name)

    def interior(self, n, gen=None):
        return _uniform(n, self.lo, self.hi, gen)


Box = Rectangle


class Disk(Primitive):
    """The ball |x - center| <= radius in d = len(center) dimensions (2: a disk, 3: a ball). Side "arc"."""
    kind = "disk"
    sides = ("arc",)

    def __init__(self, center, radius: float, name: str | None = None):
        self.center, self.radius = np.asarray(center, float).reshape(-1), float(radius)
        self.dim, self.name = len(self.center), name or self.kind
        self.lo, self.hi = self.center - self.radius, self.center + self.radius
        if not self.radius > 0:
            raise SirenError(f"{self.kind} {self.name!r} has zero measure: radius {radius} (give a positive radius)")

    def sdf(self, x):
        return (x - torch.as_tensor(self.center, dtype=x.dtype)).norm(dim=-1) - self.radius

    def perimeter(self) -> float:
        d = self.dim
        return 2 * math.pi ** (d / 2) / math.gamma(d / 2) * self.radius ** (d - 1)

    def boundary_points(self, n, gen):
        g = torch.randn(n, self.dim, generator=gen, dtype=DTYPE)
        normal = g / g.norm(dim=-1, keepdim=True)
        return torch.as_tensor(self.center) + self.radius * normal, normal, torch.zeros(n, dtype=torch.long)

    def to_dict(self):
        return {"kind": self.kind, "center": self.center.tolist(), "radius": self.radius, "name": self.name}


Ball = Disk


class Polygon(Primitive):
    """A simple polygon given by its vertices (V, 2) in order (either orientation). Sides "edge0", "edge1", ...
    (edge i from vertex i to vertex i + 1)."""
    kind = "polygon"

    def __init__(self, vertices, name: str | None = None):
        v = np.asarray(vertices, float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise SirenError(f"a polygon needs (V >= 3, 2) vertices, got shape {v.shape}")
        area = 0.5 * np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1])
        if abs(area) < 1e-12:
            raise SirenError(f"polygon {name or self.kind!r} has zero measure (area 0: check its vertices)")
        self.vertices = v if area > 0 else v[::-1].copy()          # counter-clockwise
        self.dim, self.name = 2, name or self.kind
        self.lo, self.hi = v.min(0), v.max(0)
        self.sides = tuple(f"edge{i}" for i in range(len(v)))

    def _edges(self, dtype):
        a = torch.as_tensor(self.vertices, dtype=dtype)
        return a, torch.roll(a, -1, 0) - a

    def sdf(self, x):
        a, e = self._edges(x.dtype)
        w = x[:, None, :] - a[None]                                         # (N, V, 2)
        t = ((w * e).sum(-1) / (e * e).sum(-1)).clamp(0, 1)
        dist = (w - t[..., None] * e).norm(dim=-1).min(dim=1).values
        ya, yb = a[:, 1], a[:, 1] + e[:, 1]
        crosses = (ya[None] > x[:, 1:2]) != (yb[None] > x[:, 1:2])
        xint = a[:, 0] + (x[:, 1:2] - ya) / torch.where(e[:, 1] == 0, 1e-300, e[:, 1]) * e[:, 0]
        inside = ((crosses & (x[:, 0:1] < xint)).sum(1) % 2) == 1
        return torch.where(inside, -dist, dist)

    def perimeter(self) -> float:
        return float(np.linalg.norm(np.roll(self.vertices, -1, 0) - self.vertices, axis=1).sum())

    def boundary_points(self, n, gen):
        a, e = self._edges(DTYPE)
        lengths = e.norm(dim=-1)
        edge = torch.multinomial(lengths / lengths.sum(), n, replacement=True, generator=gen)
        t = torch.rand(n, 1, generator=gen, dtype=DTYPE)
        x = a[edge] + t * e[edge]
        normal = torch.stack([e[edge, 1], -e[edge, 0]], -1) / lengths[edge, None]   # right of a CCW edge: outward
        return x, normal, edge

    def to_dict(self):
        return {"kind": self.kind, "vertices": self.vertices.tolist(), "name": self.name}


class _SetOp(Domain):
    op = ""

    def __init__(self, a: Domain, b: Domain):
        if a.dim != b.dim:
            raise SirenError(f"cannot combine domains of dimension {a.dim} and {b.dim}")
        self.a, self.b, self.dim = a, b, a.dim
        self.lo, self.hi = self._box()
        self.check(f"{self.op} of {a.describe()} and {b.describe()}")

    def _box(self):
        return np.minimum(self.a.lo, self.b.lo), np.maximum(self.a.hi, self.b.hi)

    def to_dict(self):
        return {"kind": self.op, "a": self.a.to_dict(), "b": self.b.to_dict()}

    def describe(self):
        return f"the {self.op}"


class Union(_SetOp):
    op = "union"

    def sdf(self, x):
        return torch.minimum(self.a.sdf(x), self.b.sdf(x))

    def primitives(self):
        return self.a.primitives() + self.b.primitives()


class Difference(_SetOp):
    op = "difference"

    def _box(self):
        return self.a.lo.copy(), self.a.hi.copy()

    def sdf(self, x):
        return torch.maximum(self.a.sdf(x), -self.b.sdf(x))

    def primitives(self):
        return self.a.primitives() + [(p, -s) for p, s in self.b.primitives()]


class Intersection(_SetOp):
    op = "intersection"

    def _box(self):
        return np.maximum(self.a.lo, self.b.lo), np.minimum(self.a.hi, self.b.hi)

    def sdf(self, x):
        return torch.maximum(self.a.sdf(x), self.b.sdf(x))

    def primitives(self):
        return self.a.primitives() + self.b.primitives()


def from_dict(spec: dict) -> Domain:
    """Rebuild a domain from `to_dict()` (what a run folder stores)."""
    from .time import SpaceTime, TimeInterval
    kind = spec["kind"]
    ops = {"union": Union, "difference": Difference, "intersection": Intersection}
    if kind in ops:
        return ops[kind](from_dict(spec["a"]), from_dict(spec["b"]))
    if kind == "spacetime":
        return SpaceTime(from_dict(spec["space"]), TimeInterval(*spec["time"]))
    if kind in ("rectangle", "interval"):
        return Rectangle(spec["lo"], spec["hi"], spec["name"]) if kind == "rectangle" else \
            Interval(spec["lo"][0], spec["hi"][0], spec["name"])
    if kind == "disk":
        return Disk(spec["center"], spec["radius"], spec["name"])
    if kind == "polygon":
        return Polygon(spec["vertices"], spec["name"])
    raise SirenError(f"unknown domain kind {kind!r} in a stored problem")
