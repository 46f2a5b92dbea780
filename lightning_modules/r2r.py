"""Recorrupted-to-Recorrupted (Pang, Zheng, Quan, Ji, CVPR 2021).

From one noisy image y = x + n, n ~ N(0, Sigma), build the pair (Eq. 7)
    y_hat = y + D^T z,   y_tilde = y - D^{-1} z,   z ~ N(0, Sigma).
Given x, the noises of y_hat and y_tilde are jointly Gaussian with zero cross-covariance, hence
independent, and (Theorem 1) E||f(y_hat) - y_tilde||^2 = E||f(y_hat) - x||^2 + const: training on
the pair is unbiased supervised training for inputs at the noise level of y_hat. Here D = alpha * I
(alpha = 0.5 for AWGN in the paper). Signal-dependent noise with variance beta1 * x + beta2
(Poisson, Poisson-Gaussian, a heteroscedastic sRGB model) scales z per pixel by the square root of
that variance with x estimated by y (Sec. 4.2). Spatially and across-channel correlated noise (camera
sRGB after demosaicking) draws z with that covariance (``noise: correlated``, Sigma = C (x) R from
``noise.covariance``): Eq. 7 needs z ~ N(0, Sigma) with the noise's own Sigma, and white z would leave
the input's and the target's noises correlated. Inference (Eq. 9) averages the network over K
fresh recorruptions of the test image (K = 50 in the official test); a single pass on y is the
cheaper alternative.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from core.choices import check_choice
from core.recorruption import recorrupt_with, signal_dependent_std
from lightning_modules.base import Batch, DenoisingModule, Stage
from noise.covariance import NoiseCovariance, correlated_sampler
from noise.estimation import estimate_heteroscedastic
from noise.parameters import per_image_parameter

NoiseKind = Literal["gaussian", "poisson", "poisson_gaussian", "heteroscedastic", "correlated"]
Inference = Literal["mc", "single"]


class R2R(DenoisingModule):
    """Args:
    network: the denoiser (DnCNN-17 in the paper).
    alpha: D = alpha * I; 0.5 for AWGN.
    noise: ``gaussian`` (std sigma), ``poisson`` (variance x / lam), ``poisson_gaussian``
        (x / lam + sigma^2), ``heteroscedastic`` (beta1 * x + beta2) or ``correlated`` (stationary Gaussian
        noise with covariance channel_covariance (x) autocorrelation).
    sigma: Gaussian std on the 8-bit scale; when omitted, read per image from the batch (``sigma``).
    lam: Poisson photon count at intensity 1; when omitted, read from the batch (``lam``).
    beta1, beta2: heteroscedastic parameters on [0, 1] images; when omitted, estimated per image
        from the noisy image itself (``noise.estimation.estimate_heteroscedastic``).
    autocorrelation: for ``correlated``: the noise's spatial autocorrelation R(dy, dx), a (2L+1) x (2L+1)
        list of rows, 1 at the centre; ``python -m noise.covariance noisy/*.png`` estimates it (and the
        next) from the noisy images alone.
    channel_covariance: for ``correlated``: the C x C covariance of the noise across channels, on the
        8-bit scale (the variance of a channel of std 4 is 16).
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
        autocorrelation: list[list[float]] | None = None,
        channel_covariance: list[list[float]] | None = None,
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
        self.covariance = self._correlated_covariance(autocorrelation, channel_covariance)
        self.inference = check_choice("inference", inference, Inference)
        self.mc_samples = mc_samples
        self.val_inference = check_choice("val_inference", val_inference, Inference)

    def _correlated_covariance(
        self, autocorrelation: list[list[float]] | None, channel_covariance: list[list[float]] | None
    ) -> NoiseCovariance | None:
        given = autocorrelation is not None or channel_covariance is not None
        if self.noise != "correlated":
            if given:
                raise ValueError(f"autocorrelation and channel_covariance are for noise: correlated, not {self.noise}")
            return None
        if autocorrelation is None or channel_covariance is None:
            raise ValueError("noise: correlated needs model.init_args.autocorrelation and channel_covariance: "
                             "`python -m noise.covariance noisy/*.png` estimates both from the noisy images and "
                             "prints the config lines")  # fmt: skip
        spatial = torch.tensor(autocorrelation, dtype=torch.float64)
        channels = torch.tensor(channel_covariance, dtype=torch.float64) / 255**2
        size = spatial.shape[0]
        if spatial.ndim != 2 or spatial.shape[1] != size or size % 2 == 0 or spatial[size // 2, size // 2] != 1:
            raise ValueError(
                f"autocorrelation must be a square of odd side with 1 at the centre, got {autocorrelation}"
            )
        if not torch.allclose(spatial, spatial.flip(0, 1)):
            raise ValueError("autocorrelation must be symmetric through its centre: R(d) = R(-d)")
        if channels.ndim != 2 or channels.shape[0] != channels.shape[1] or not torch.allclose(channels, channels.T):
            raise ValueError(f"channel_covariance must be a symmetric C x C matrix, got {channel_covariance}")
        if torch.linalg.eigvalsh(channels).min() <= 0:
            raise ValueError(f"channel_covariance must be positive definite, got {channel_covariance}")
        return NoiseCovariance(spatial.float(), channels.float())

    def noise_sampler(self, noisy: Tensor, batch: Batch | None, generator: torch.Generator) -> Callable[[], Tensor]:
        """Draws of noise with the covariance of the noise in ``noisy`` (the std, per image or per pixel, found
        once): std * z for the per-pixel models, correlated Gaussian noise for ``correlated``."""
        if self.covariance is None:
            std = self.noise_std(noisy, batch)
            shape, device, dtype = noisy.shape, noisy.device, noisy.dtype
            return lambda: std * torch.randn(shape, generator=generator, device=device, dtype=dtype)
        if noisy.shape[1] != self.covariance.channel_covariance.shape[0]:
            raise ValueError(f"channel_covariance is for {self.covariance.channel_covariance.shape[0]}-channel "
                             f"images and these have {noisy.shape[1]}")  # fmt: skip
        return correlated_sampler(noisy.shape, self.covariance, generator, noisy)

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
        model_input, target = recorrupt_with(noisy, self.noise_sampler(noisy, batch, generator)(), self.alpha)
        return torch.mean((self.fit_network(model_input) - target) ** 2)

    def exported_network(self) -> tuple[nn.Module, str]:
        if self.inference == "single":
            return self.network, "the denoised image: one pass on the noisy image (inference: single)"
        return self.network, (
            f"one pass of the network; the paper's inference (Eq. 9) averages it over K = {self.mc_samples} "
            f"recorrupted copies y + alpha * z, z drawn from the noise model ({self.noise}), alpha = {self.alpha} "
            "(lightning_modules/r2r.py)"
        )

    def denoise(
        self, noisy: Tensor, generator: torch.Generator | None = None, batch: Batch | None = None, stage: Stage = "test"
    ) -> Tensor:
        network = self.inference_network()
        if (self.val_inference if stage == "val" else self.inference) == "single":
            return network(noisy)
        if generator is None:
            generator = torch.Generator(device=noisy.device).manual_seed(self.seed)
        draw = self.noise_sampler(noisy, batch, generator)
        total = torch.zeros_like(noisy)
        for _ in range(self.mc_samples):
            model_input, _ = recorrupt_with(noisy, draw(), self.alpha)
            total += network(model_input)
        return total / self.mc_samples
