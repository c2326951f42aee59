"""Taylor arithmetic: derivatives of elementwise functions composed from known pieces, and the stacked jets that
`siren.diff`'s forward mode propagates through a network.

1. `Taylor`: a value z with its derivatives (z, z', z'', z''') w.r.t. one scalar variable, elementwise. Sums,
   products (Leibniz) and the known functions below (Faa di Bruno to third order,
       (g o u)' = g'(u) u',  (g o u)'' = g''(u) u'^2 + g'(u) u'',
       (g o u)''' = g'''(u) u'^3 + 3 g''(u) u' u'' + g'(u) u''')
   compose, as the rules of JAX's Taylor-mode `jet` do. The functions `sin`, `cos`, `exp`, `tanh`, `sigmoid`,
   `absolute`, `reciprocal` take a tensor (plain torch op) or a Taylor (its rule), so ONE definition of an
   activation gives both its value and its derivatives (`siren.models.activations.Activation.fn`).
2. Stacked jets: a network's jet is one tensor S (K, N, w): S[0] = h, S[1:1+nj] = dh/dx_j, S[1+nj+k] = block k
   (a sum of Hessian entries over index pairs, `siren.diff.request`). An elementwise f with pre-activation z maps
       h' = f(z),  J'_j = f'(z) J_j,  B'_k = f'(z) B_k + f''(z) q_k,  q_k = sum over the pairs (i, j) of J_i J_j
   (`apply_elementwise`); modules that are not a linear map plus an elementwise function (the encodings) write
   their own rule with these helpers, as a method `jet(S, nj, blocks)`.
"""
from __future__ import annotations

import torch

__all__ = ["Taylor", "sin", "cos", "exp", "tanh", "sigmoid", "absolute", "reciprocal", "derivatives_of",
           "quad", "split", "apply_elementwise", "trig_jet"]

Pairs = tuple[tuple[int, int], ...]


class Taylor:
    """z and its derivatives w.r.t. one variable: terms = (z, z', ..., z^(order)), order <= 3; None stands for a
    term that is identically zero."""

    def __init__(self, terms):
        self.terms = tuple(terms)

    @classmethod
    def variable(cls, z: torch.Tensor, order: int) -> Taylor:
        """The variable itself: (z, 1, 0, 0) up to `order`."""
        return cls([z] + [torch.ones_like(z)] * min(order, 1) + [None] * max(order - 1, 0))

    @property
    def order(self) -> int:
        return len(self.terms) - 1

    def _lift(self, other) -> Taylor:
        return other if isinstance(other, Taylor) else Taylor([other] + [None] * self.order)

    def __add__(self, other):
        other = self._lift(other)
        return Taylor(_add(a, b) for a, b in zip(self.terms, other.terms))

    __radd__ = __add__

    def __neg__(self):
        return Taylor(None if a is None else -a for a in self.terms)

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if not isinstance(other, Taylor):
            return Taylor(None if a is None else a * other for a in self.terms)
        a, b = self.terms, other.terms
        binom = ((1,), (1, 1), (1, 2, 1), (1, 3, 3, 1))
        return Taylor(_sum(_mul(_mul(a[i], b[k - i]), binom[k][i]) for i in range(k + 1))
                      for k in range(self.order + 1))

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self * (reciprocal(other) if isinstance(other, Taylor) else 1.0 / other)

    def __rtruediv__(self, other):
        return reciprocal(self) * other

    def __pow__(self, n: int):
        if n != 2:
            raise ValueError("Taylor ** n is defined for n = 2 (write other powers as products)")
        return self * self

    def abs(self) -> Taylor:
        return absolute(self)


def _add(a, b):
    return b if a is None else a if b is None else a + b


def _mul(a, b):
    if a is None or b is None:
        return None
    return a * b


def _sum(terms):
    out = None
    for t in terms:
        out = _add(out, t)
    return out


def _chain(u: Taylor, g) -> Taylor:
    """g o u by Faa di Bruno; g: the list (g(u0), g'(u0), ..., g^(order)(u0))."""
    u0, *du = u.terms
    n = u.order
    out = [g[0]]
    if n >= 1:
        out.append(_mul(g[1], du[0]))
    if n >= 2:
        out.append(_add(_mul(g[2], _mul(du[0], du[0])), _mul(g[1], du[1])))
    if n >= 3:
        out.append(_sum([_mul(g[3], _mul(du[0], _mul(du[0], du[0]))), _mul(_mul(g[2], _mul(du[0], du[1])), 3),
                         _mul(g[1], du[2])]))
    return Taylor(out)


def _known(torch_fn, derivs):
    """A function of a tensor (torch_fn) or of a Taylor (its derivatives by `derivs(u0, order)` and Faa di
    Bruno)."""
    def fn(z):
        if isinstance(z, Taylor):
            return _chain(z, derivs(z.terms[0], z.order))
        return torch_fn(z)
    return fn


def _sin_derivs(u, n):
    s = torch.sin(u)
    c = torch.cos(u) if n else None
    return [s, c, -s, -c][:n + 1]


def _cos_derivs(u, n):
    c = torch.cos(u)
    s = torch.sin(u) if n else None
    return [c, None if s is None else -s, -c, s][:n + 1]


def _exp_derivs(u, n):
    e = torch.exp(u)
    return [e] * (n + 1)


def _tanh_derivs(u, n):
    t = torch.tanh(u)
    d1 = 1 - t * t
    return [t, d1, -2 * t * d1, d1 * (6 * t * t - 2)][:n + 1]


def _sigmoid_derivs(u, n):
    s = torch.sigmoid(u)
    d1 = s * (1 - s)
    return [s, d1, d1 * (1 - 2 * s), d1 * (1 - 6 * d1)][:n + 1]


def _abs_derivs(u, n):
    """|u|: derivative sign(u) (0 at u = 0, as autograd), higher ones zero."""
    return [u.abs(), torch.sign(u), None, None][:n + 1]


def _reciprocal_derivs(u, n):
    r = 1.0 / u
    return [r, -r * r, 2 * r * r * r, -6 * r * r * r * r][:n + 1]


sin = _known(torch.sin, _sin_derivs)
cos = _known(torch.cos, _cos_derivs)
exp = _known(torch.exp, _exp_derivs)
tanh = _known(torch.tanh, _tanh_derivs)
sigmoid = _known(torch.sigmoid, _sigmoid_derivs)
absolute = _known(torch.abs, _abs_derivs)
reciprocal = _known(torch.reciprocal, _reciprocal_derivs)


def derivatives_of(fn, z: torch.Tensor, order: int) -> tuple:
    """(f(z), f'(z), ..., f^(order)(z)) of an elementwise fn: by Taylor arithmetic when fn is written with the
    functions of this module and arithmetic, else (fn uses other torch ops) by nested forward-mode autodiff
    (`torch.func.jvp`); None for a term that is identically zero."""
    try:
        out = fn(Taylor.variable(z, order))
    except (TypeError, AttributeError):
        out = None
    if isinstance(out, Taylor):
        return tuple(torch.zeros_like(z) if t is None and k == 0 else t for k, t in enumerate(out.terms))
    terms, g = [fn(z)], fn
    for _ in range(order):
        g = _tangent(g)
        terms.append(g(z))
    return tuple(terms)


def _tangent(g):
    return lambda x: torch.func.jvp(g, (x,), (torch.ones_like(x),))[1]


# ---------------------------------------------------------------------------------------------------------------
# Stacked jets (K, N, w)
# ---------------------------------------------------------------------------------------------------------------

def quad(ZJ: torch.Tensor, pairs: Pairs, out: torch.Tensor | None = None) -> torch.Tensor:
    """q = sum over the pairs (i, j) of ZJ[i] * ZJ[j]  (ZJ: (d, ...) -> (...)), the f'' factor of a block."""
    (i, j), rest = pairs[0], pairs[1:]
    q = torch.mul(ZJ[i], ZJ[j], out=out)
    for i, j in rest:
        q.addcmul_(ZJ[i], ZJ[j])
    return q


def split(Z: torch.Tensor, nj: int, nb: int):
    """Stacked Z (1 + nj + nb, ...) -> (z0, ZJ (nj, ...) or None, ZB (nb, ...) or None) by one split, whose backward
    is one cat (a select or slice backward would zero-fill and copy the whole stack once per block). nb implies nj."""
    parts = Z.split([1] + ([nj] if nj else []) + ([nb] if nb else []))
    return parts[0][0], (parts[1] if nj else None), (parts[2] if nb else None)


def apply_elementwise(f0, f1, f2, ZJ, ZB, blocks):
    """Stacked output of an elementwise f given f(z0), f'(z0), f''(z0) (f2 None when f'' = 0) and the Jacobian and
    second-order blocks ZJ, ZB of the pre-activation (None when not propagated): the rule of the module docstring."""
    out = [f0[None]]
    if ZJ is not None:
        out.append(f1 * ZJ)
    if ZB is not None:
        B = f1 * ZB
        if f2 is not None:
            B = B + f2 * torch.stack([quad(ZJ, pairs) for pairs in blocks])
        out.append(B)
    return torch.cat(out, dim=0) if len(out) > 1 else out[0]


def trig_jet(Z: torch.Tensor, nj: int, blocks: tuple, cos: bool = True):
    """sin (and cos) of a stacked pre-activation Z, as stacked jets (sin' = cos, sin'' = -sin; cos' = -sin,
    cos'' = -cos)."""
    z, ZJ, ZB = split(Z, nj, len(blocks))
    s, c = torch.sin(z), torch.cos(z)
    out = apply_elementwise(s, c, -s, ZJ, ZB, blocks)
    return (out, apply_elementwise(c, -s, -c, ZJ, ZB, blocks)) if cos else out

