"""Plain ``nn.Module`` denoising networks: no Lightning, injected into methods by config."""

from networks.blindspot import BlindSpotUNet
from networks.dncnn import DnCNN
from networks.noise_level import NoiseLevelNet
from networks.standardized import Standardized
from networks.unet import UNet

__all__ = ["BlindSpotUNet", "DnCNN", "NoiseLevelNet", "Standardized", "UNet"]
