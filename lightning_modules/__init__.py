"""One LightningModule per denoising method over the shared ``DenoisingModule`` base."""

from lightning_modules.base import DenoisingModule
from lightning_modules.blindspot import BlindSpot
from lightning_modules.neighbor2neighbor import Neighbor2Neighbor
from lightning_modules.noise2noise import Noise2Noise
from lightning_modules.noise2self import Noise2Self
from lightning_modules.noise2void import Noise2Void
from lightning_modules.r2r import R2R
from lightning_modules.supervised import Supervised
from lightning_modules.zsn2n import ZeroShotN2N

__all__ = [
    "BlindSpot",
    "DenoisingModule",
    "Neighbor2Neighbor",
    "ZeroShotN2N",
    "Noise2Noise",
    "Noise2Self",
    "Noise2Void",
    "R2R",
    "Supervised",
]
