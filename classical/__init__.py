"""Classical denoisers and their self-supervised (J-invariant) calibration."""
