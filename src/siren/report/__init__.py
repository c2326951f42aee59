"""HTML reports of run folders: one self-contained page per run, or one page that compares runs.

    write_report([run_a, run_b], Path("report.html"))   # runs grouped by task, side by side within a task
    run_report(run_dir)                                  # run_dir/report.html

A run folder is what `siren.train.run` writes (see `siren.tasks.base`): metrics.json and outputs.json are required,
config.json and metrics.jsonl are shown when present. The page never hard-codes a task's file names: every output
of outputs.json is shown by its kind (`media`):

    image, figure   <img>, the PNG (or JPEG/GIF/WebP/SVG) embedded as a base64 data: URI
    audio           <audio controls>, WAV/FLAC/OGG/MP3 embedded
    video           <video controls>, MP4/WebM embedded
    mesh            an interactive <canvas> viewer (report_assets/viewer.js, inline): the mesh (read with trimesh)
                    embedded as JSON (`siren.mesh.viewer_json`), decimated to at most MAX_MESH_FACES faces
    field, table, checkpoint, log   listed with their captions and sizes (linked by relative path, not embedded)

Nothing is fetched from the network when the page is opened: no CDN, no web fonts, CSS and JavaScript inline.
Size guard: a media file larger than MAX_EMBED_BYTES is not embedded but referenced by its path relative to the
report (so the page still shows it while the run folder sits beside the report).

Several runs of one task get a comparison table (`tables`: the best value per column in bold where metrics.json's
"goals" says whether higher ("max") or lower ("min") is better; no goal, no mark), loss and metric curves of every
run in one chart (`chart`, inline SVG), and the outputs side by side, one row per output path.

Modules: page (the page, write_report, run_report), runs (run folders read), tables, chart, media, text.
"""
from __future__ import annotations

from .media import MAX_EMBED_BYTES, MAX_MESH_FACES
from .page import run_report, write_report

__all__ = ["write_report", "run_report", "MAX_EMBED_BYTES", "MAX_MESH_FACES"]
