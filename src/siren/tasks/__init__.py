"""Applications, one module each, behind one contract (`siren.tasks.base.Task`) and one registry (REGISTRY: CLI
command name -> Task class). Importing this package registers every task."""
from . import edit, fit_audio, fit_image, fit_video, fwi, helmholtz, poisson, sdf
from .base import MAX_BATCH, OUTPUT_KINDS, REGISTRY, Output, Task, get_task, register
from .edit import EditTask
from .fit import SignalFitTask
from .fit_audio import AudioFitTask
from .fit_batch import BatchFitTask
from .fit_image import ImageFitTask
from .fit_video import VideoFitTask
from .fwi import FWITask
from .helmholtz import HelmholtzTask
from .poisson import PoissonTask
from .sdf import SDFTask
from .prior import PriorTask  # registers "prior train" (inpaint, interpolate: siren.commands.prior)
from . import meta
from .meta import MetaTask  # registers "meta train" (learned initializations; `--init RUN` on the fitting tasks)
from . import meta_sdf
from .meta_sdf import MetaSDFTask  # registers "meta sdf" (shape priors; `siren sdf SCAN --init RUN`)
from . import wave
from .wave import WaveTask

__all__ = ["Task", "Output", "OUTPUT_KINDS", "REGISTRY", "register", "get_task", "MAX_BATCH", "SignalFitTask",
           "ImageFitTask", "AudioFitTask", "VideoFitTask", "BatchFitTask", "PoissonTask", "EditTask", "SDFTask", "HelmholtzTask",
           "edit", "fit_audio", "fit_image", "fit_video", "helmholtz", "poisson", "sdf"]
__all__ += ["PriorTask", "prior"]
__all__ += ["MetaTask", "meta", "MetaSDFTask", "meta_sdf"]
__all__ += ["WaveTask", "wave"]
__all__ += ["FWITask", "fwi"]
from . import solve
from .solve import SolveTask  # registers "solve" (the user's problem: siren.problem)
__all__ += ["SolveTask", "solve"]
