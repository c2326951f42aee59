"""siren.report: the HTML of run reports, and headless Chromium opening one (skipped without a browser)."""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from siren import report
from siren.cli import main
from siren.errors import SirenError
from siren.report import media, run_report, write_report

TINY = ["--steps", "3", "--hidden-features", "8", "--hidden-layers", "1", "--log-every", "1", "--no-progress"]
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio",
                  "--window-size=1280,900"]


SDF_GOALS = {"chamfer": "min", "f_score": "max"}


def fake_sdf_run(folder: Path, mesh, metrics: dict | None = None, goals: dict | None = SDF_GOALS) -> Path:
    """A run folder of the run-folder contract for an SDF task holding `mesh` as mesh.ply, with these final
    `metrics` and `goals` in metrics.json (goals None: a folder written before metrics.json had them)."""
    folder.mkdir(parents=True)
    mesh.export(folder / "mesh.ply")
    history = [{"step": s, "loss": 3.0 / s, "sdf": 1e-3 / s, "eikonal": 0.01 / s,
                "weights": {"sdf": 3000.0, "eikonal": 50.0}, "chamfer": 0.02 / s, "time": 0.1 * s} for s in (1, 2, 3)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))
    (folder / "config.json").write_text(json.dumps({"model": {"name": "siren", "in_features": 3, "out_features": 1},
                                                    "train": {"steps": 3}, "task": {"task": "sdf"}}))
    summary = {"task": "sdf", "model": "siren", "steps": 3, "seconds": 0.3, "interrupted": False,
               "metrics": metrics or {"chamfer": 0.0067, "f_score": 0.81}}
    (folder / "metrics.json").write_text(json.dumps(summary if goals is None else {**summary, "goals": goals}))
    (folder / "outputs.json").write_text(json.dumps([
        {"path": "config.json", "kind": "log", "caption": "settings"},
        {"path": "metrics.jsonl", "kind": "log", "caption": "log steps"},
        {"path": "mesh.ply", "kind": "mesh", "caption": "the zero level set"},
        {"path": "metrics.json", "kind": "table", "caption": "final metrics"}]))
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Real run folders of a few steps: image (siren and relu), audio; and a fabricated SDF run (a torus)."""
    import trimesh
    from scipy.io import wavfile
    root = tmp_path_factory.mktemp("runs")
    t = np.arange(400) / 4000.0
    wavfile.write(root / "tone.wav", 4000, (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16))
    folders = {"siren": root / "image_siren", "relu": root / "image_relu", "audio": root / "audio"}
    for argv in (["fit", "image", "--demo", "cameraman", "--size", "16", "--out", str(folders["siren"])],
                 ["fit", "image", "--demo", "cameraman", "--size", "16", "--model", "relu", "--out",
                  str(folders["relu"])],
                 ["fit", "audio", str(root / "tone.wav"), "--out", str(folders["audio"])]):
        assert main(argv + TINY) == 0
    folders["sdf"] = fake_sdf_run(root / "sdf", trimesh.creation.torus(0.6, 0.25, major_sections=48, minor_sections=24))
    return folders


def data_uris(page: str, mime: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(rf'"data:{re.escape(mime)};base64,([A-Za-z0-9+/=]+)"', page)]


def test_comparison_report(runs, tmp_path):
    out = write_report([runs["siren"], runs["relu"], runs["audio"]], tmp_path / "sub" / "report.html")
    page = out.read_text()
    for name in ("image_siren", "image_relu", "audio"):
        assert name in page
    assert page.count("<h2") == 2                                         # fit image, fit audio
    table = re.search(r'<table class="comparison">(.*?)</table>', page, re.S).group(1)
    assert table.count("<tr>") == 3 and "image_siren" in table and "image_relu" in table and "audio" not in table
    psnr = {m: json.loads((runs[m] / "metrics.json").read_text())["metrics"]["psnr"] for m in ("siren", "relu")}
    winner = max(psnr, key=psnr.get)
    assert re.search(rf'<td class="num best">{psnr[winner]:.4g}</td>', table)
    assert page.count('class="compare"') >= 3                             # reconstruction, derivatives, psnr panels
    pngs = data_uris(page, "image/png")
    for m in ("siren", "relu"):
        assert (runs[m] / "reconstruction.png").read_bytes() in pngs
    assert data_uris(page, "audio/wav") == [(runs["audio"] / "reconstruction.wav").read_bytes()]
    assert "<svg" in page and "(log scale)" in page
    assert 'class="badge interrupted"' not in page
    assert not re.search(r'(src|href)="(https?:)?//|url\(|@import', page)   # nothing from the network


def best_cells(page: str) -> dict[str, list[str]]:
    """Column name -> the values marked best in the page's comparison table."""
    table = re.search(r'<table class="comparison">(.*?)</table>', page, re.S).group(1)
    cells = [re.findall(r'<t[hd]( class="num best")?[^>]*>(.*?)</t[hd]>', row)
             for row in re.findall(r"<tr>(.*?)</tr>", table)]
    return {name: [row[c][1] for row in cells[1:] if row[c][0]] for c, (_, name) in enumerate(cells[0])}


def test_best_value_by_metrics_goals(tmp_path):
    """The best value of a metric is marked by its goal in metrics.json, whatever its name ("rel_l2" min,
    "coverage" max: names no word list knew); a metric without a goal is not marked ("f_score", though its name
    says higher is better), nor one whose runs' goals disagree, nor anything in folders written before goals were
    recorded."""
    import trimesh
    mesh = trimesh.creation.icosphere(subdivisions=1)
    goals = {"rel_l2": "min", "coverage": "max"}
    runs = [fake_sdf_run(tmp_path / name, mesh, {"rel_l2": rel, "coverage": cover, "f_score": score}, goals)
            for name, rel, cover, score in [("a", 0.25, 0.5, 0.9), ("b", 0.125, 0.75, 0.7), ("c", 0.5, 0.25, 0.8)]]
    best = best_cells(write_report(runs, tmp_path / "report.html").read_text())
    assert best["rel_l2"] == ["0.125"] and best["coverage"] == ["0.75"]
    assert best["f_score"] == []
    odd = fake_sdf_run(tmp_path / "d", mesh, {"rel_l2": 0.0625, "coverage": 1.0, "f_score": 1.0}, {"rel_l2": "max"})
    best = best_cells(write_report([*runs, odd], tmp_path / "odd.html").read_text())
    assert best["rel_l2"] == [] and best["coverage"] == ["1"]
    old = [fake_sdf_run(tmp_path / f"old_{r.name}", mesh, json.loads((r / "metrics.json").read_text())["metrics"],
                        goals=None) for r in runs]
    assert not any(best_cells(write_report(old, tmp_path / "old.html").read_text()).values())


def test_interrupted_run_says_so(runs, tmp_path):
    run = tmp_path / "stopped"
    shutil.copytree(runs["siren"], run)
    summary = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**summary, "interrupted": True}))
    page = write_report([run, runs["relu"]], tmp_path / "report.html").read_text()
    assert page.count('class="badge interrupted"') == 2                  # comparison row and run card
    assert "<b>Interrupted</b> at step 3" in page


def test_run_report_and_size_guard(runs, tmp_path, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(runs["siren"], run)
    page = run_report(run).read_text()
    assert (run / "report.html").is_file() and "data:image/png;base64," in page
    monkeypatch.setattr(media, "MAX_EMBED_BYTES", 100)                    # every PNG over the limit: linked
    page = write_report([run], tmp_path / "report.html").read_text()
    assert 'src="run/derivatives.png"' in page and "data:image/png" not in page


def test_the_report_lists_itself_as_this_page(runs, tmp_path):
    """The report a run writes lists report.html among the run's files: as this page, not as missing (it did not
    exist yet when its list was made); a report written elsewhere lists the run's own report with its size."""
    page = (runs["siren"] / "report.html").read_text()
    assert re.search(r'>report\.html</a> <span class="muted">\(this page\)', page) and "(missing)" not in page
    page = write_report([runs["siren"]], tmp_path / "elsewhere.html").read_text()
    assert re.search(r'>report\.html</a> <span class="muted">\(\d+\.\d [kM]B\)', page), page


def test_mesh_is_embedded_and_decimated(tmp_path):
    import trimesh
    sphere = trimesh.creation.icosphere(subdivisions=6)                   # 81,920 faces
    page = run_report(fake_sdf_run(tmp_path / "sdf", sphere)).read_text()
    mesh = json.loads(re.search(r'<script type="application/json" id="mesh-0-0">(.*?)</script>', page).group(1))
    faces, vertices = np.reshape(mesh["faces"], (-1, 3)), np.reshape(mesh["vertices"], (-1, 3))
    assert 1000 < len(faces) <= report.MAX_MESH_FACES and faces.max() == len(vertices) - 1 and mesh["closed"]
    assert np.allclose(np.linalg.norm(vertices, axis=1), 1, atol=0.03)  # still the sphere, centred, unit radius
    assert '<canvas class="mesh-view" data-mesh="mesh-0-0"' in page and "decimated to" in page


def test_not_a_run_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SirenError, match=r"empty is not a run folder: metrics.json and outputs.json missing"):
        write_report([tmp_path / "empty"], tmp_path / "report.html")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "metrics.json").write_text("{}")
    with pytest.raises(SirenError, match=r"half is not a run folder: outputs.json missing"):
        run_report(tmp_path / "half")
    with pytest.raises(SirenError, match=r"nowhere is not a run folder: no such folder"):
        write_report([tmp_path / "nowhere"], tmp_path / "report.html")
    assert not (tmp_path / "report.html").exists()


@pytest.fixture(scope="module")
def chromium() -> tuple:
    """(selenium.webdriver, chromium path, chromedriver path), or the test is skipped saying what is missing."""
    try:
        from selenium import webdriver
    except ImportError:
        pytest.skip("browser test skipped: selenium is not installed (pip install selenium)")
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("browser test skipped: chromium or chromedriver not found "
                    "(apt-get install chromium chromium-driver)")
    return webdriver, browser, driver


@pytest.fixture
def browser(chromium, tmp_path):
    """Headless Chromium with a fresh profile, the network off and the console log recorded."""
    webdriver, binary, driver_path = chromium
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
    try:
        driver.set_script_timeout(30)
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                     "downloadThroughput": -1, "uploadThroughput": -1})
        yield driver
    finally:
        driver.quit()


def test_report_in_browser(browser, runs, tmp_path):
    """Chromium opens a report of an image comparison, an audio run and an SDF run: every image loaded, the audio
    has a duration, the mesh viewer drew and turns, no console errors, no network requests; saves a screenshot."""
    out = write_report([runs["siren"], runs["relu"], runs["audio"], runs["sdf"]], tmp_path / "report.html")
    browser.get(out.as_uri())
    loaded = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const wait = (el, ready, events) => ready(el) ? null :
            new Promise(r => events.forEach(e => el.addEventListener(e, r, {once: true})));
        const imgs = [...document.images], audios = [...document.querySelectorAll('audio')];
        Promise.all([...imgs.map(i => wait(i, x => x.complete, ['load', 'error'])),
                     ...audios.map(a => wait(a, x => x.readyState >= 1, ['loadedmetadata', 'error']))])
          .then(() => done({images: imgs.map(i => i.naturalWidth),
                            audio: audios.map(a => [a.duration, a.error && a.error.code]),
                            requests: performance.getEntriesByType('resource').map(e => e.name)}));""")
    assert len(loaded["images"]) >= 8 and all(w > 0 for w in loaded["images"]), loaded["images"]
    assert len(loaded["audio"]) == 1
    assert all(d is not None and 0 < d < 1e9 for d, _ in loaded["audio"]), loaded["audio"]  # finite, positive
    assert not [r for r in loaded["requests"] if not r.startswith(("data:", "file:"))], loaded["requests"]
    canvas = browser.find_element("css selector", "canvas.mesh-view")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    pixels = """const c = arguments[0], d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                const colours = new Set();
                for (let i = 0; i < d.length; i += 4) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
                return [colours.size, c.toDataURL()];"""
    colours, before = browser.execute_script(pixels, canvas)
    assert colours > 10, f"mesh canvas looks blank ({colours} colours)"
    time.sleep(0.5)
    assert browser.execute_script(pixels, canvas)[1] != before, "mesh viewer does not turn"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    browser.execute_script("window.scrollTo(0, 0)")
    shot = full_page_screenshot(browser, tmp_path / "report.png")
    if os.environ.get("SIREN_REPORT_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["SIREN_REPORT_SCREENSHOT"])


def full_page_screenshot(driver, path: Path) -> Path:
    """The whole page (not just the window) as a PNG, through the DevTools protocol."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
