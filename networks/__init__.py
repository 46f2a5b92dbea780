"""Plain ``nn.Module`` denoising networks: no Lightning, injected into methods by config."""

from networks.dncnn import DnCNN
from networks.unet import UNet

__all__ = ["DnCNN", "UNet"]
