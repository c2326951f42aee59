"""Numerical reference solvers used to score neural PDE solutions (NumPy/SciPy arrays).

Common conventions (those of `siren.fields`, which holds the grid, speed models, sources and the PML): domain
[-1, 1]^2, grid linspace(-1, 1, n) per axis with endpoints, arrays indexed [ix, iy] (axis 0 = x, axis 1 = y; time
first for the wave equation), speed c, squared slowness m = 1/c^2, c in [0.1, 10]. Bad input raises
siren.errors.SirenError with a one-line message.

Helmholtz (helmholtz.py): (Laplacian + m k^2) u = f, time dependence e^{+i w t}, f a Gaussian of variance sigma2
(1e-4) and mass `amplitude`, PML of width 0.5 with e = 1 - i s/k, s = k a0 (d/L)^2 (absorbing in this convention),
u = 0 behind it. In a uniform medium u = G * f with G = (i/4) H0^(2)(k r), (Laplacian + k^2) G = +delta.
FWI (fwi.py): the reference geometry and data, and the adjoint-state baseline inversion.
Wave (wave.py): u_tt = c^2 Laplacian u, u(0) a Gaussian of std sigma (or any u0), u_t(0) = 0, u = 0 on the
border; leapfrog.
"""
from __future__ import annotations

from .helmholtz import background_field, helmholtz_closed_form, helmholtz_fd, helmholtz_solve
from .wave import wave_fdtd, wave_solve

__all__ = ["background_field", "helmholtz_closed_form", "helmholtz_fd", "helmholtz_solve", "wave_fdtd", "wave_solve"]
