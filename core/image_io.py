"""Reading images from disk into float32 [H, W, C] arrays in [0, 1], with errors that say what to do."""

from __future__ import annotations

from pathlib import Path

import cv2
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


def read_raw(path: str | Path) -> np.ndarray:
    """An image file's samples as stored ([H, W] or [H, W, C], 8/16-bit or float), RGB order. PNGs are
    decoded by OpenCV, which keeps 16-bit RGB (imageio's Pillow plugin reduces it to 8 bits)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Image file '{path}' does not exist. Check the path, or remove it from the list.")
    try:
        if path.suffix.lower() == ".png":
            image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
            if image is None:
                raise ValueError("OpenCV could not decode it")
            if image.ndim == 3 and image.shape[-1] in (3, 4):  # BGR(A) -> RGB(A)
                image = image[..., [2, 1, 0, *range(3, image.shape[-1])]]
        else:
            image = iio.imread(path)
    except Exception as error:  # the decoders raise many types for undecodable files
        raise ImageReadError.of(path, error) from error
    if image.ndim == 3 and image.shape[0] in (1, 3, 4) and image.shape[-1] not in (1, 3, 4):
        image = np.moveaxis(image, 0, -1)  # channel-first TIFF
    return np.ascontiguousarray(image)


def write_raw(path: str | Path, image: np.ndarray) -> None:
    """Write samples as they are (8/16-bit PNG or TIFF, float TIFF), without loss; the inverse of
    ``read_raw``. 16-bit RGB PNGs go through OpenCV (Pillow cannot write them)."""
    path = Path(path)
    image = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    if path.suffix.lower() == ".png":
        if image.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"PNG holds 8- or 16-bit integers, not {image.dtype}: write '{path.stem}.tif' instead")
        if image.ndim == 3 and image.shape[-1] in (3, 4):
            image = image[..., [2, 1, 0, *range(3, image.shape[-1])]]
        ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image))
        if not ok:
            raise OSError(f"Could not encode '{path}' as PNG")
        encoded.tofile(path)
    else:
        iio.imwrite(path, image)


def read_image(path: str | Path, channels: int) -> np.ndarray:
    """Read a PNG/JPEG/TIFF/BMP (8- or 16-bit, or float TIFF) as float32 [H, W, channels] in [0, 1]."""
    return to_channels(to_float(read_raw(path)), channels)


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
