"""Zero-shot denoisers: a fresh small model fitted to each noisy image, no training set."""
