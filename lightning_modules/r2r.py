"""Recorrupted-to-Recorrupted (Pang, Zheng, Quan, Ji, CVPR 2021).

From one noisy image y = x + n, n ~ N(0, Sigma), build the pair (Eq. 7)
    y_hat = y + D^T z,   y_tilde = y - D^{-1} z,   z ~ N(0, Sigma).
Given x, the noises of y_hat and y_tilde are jointly Gaussian with zero cross-covariance, hence
independent, and (Theorem 1) E||f(y_hat) - y_tilde||^2 = E||f(y_hat) - x||^2 + const: training on
the pair is unbiased supervised training for inputs at the noise level of y_hat. Here D = alpha * I
(alpha = 0.5 for AWGN in the paper). Signal-dependent noise with variance beta1 * x + beta2
(Poisson, Poisson-Gaussian, a heteroscedastic sRGB model) scales z per pixel by the square root of
that variance with x estimated by y (Sec. 4.2). Inference (Eq. 9) averages the network over K
fresh recorruptions of the test image (K = 50 in the official test); a single pass on y is the
cheaper alternative.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from core.choices import check_choice
from core.recorruption import recorrupt, signal_dependent_std
from lightning_modules.base import Batch, DenoisingModule, Stage
from noise.estimation import estimate_heteroscedastic
from noise.parameters import per_image_parameter

NoiseKind = Literal["gaussian", "poisson", "poisson_gaussian", "heteroscedastic"]
Inference = Literal["mc", "single"]


class R2R(DenoisingModule):
    """Args:
    network: the denoiser (DnCNN-17 in the paper).
    alpha: D = alpha * I; 0.5 for AWGN.
    noise: ``gaussian`` (std sigma), ``poisson`` (variance x / lam), ``poisson_gaussian``
        (x / lam + sigma^2) or ``heteroscedastic`` (beta1 * x + beta2).
    sigma: Gaussian std on the 8-bit scale; when omitted, read per image from the batch (``sigma``).
    lam: Poisson photon count at intensity 1; when omitted, read from the batch (``lam``).
    beta1, beta2: heteroscedastic parameters on [0, 1] images; when omitted, estimated per image
        from the noisy image itself (``noise.estimation.estimate_heteroscedastic``).
    inference: ``mc`` averages ``mc_samples`` recorrupted passes (Eq. 9); ``single`` is one pass on y.
    mc_samples: K of the Monte-Carlo inference.
    val_inference: the inference used for validation during training (``single`` keeps it cheap).
    **kwargs: the ``DenoisingModule`` arguments (optimizer, scheduler, seed, ...).
    """

    def __init__(
        self,
        network: nn.Module,
        alpha: float = 0.5,
        noise: NoiseKind = "gaussian",
        sigma: float | None = None,
        lam: float | None = None,
        beta1: float | None = None,
        beta2: float | None = None,
        inference: Inference = "mc",
        mc_samples: int = 50,
        val_inference: Inference = "single",
        **kwargs,
    ) -> None:
        super().__init__(network, **kwargs)
        if alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        if mc_samples < 1:
            raise ValueError(f"mc_samples must be >= 1, got {mc_samples}")
        if (beta1 is None) != (beta2 is None):
            raise ValueError("give both beta1 and beta2, or neither (then they are estimated from each image)")
        self.alpha = alpha
        self.noise = check_choice("noise", noise, NoiseKind)
        self.sigma = sigma
        self.lam = lam
        self.beta1 = beta1
        self.beta2 = beta2
        self.inference = check_choice("inference", inference, Inference)
        self.mc_samples = mc_samples
        self.val_inference = check_choice("val_inference", val_inference, Inference)

    def _per_image(self, batch: Batch | None, key: str, configured: float | None, noisy: Tensor) -> Tensor:
        return per_image_parameter(key, configured, batch, noisy, type(self).__name__).reshape(-1, 1, 1, 1)

    def noise_std(self, noisy: Tensor, batch: Batch | None = None) -> Tensor:
        """The std that scales z: per image [B,1,1,1] for Gaussian noise, per pixel otherwise."""
        if self.noise == "gaussian":
            return self._per_image(batch, "sigma", self.sigma, noisy)
        if self.noise == "heteroscedastic":
            if self.beta1 is not None:
                return signal_dependent_std(noisy, self.beta1, self.beta2)
            betas = [estimate_heteroscedastic(image) for image in noisy.detach()]
            beta1 = torch.tensor([b[0] for b in betas], dtype=noisy.dtype, device=noisy.device)
            beta2 = torch.tensor([b[1] for b in betas], dtype=noisy.dtype, device=noisy.device)
            return signal_dependent_std(noisy, beta1.reshape(-1, 1, 1, 1), beta2.reshape(-1, 1, 1, 1))
        beta1 = 1.0 / self._per_image(batch, "lam", self.lam, noisy)
        beta2 = self._per_image(batch, "sigma", self.sigma, noisy) ** 2 if self.noise == "poisson_gaussian" else 0.0
        return signal_dependent_std(noisy, beta1, beta2)

    def training_loss(self, batch: Batch, generator: torch.Generator) -> Tensor:
        noisy = batch["noisy"]
        model_input, target = recorrupt(noisy, self.noise_std(noisy, batch), self.alpha, generator)
        return torch.mean((self.fit_network(model_input) - target) ** 2)

    def exported_network(self) -> tuple[nn.Module, str]:
        if self.inference == "single":
            return self.network, "the denoised image: one pass on the noisy image (inference: single)"
        return self.network, (
            f"one pass of the network; the paper's inference (Eq. 9) averages it over K = {self.mc_samples} "
            f"recorrupted copies y + alpha * z, z ~ N(0, sigma^2), alpha = {self.alpha} (lightning_modules/r2r.py)"
        )

    def denoise(
        self, noisy: Tensor, generator: torch.Generator | None = None, batch: Batch | None = None, stage: Stage = "test"
    ) -> Tensor:
        network = self.inference_network()
        if (self.val_inference if stage == "val" else self.inference) == "single":
            return network(noisy)
        if generator is None:
            generator = torch.Generator(device=noisy.device).manual_seed(self.seed)
        std = self.noise_std(noisy, batch)
        total = torch.zeros_like(noisy)
        for _ in range(self.mc_samples):
            model_input, _ = recorrupt(noisy, std, self.alpha, generator)
            total += network(model_input)
        return total / self.mc_samples
