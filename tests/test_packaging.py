"""The release: `python -m build` makes an sdist and, from it, a wheel named siren-inr; the wheel installs in a fresh
virtual environment (dependencies resolved offline against this environment's packages, the project itself hidden)
and its `siren` command fits the demo image."""
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest

import siren

ROOT = Path(__file__).resolve().parents[1]
OWN = ("siren_inr", "__editable__.siren_inr", "siren-inr", "siren")


def _run(cmd, **kw):
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    return out


def test_sdist_and_wheel_named_and_versioned(dist):
    (sdist,) = dist.glob("siren_inr-*.tar.gz")
    (wheel,) = dist.glob("siren_inr-*-py3-none-any.whl")
    assert sdist.name == f"siren_inr-{siren.__version__}.tar.gz"
    names = tarfile.open(sdist).getnames()
    top = f"siren_inr-{siren.__version__}"
    for needed in ("LICENSE", "README.md", "pyproject.toml", "src/siren/__init__.py", "src/siren/report_assets"):
        assert any(n.startswith(f"{top}/{needed}") for n in names), needed
    import zipfile
    members = zipfile.ZipFile(wheel).namelist()
    meta = zipfile.ZipFile(wheel).read(f"{top}.dist-info/METADATA").decode()
    assert "Name: siren-inr" in meta and "License-Expression: MIT" in meta and "Classifier:" in meta
    assert any(m.startswith("siren/report_assets/") for m in members) and f"{top}.dist-info/licenses/LICENSE" in members


def test_wheel_installs_in_a_fresh_venv_and_runs(dist, tmp_path):
    (wheel,) = dist.glob("siren_inr-*.whl")
    # this environment's packages, less the project itself, stand in for an index (no download, no torch reinstall)
    deps = tmp_path / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(OWN) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])     # pip and setuptools come from deps
    py = venv / "bin" / "python"
    site = _run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    Path(site, "deps.pth").write_text(str(deps) + "\n")
    _run([py, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", str(wheel)])
    where = _run([py, "-c", "import siren; print(siren.__file__)"]).strip()
    assert where.startswith(site), where                     # the installed wheel, not the source tree
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    out = tmp_path / "run"
    _run([venv / "bin" / "siren", "fit", "image", "--demo", "cameraman", "--size", "32", "--steps", "2",
          "--no-progress", "--out", str(out)], env=env, cwd=tmp_path)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 2 and metrics["metrics"]["psnr"] > 0
