"""Laine, Karras, Lehtinen, Aila, "High-Quality Self-Supervised Deep Image Denoising" (NeurIPS 2019).

A blind-spot network (``networks.BlindSpotUNet``) predicts a Gaussian prior N(mu_x, Sigma_x) of each
clean pixel from its neighbourhood alone. Training minimises the negative log-likelihood of the noisy
pixel under N(mu_x, Sigma_x + Sigma_n) (Eq. 4-5), where the noise covariance Sigma_n is

* Gaussian noise: sigma^2 I with sigma known (from the config or the batch), one learned global
  sigma, or a per-image sigma from a second network (``sigma_network``);
* Poisson noise, approximated as Gaussian with variance mu_x / lambda (lambda known or learned).

Denoising returns the posterior mean E[x | y] (Eq. 6), which brings back the information of the
centre pixel that the blind spot left out; ``inference: prior`` returns mu_x instead. The paper's
recipe: 256x256 crops, batch 4, Adam (0.9, 0.99) at 3e-4 with the ramped cosine schedule
(``lightning_modules.schedules.RampedCosineLR``), 500k steps.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from core.bayesian import (
    Covariance,
    gaussian_nll,
    isotropic,
    per_pixel_diagonal,
    posterior_mean,
    prior_channels,
    split_prior,
)
from core.choices import check_choice
from lightning_modules.base import Batch, Stage
from lightning_modules.pixel_shuffle import PixelShuffleDenoising
from noise.parameters import per_image_parameter

NoiseKind = Literal["gaussian", "poisson"]
NoiseLevel = Literal["known", "global", "per_image"]
Inference = Literal["posterior", "prior"]


class BlindSpot(PixelShuffleDenoising):
    """Args:
    network: a blind-spot network whose output has ``prior_channels(C, covariance)`` channels.
    noise: ``gaussian`` or ``poisson``.
    noise_level: ``known`` (config or batch), ``global`` (one learned value), ``per_image``
        (Gaussian only: ``sigma_network`` predicts sigma per image).
    sigma: known Gaussian std on the 8-bit scale (otherwise read from the batch); the initial value
        of a learned one.
    lam: known Poisson photon count at intensity 1 (otherwise from the batch); the initial value of a
        learned one.
    covariance: colour prior ``full`` (Cholesky factor, 6 parameters) or ``diagonal`` (3).
    inference: ``posterior`` (the posterior mean) or ``prior`` (mu_x).
    sigma_network: the per-image noise-level network (``networks.NoiseLevelNet``).
    **kwargs: ``pd_stride`` and the other pixel-shuffle options (``PixelShuffleDenoising``), and the
        ``DenoisingModule`` arguments.
    """

    def __init__(
        self,
        network: nn.Module,
        noise: NoiseKind = "gaussian",
        noise_level: NoiseLevel = "known",
        sigma: float | None = None,
        lam: float | None = None,
        covariance: Covariance = "full",
        inference: Inference = "posterior",
        sigma_network: nn.Module | None = None,
        **kwargs,
    ) -> None:
        super().__init__(network, **kwargs)
        check_choice("noise", noise, NoiseKind)
        check_choice("noise_level", noise_level, NoiseLevel)
        check_choice("covariance", covariance, Covariance)
        check_choice("inference", inference, Inference)
        if noise_level == "per_image" and (sigma_network is None or noise != "gaussian"):
            raise ValueError("noise_level: per_image needs Gaussian noise and a sigma_network (networks.NoiseLevelNet)")
        self.noise = noise
        self.noise_level = noise_level
        self.sigma = sigma
        self.lam = lam
        self.covariance = covariance
        self.inference = inference
        self.sigma_network = sigma_network
        if noise_level == "global":
            start = (sigma or 25.0) / 255.0 if noise == "gaussian" else (lam or 30.0)
            self.log_noise_param = nn.Parameter(torch.tensor(math.log(start)))

    @property
    def blind_inference(self) -> bool:
        return self.inference == "prior"  # the posterior mean reads the pixel's own noisy value

    # ---- noise ------------------------------------------------------------------------------
    def noise_covariance(self, noisy: Tensor, mean: Tensor, batch: Batch | None = None) -> Tensor:
        channels = noisy.shape[1]
        if self.noise == "gaussian":
            if self.noise_level == "known":
                sigma = per_image_parameter("sigma", self.sigma, batch, noisy, type(self).__name__)
            elif self.noise_level == "global":
                sigma = self.log_noise_param.exp().expand(len(noisy))
            else:
                sigma = self.sigma_network(noisy)
            return isotropic(sigma**2, channels)
        if self.noise_level == "known":
            lam = per_image_parameter("lam", self.lam, batch, noisy, type(self).__name__)
        else:
            lam = self.log_noise_param.exp().expand(len(noisy))
        return per_pixel_diagonal(mean.clamp(min=1e-3) / lam.reshape(-1, 1, 1, 1))

    # ---- method ------------------------------------------------------------------------------
    def prior(self, noisy: Tensor) -> tuple[Tensor, Tensor]:
        output = (self.fit_network if self.training else self.inference_network())(noisy)
        expected = prior_channels(noisy.shape[1], self.covariance)
        if output.shape[1] != expected:
            raise ValueError(
                f"the network returns {output.shape[1]} channels; a {noisy.shape[1]}-channel {self.covariance} prior "
                f"needs {expected} (set model.init_args.network.init_args.out_channels: {expected})"
            )
        return split_prior(output, noisy.shape[1], self.covariance)

    def training_loss(self, batch: Batch, generator: torch.Generator | None = None) -> Tensor:
        noisy = batch["noisy"]
        mean, prior_cov = self.prior(noisy)
        noise_cov = self.noise_covariance(noisy, mean, batch)
        return gaussian_nll(noisy, mean, prior_cov + noise_cov).mean()

    def denoise_both(self, noisy: Tensor, batch: Batch | None = None) -> tuple[Tensor, Tensor]:
        """(posterior mean, prior mean) from one network pass."""
        mean, prior_cov = self.prior(noisy)
        return posterior_mean(noisy, mean, prior_cov, self.noise_covariance(noisy, mean, batch)), mean

    def exported_network(self) -> tuple[nn.Module, str]:
        return self.network, (
            "the prior's mean (the first C channels; inference: prior) and its covariance parameters; the "
            "paper's posterior mean combines them with the noise level (lightning_modules/bayesian.py)"
        )

    def denoise(
        self, noisy: Tensor, generator: torch.Generator | None = None, batch: Batch | None = None, stage: Stage = "test"
    ) -> Tensor:
        if self.inference == "prior":
            return self.prior(noisy)[0]
        return self.denoise_both(noisy, batch)[0]
