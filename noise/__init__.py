"""Synthetic noise models. Strengths are given on the 8-bit scale (``sigma=25`` means 25/255 on [0, 1]
images); every model draws from an explicit ``torch.Generator`` so noise is reproducible."""

from noise.models import Gaussian, NoiseModel, Poisson, PoissonGaussian

__all__ = ["Gaussian", "NoiseModel", "Poisson", "PoissonGaussian"]
