"""--log tensorboard: TensorBoard's own reader parses the event file, with every scalar metrics.jsonl logged (same
steps, same values to float32) and the run's figures as images; without the flag no event file is written."""
import json

import pytest

from siren.cli import main
from siren.tensorboard import scalars

pytest.importorskip("tensorboard")


def test_event_file_holds_every_logged_scalar_and_the_figures(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    out = tmp_path / "run"
    assert main(["poisson", "--demo", "cameraman", "--size", "16", "--steps", "4", "--log-every", "2",
                 "--hidden-features", "16", "--hidden-layers", "1", "--no-progress", "--no-report",
                 "--log", "tensorboard", "--out", str(out)]) == 0
    events = EventAccumulator(str(out / "tensorboard"), size_guidance={"scalars": 0, "images": 0}).Reload()
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    expected = {}
    for record in records:
        for tag, value in scalars(record).items():
            expected.setdefault(tag, []).append((record["step"], value))
    assert "loss" in expected and "metrics/psnr" in expected
    assert any(t.startswith("loss/") for t in expected) and any(t.startswith("weights/") for t in expected)
    assert set(events.Tags()["scalars"]) == set(expected)
    for tag, points in expected.items():
        got = [(e.step, e.value) for e in events.Scalars(tag)]
        assert [s for s, _ in got] == [s for s, _ in points]
        assert [v for _, v in got] == pytest.approx([v for _, v in points], rel=1e-6)
    assert set(events.Tags()["images"]) == {p.stem for p in out.glob("*.png")} != set()


def test_no_flag_no_events_and_a_missing_sink_is_one_line(tmp_path, cli_error):
    out = tmp_path / "run"
    assert main(["fit", "image", "--demo", "cameraman", "--size", "12", "--steps", "1", "--no-progress",
                 "--no-report", "--out", str(out)]) == 0
    assert not (out / "tensorboard").exists()
    assert "invalid choice: 'wandb'" in cli_error(["fit", "image", "--demo", "cameraman", "--log", "wandb",
                                                    "--out", str(tmp_path / "x")])
