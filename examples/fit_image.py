"""Fit a SIREN to an image with the Python API, then render it at 4x the resolution.

    python examples/fit_image.py            # writes runs/example_astronaut/
"""
from siren.data.image import demo_image, image_signal, resize_image, save_image
from siren.metrics import to_unit
from siren.rendering import render
from siren.launch import run
from siren.tasks import ImageFitTask
from siren.train import TrainConfig

image = resize_image(demo_image("astronaut"), 128)             # (128, 128, 3) in [0, 1]
task = ImageFitTask(image_signal(image))                            # coordinates in [-1, 1]^2 -> RGB in [-1, 1]
model, result, summary = run(task, "siren", TrainConfig(steps=300, lr=1e-4), "runs/example_astronaut", overwrite=True)
print(f"PSNR after {result.step} steps: {result.history[-1]['psnr']:.2f} dB")
save_image("runs/example_astronaut/render_512.png", to_unit(render(model, (512, 512))))
