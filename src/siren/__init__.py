"""siren: implicit neural representations with periodic activations (Sitzmann et al., NeurIPS 2020)."""
from .models import Siren, build_model

__all__ = ["Siren", "build_model"]
__version__ = "0.1.0"
