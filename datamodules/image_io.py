"""Reading images from disk into float32 [H, W, C] arrays in [0, 1], with errors that say what to do."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

# ITU-R BT.601 luma, the weights of MATLAB's rgb2gray used to make the standard gray BSD sets
_GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class ImageReadError(RuntimeError):
    """An image file exists but cannot be decoded."""

    @classmethod
    def of(cls, path: Path, error: Exception) -> ImageReadError:
        return cls(
            f"Could not read image '{path}': {type(error).__name__}: {error}. The file is corrupt or not an "
            "image; replace it with a valid PNG/JPEG/TIFF or move it out of the folder."
        )


def to_float(image: np.ndarray) -> np.ndarray:
    """Scale an integer image by its dtype's maximum (8-bit: 255, 16-bit: 65535); floats pass through."""
    if np.issubdtype(image.dtype, np.integer):
        return image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
    if image.dtype == np.bool_:
        return image.astype(np.float32)
    return image.astype(np.float32)


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """Return ``image`` as [H, W, channels]: gray is repeated to RGB, RGB is turned to luma, alpha is dropped."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (gray) or 3 (RGB), got {channels}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"expected an image of shape [H, W] or [H, W, C], got shape {image.shape}")
    if image.shape[-1] in (2, 4):  # gray+alpha or RGBA
        image = image[..., :-1]
    if image.shape[-1] == channels:
        return np.ascontiguousarray(image)
    if channels == 3 and image.shape[-1] == 1:
        return np.repeat(image, 3, axis=-1)
    if channels == 1 and image.shape[-1] == 3:
        return (image @ _GRAY_WEIGHTS)[..., None].astype(image.dtype)
    raise ValueError(f"cannot convert an image with {image.shape[-1]} channels to {channels}")


def read_image(path: str | Path, channels: int) -> np.ndarray:
    """Read a PNG/JPEG/TIFF/BMP (8- or 16-bit) as float32 [H, W, channels] in [0, 1]."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Image file '{path}' does not exist. Check the path, or remove it from the list.")
    try:
        image = iio.imread(path)
    except Exception as error:  # imageio raises many types for undecodable files
        raise ImageReadError.of(path, error) from error
    if image.ndim == 3 and image.shape[0] in (1, 3, 4) and image.shape[-1] not in (1, 3, 4):
        image = np.moveaxis(image, 0, -1)  # channel-first TIFF
    return to_channels(to_float(image), channels)


def list_images(folder: str | Path, what: str = "image folder") -> list[Path]:
    """All image files directly in ``folder``, sorted by name; clear errors for a missing or empty folder."""
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise FileNotFoundError(
            f"The {what} '{folder}' does not exist. Check the path in your config (or on the command line), "
            "or create it and put your images in it."
        )
    if not folder.is_dir():
        raise NotADirectoryError(f"The {what} '{folder}' is a file, not a folder. Point the config at the folder.")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(
            f"The {what} '{folder}' contains no images (looked for {', '.join(IMAGE_EXTENSIONS)}). "
            "Put images in it or point the config at the folder that holds them."
        )
    return files
