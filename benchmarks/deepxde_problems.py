"""The examples of examples/problems posed in DeepXDE 1.15 (PyTorch backend) with its documented defaults: a tanh
MLP (Glorot normal), Adam at 1e-3 (constant), reverse-mode derivatives (`dde.grad`), training points drawn once
(its default Hammersley set); the example's point counts, loss weights and hard constraints (as DeepXDE output
transforms); scored against the same references as `benchmarks/problems.py`. Run in a process of its own:

    DDE_BACKEND=pytorch python benchmarks/deepxde_problems.py burgers --steps 3000 [--width 64 --depth 3]

prints one JSON line: {"example", "score", "seconds", "seconds_per_step", "steps"}. A benchmark-only dependency
(`pip install siren-inr[bench]`); nothing in src/ or tests/ imports DeepXDE.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("DDE_BACKEND", "pytorch")
import deepxde as dde  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def burgers(c):
    nu = 0.01 / math.pi
    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))

    def pde(x, y):
        return (dde.grad.jacobian(y, x, i=0, j=1) + y * dde.grad.jacobian(y, x, i=0, j=0)
                - nu * dde.grad.hessian(y, x, i=0, j=0))
    bcs = [dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on: on),
           dde.icbc.IC(geom, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on: on)]
    data = dde.data.TimePDE(geom, pde, bcs, num_domain=c["pde"].points, num_boundary=c["walls"].points,
                            num_initial=c["initial"].points)
    return data, [1, c["walls"].weight, c["initial"].weight], None


def wave(c):
    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(0, 1), dde.geometry.TimeDomain(0, 1))

    def pde(x, y):
        return dde.grad.hessian(y, x, i=1, j=1) - dde.grad.hessian(y, x, i=0, j=0)
    u0 = lambda x: np.sin(np.pi * x[:, 0:1]) + 0.5 * np.sin(3 * np.pi * x[:, 0:1])  # noqa: E731
    bcs = [dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on: on),
           dde.icbc.IC(geom, u0, lambda _, on: on),
           dde.icbc.OperatorBC(geom, lambda x, y, _: dde.grad.jacobian(y, x, i=0, j=1),
                               lambda x, _: np.isclose(x[1], 0))]
    data = dde.data.TimePDE(geom, pde, bcs, num_domain=c["pde"].points, num_boundary=c["ends"].points,
                            num_initial=c["value"].points)
    return data, [1, c["ends"].weight, c["value"].weight, c["velocity"].weight], None


def heat_lshape(c):
    plate = dde.geometry.Rectangle([-1, -1], [1, 1]) - dde.geometry.Rectangle([0, 0], [1, 1])
    geom = dde.geometry.GeometryXTime(plate, dde.geometry.TimeDomain(0, 0.5))

    def pde(x, y):
        return (dde.grad.jacobian(y, x, i=0, j=2) - 0.25 * (dde.grad.hessian(y, x, i=0, j=0)
                                                            + dde.grad.hessian(y, x, i=1, j=1)) - 1.0)
    data = dde.data.TimePDE(geom, pde, [dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on: on)],
                            num_domain=c["pde"].points, num_boundary=c["walls"].points)
    return data, [1, c["walls"].weight], lambda x, y: x[:, 2:3] * y          # u = t N, as the example


def poisson_hole(c):
    plate = dde.geometry.Rectangle([-1, -1], [1, 1]) - dde.geometry.Disk([0, 0], 0.3)

    def pde(x, y):
        return dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1) + 1.0
    hole = dde.icbc.NeumannBC(plate, lambda x: 0, lambda x, on: on and np.linalg.norm(x) < 0.5)
    data = dde.data.PDE(plate, pde, [hole], num_domain=c["pde"].points,    # a difference's boundary points:
                        num_boundary=2 * c["hole"].points)                # half on each part (495 of 1000 here)
    return data, [1, c["hole"].weight], lambda x, y: (1 - x[:, 0:1] ** 2) * (1 - x[:, 1:2] ** 2) * y


def cavity(c):
    square, re = dde.geometry.Rectangle([0, 0], [1, 1]), 100.0

    def pde(x, y):
        u, v = y[:, 0:1], y[:, 1:2]
        d = {(k, i): dde.grad.jacobian(y, x, i=k, j=i) for k in range(3) for i in range(2)}
        lap = [dde.grad.hessian(y, x, component=k, i=0, j=0) + dde.grad.hessian(y, x, component=k, i=1, j=1)
               for k in range(2)]
        return [u * d[0, 0] + v * d[0, 1] + d[2, 0] - lap[0] / re, u * d[1, 0] + v * d[1, 1] + d[2, 1] - lap[1] / re,
                d[0, 0] + d[1, 1]]
    lid = lambda x, on: on and np.isclose(x[1], 1)  # noqa: E731
    walls = lambda x, on: on and not np.isclose(x[1], 1)  # noqa: E731
    bcs = [dde.icbc.DirichletBC(square, lambda x: 1, lid, component=0),
           dde.icbc.DirichletBC(square, lambda x: 0, lid, component=1),
           dde.icbc.DirichletBC(square, lambda x: 0, walls, component=0),
           dde.icbc.DirichletBC(square, lambda x: 0, walls, component=1)]
    data = dde.data.PDE(square, pde, bcs, num_domain=c["ns"].points,
                        num_boundary=c["lid_u"].points + c["wall_u"].points)
    return data, [1, 1, 1, c["lid_u"].weight, c["lid_v"].weight, c["wall_u"].weight, c["wall_v"].weight], None


def inverse_k(c, sensors, values):
    """u and k as the two outputs of one network (DeepXDE's inverse examples' way)."""
    line = dde.geometry.Interval(0, 1)

    def pde(x, y):
        return 0.01 * dde.grad.hessian(y, x, component=0) - y[:, 1:2] * y[:, 0:1] - torch.sin(2 * math.pi * x)
    bcs = [dde.icbc.DirichletBC(line, lambda x: 0, lambda _, on: on, component=0),
           dde.icbc.PointSetBC(sensors, values, component=0)]
    data = dde.data.PDE(line, pde, bcs, num_domain=c["pde"].points, num_boundary=c["ends"].points)
    return data, [1, c["ends"].weight, c["data"].weight], None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("example")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    dde.config.set_random_seed(args.seed)
    sys.path.insert(0, str(ROOT / "src"))
    from siren.tasks.solve import load_problem_file, reference_points
    problem, reference = load_problem_file(ROOT / "examples" / "problems" / f"{args.example}.py")
    c = problem.constraints
    if args.example == "inverse_k":
        obs = c["data"]
        data, weights, transform = inverse_k(c, obs.data.x, obs.values.numpy())
    else:
        data, weights, transform = globals()[args.example](c)
    outputs = len(problem.outputs) + (args.example == "inverse_k")
    net = dde.nn.FNN([len(problem.inputs)] + [args.width] * args.depth + [outputs], "tanh", "Glorot normal")
    if transform is not None:
        net.apply_output_transform(transform)
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3, loss_weights=weights)
    start = time.perf_counter()
    model.train(iterations=args.steps, display_every=args.steps, verbose=0)
    seconds = time.perf_counter() - start
    if args.example == "inverse_k":
        x = np.linspace(0, 1, 256)[:, None]
        truth = problem.fields["k"].truth(x)
        score = float(np.linalg.norm(model.predict(x)[:, 1] - truth) / np.linalg.norm(truth))
    else:
        errors = {}
        for name, (x, ref) in reference_points(problem, reference).items():
            u = model.predict(x)[:, problem.outputs.index(name)]
            errors[name] = ((np.abs(u - ref).max() / np.abs(ref).max()) if args.example == "cavity" else
                            float(np.linalg.norm(u - ref) / np.linalg.norm(ref)))
        score = float(max(errors.values()))
    print(json.dumps({"example": args.example, "score": score, "seconds": seconds,
                      "seconds_per_step": seconds / args.steps, "steps": args.steps}))


if __name__ == "__main__":
    main()
