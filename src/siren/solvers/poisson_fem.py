"""-Lap u = f on the square [-1, 1]^2 minus a centred disk of radius r, u = 0 on the square, du/dn = 0 on the
circle: quadratic finite elements (scikit-fem, the `test` extra) on a mesh mapped from polar coordinates (each ray
from the circle to the square cut into `radial` pieces, refined toward the circle."""
from __future__ import annotations

import numpy as np

__all__ = ["poisson_hole_fem"]


def poisson_hole_fem(r: float = 0.3, f: float = 1.0, radial: int = 48, angular: int = 256):
    """Returns u(points (N, 2)) -> (N,), the P2 solution interpolated (points inside the domain)."""
    import skfem
    from skfem.helpers import dot, grad
    theta = np.linspace(0, 2 * np.pi, angular, endpoint=False)
    d = np.stack([np.cos(theta), np.sin(theta)], -1)
    outer = d / np.abs(d).max(1, keepdims=True)                     # the ray's exit through the square
    s = (np.linspace(0, 1, radial + 1) ** 1.5)[:, None, None]
    pts = ((1 - s) * r * d[None] + s * outer[None]).reshape(-1, 2)
    k = np.arange(radial)[:, None] * angular + np.arange(angular)[None]
    kn = np.arange(radial)[:, None] * angular + (np.arange(angular)[None] + 1) % angular
    a, b, c, e = k.ravel(), kn.ravel(), (k + angular).ravel(), (kn + angular).ravel()
    tri = np.concatenate([np.stack([a, b, e]), np.stack([a, e, c])], 1)
    mesh = skfem.MeshTri(pts.T, tri)
    basis = skfem.Basis(mesh, skfem.ElementTriP2())

    @skfem.BilinearForm
    def laplace(u, v, _):
        return dot(grad(u), grad(v))

    @skfem.LinearForm
    def load(v, _):
        return f * v

    A, b = laplace.assemble(basis), load.assemble(basis)
    far = basis.get_dofs(lambda x: np.abs(x).max(0) > 1 - 1e-9)
    u = skfem.solve(*skfem.condense(A, b, D=far))
    # skfem's own point location is slow for many points: a cubic (Clough-Tocher) interpolant of the P2 values at
    # their nodes (spacing ~0.01) instead, within ~1e-5 of the FE solution away from the circle
    from scipy.interpolate import CloughTocher2DInterpolator
    probe = CloughTocher2DInterpolator(basis.doflocs.T, u)
    return lambda p: probe(np.asarray(p, float)[:, :2])
