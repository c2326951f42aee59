"""2-D fields over [-1, 1]^2 shared by the reference solvers (`siren.solvers`) and the PDE tasks.

Conventions: grid linspace(-1, 1, n) per axis with endpoints, arrays indexed [ix, iy] (axis 0 = x, axis 1 = y),
points as (x, y) rows (N, 2); speed c in [0.1, 10] (units of the domain per unit time), squared slowness
m = 1/c^2. Bad input raises siren.errors.SirenError with a one-line message.

  grid     the grid, gridded fields read bilinearly (NumPy at points, torch `lookup`), a network on a grid
  speed    speed models: presets, .npy files, command-line values, `Speed` (c for the wave task)
  sources  source points and the Gaussian sources (Helmholtz right side, wave initial displacement)
  pml      the perfectly matched layer: width, strength, THE stretch e(t), the complex coordinate, the operator
"""
