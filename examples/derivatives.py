"""Derivatives of a SIREN w.r.t. its input: checked against finite differences in a few lines.

    python examples/derivatives.py
"""
import torch

from siren import Siren, diff

torch.manual_seed(0)
model = Siren(2, 64, 2, 1).double()
x = torch.rand(5, 2, dtype=torch.float64) * 2 - 1
value, grad, lap = diff.value_and_derivatives(model, x, gradient=True, laplacian=True)

h = 1e-4
e = torch.eye(2, dtype=torch.float64) * h
fd_grad = torch.stack([(model(x + e[i]) - model(x - e[i])) / (2 * h) for i in range(2)], -1)
fd_lap = sum((model(x + e[i]) - 2 * model(x) + model(x - e[i])) / h ** 2 for i in range(2))
print("max |grad - finite diff|:", (grad - fd_grad).abs().max().item())
print("max |lap  - finite diff|:", (lap - fd_lap).abs().max().item())
