"""siren: implicit neural representations with periodic activations (Sitzmann et al., NeurIPS 2020).

Subpackages: `siren.models` (networks, one registry), `siren.diff` (derivatives w.r.t. the input), `siren.data`
(signals in and out), `siren.tasks` (applications, one registry); `siren.train` runs any task.
"""
from . import data, diff, models, tasks
from .models import Siren, build_model

__all__ = ["Siren", "build_model", "data", "diff", "models", "tasks"]
__version__ = "0.1.0"
