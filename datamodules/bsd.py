"""Berkeley Segmentation Dataset denoising sets in their standard layouts.

Gray (DnCNN / R2R / Noise2Void protocol): train on ``Train400`` (400 gray 180x180 PNGs), or on
BSD400 / BSD432 made from BSDS500 with the BT.601 luma weights; test on ``BSD68`` or ``Set12``.
Colour: train on BSDS500 train+test (``BSD400``) or ``CBSD432`` (BSDS500 without CBSD68); test on
``CBSD68`` or ``BSD300`` (the 100 BSDS500 validation images). Folders under ``root``:

    Train400/*.png  BSD68/*.png  Set12/*.png  CBSD68/<id>.png
    BSDS500/{train,val,test}/<id>.jpg   or the archive's   BSR/BSDS500/data/images/{train,val,test}/<id>.jpg

BSD68 / CBSD68 missing but BSDS500 present: they are made from its validation images (CBSD68 is 68
of them; BSD68 is their luma). ``download: true`` fetches BSDS500 from its canonical archive and
keeps only images whose SHA-256 matches the manifest in ``datamodules/checksums``.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Literal, get_args

from core.choices import check_choice
from core.image_io import list_images
from datamodules.base import DenoisingDataModule, Split
from datamodules.download import DownloadError, download_unverified
from datamodules.sources import ImageFiles

BSDS500_URL = "http://www.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/BSR/BSR_bsds500.tgz"
BSDS500_MANIFEST = Path(__file__).parent / "checksums" / "bsds500_images.sha256"
BSDS500_SPLITS = ("train", "val", "test")
# the 68 BSDS500 validation images of CBSD68 / BSD68 (Roth & Black's test set)
CBSD68_IDS = (
    "101085",
    "101087",
    "102061",
    "103070",
    "105025",
    "106024",
    "108005",
    "108070",
    "108082",
    "109053",
    "119082",
    "12084",
    "123074",
    "126007",
    "130026",
    "134035",
    "14037",
    "143090",
    "145086",
    "147091",
    "148026",
    "148089",
    "157055",
    "159008",
    "160068",
    "16077",
    "163085",
    "167062",
    "167083",
    "170057",
    "175032",
    "175043",
    "182053",
    "189080",
    "19021",
    "196073",
    "197017",
    "208001",
    "210088",
    "21077",
    "216081",
    "219090",
    "220075",
    "223061",
    "227092",
    "229036",
    "236037",
    "24077",
    "241004",
    "241048",
    "253027",
    "253055",
    "260058",
    "271035",
    "285079",
    "291000",
    "295087",
    "296007",
    "296059",
    "299086",
    "300091",
    "302008",
    "304034",
    "304074",
    "306005",
    "3096",
    "33039",
    "351093",
)
GRAY_SETS = ("Train400", "BSD68", "Set12")
SetName = Literal["Train400", "BSD68", "Set12", "CBSD68", "BSD300", "BSD400", "BSD432", "CBSD432"]
SETS = get_args(SetName)


def read_manifest(path: Path) -> dict[str, str]:
    """``<sha256>  <split>/<name>`` lines -> {relative path: sha256}."""
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            entries[name.strip()] = digest.lower()
    return entries


class BSD(DenoisingDataModule):
    """Args:
    root: folder holding the sets (see the module docstring for the layout).
    train_set, val_set, test_set: one of Train400, BSD68, Set12, CBSD68, BSD300, BSD400, BSD432, CBSD432.
    download: fetch BSDS500 when a set needs it and it is missing (checked per image).
    bsds500_url, bsds500_manifest: where the archive comes from and the per-image SHA-256 list.
    **kwargs: the ``DenoisingDataModule`` arguments; ``channels: 1`` turns colour sets to luma,
        ``channels: 3`` is refused for the gray-only sets.
    """

    def __init__(
        self,
        root: str = "data",
        train_set: SetName = "Train400",
        val_set: SetName = "Set12",
        test_set: SetName = "BSD68",
        download: bool = False,
        bsds500_url: str = BSDS500_URL,
        bsds500_manifest: str = str(BSDS500_MANIFEST),
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        for name in (train_set, val_set, test_set):
            check_choice("BSD set", name, SetName)
            if name in GRAY_SETS and self.channels == 3:
                raise ValueError(f"{name} is a gray set: use channels: 1, or a colour set ({', '.join(SETS[3:])})")
        self.root = Path(root)
        self.sets = {"train": train_set, "val": val_set, "test": test_set}
        self.download = download
        self.bsds500_url = bsds500_url
        self.bsds500_manifest = Path(bsds500_manifest)

    # ---- BSDS500 ---------------------------------------------------------------------------------
    def bsds500_dir(self) -> Path | None:
        for candidate in (self.root / "BSDS500", self.root / "BSR" / "BSDS500" / "data" / "images"):
            if all((candidate / split).is_dir() for split in BSDS500_SPLITS):
                return candidate
        return None

    def prepare_data(self) -> None:
        needs_bsds500 = any(self._needs_bsds500(name) for name in self.sets.values())
        if self.download and needs_bsds500 and self.bsds500_dir() is None:
            self._download_bsds500()

    def _needs_bsds500(self, name: str) -> bool:
        if name in ("BSD68", "CBSD68"):
            return not (self.root / name).is_dir()
        return name in ("BSD300", "BSD400", "BSD432", "CBSD432")

    def _download_bsds500(self) -> None:
        manifest = read_manifest(self.bsds500_manifest)
        target = self.root / "BSDS500"
        with tempfile.TemporaryDirectory(dir=self.root if self.root.exists() else None) as scratch:
            archive = download_unverified(self.bsds500_url, Path(scratch) / "BSR_bsds500.tgz")
            staging = Path(scratch) / "images"
            try:
                with tarfile.open(archive) as tar:
                    for member in tar.getmembers():
                        parts = Path(member.name).parts
                        if member.isfile() and len(parts) >= 2 and f"{parts[-2]}/{parts[-1]}" in manifest:
                            relative = f"{parts[-2]}/{parts[-1]}"
                            data = tar.extractfile(member).read()
                            if hashlib.sha256(data).hexdigest() != manifest[relative]:
                                raise DownloadError(f"{relative} in {self.bsds500_url} does not match its SHA-256")
                            (staging / parts[-2]).mkdir(parents=True, exist_ok=True)
                            (staging / relative).write_bytes(data)
            except (tarfile.TarError, EOFError, OSError) as error:
                raise DownloadError(
                    f"The archive from {self.bsds500_url} is damaged or incomplete ({error})."
                ) from error
            found = {f"{p.parent.name}/{p.name}" for p in staging.rglob("*.jpg")}
            missing = sorted(set(manifest) - found)
            if missing:
                raise DownloadError(
                    f"The archive from {self.bsds500_url} lacks {len(missing)} of the {len(manifest)} BSDS500 images "
                    f"(e.g. {missing[0]}); nothing was kept."
                )
            target.mkdir(parents=True, exist_ok=True)
            for split in BSDS500_SPLITS:
                shutil.move(str(staging / split), str(target / split))

    # ---- sets ------------------------------------------------------------------------------------
    def _bsds500_files(self, splits: tuple[str, ...], include=None, exclude=()) -> list[Path]:
        base = self.bsds500_dir()
        if base is None:
            raise FileNotFoundError(
                f"BSDS500 was not found under '{self.root}' (looked for BSDS500/{{train,val,test}} and "
                "BSR/BSDS500/data/images/{train,val,test}). Set data.init_args.download: true to fetch it, "
                f"or unpack {BSDS500_URL} into '{self.root}'."
            )
        files = [f for split in splits for f in sorted((base / split).glob("*.jpg"))]
        if include is not None:
            files = [f for f in files if f.stem in include]
        return [f for f in files if f.stem not in exclude]

    def set_files(self, name: str) -> list[Path]:
        folder = self.root / name
        if name in ("Train400", "Set12") or (name in ("BSD68", "CBSD68") and folder.is_dir()):
            return list_images(folder, f"{name} folder")
        if name in ("BSD68", "CBSD68"):
            return self._bsds500_files(("val",), include=set(CBSD68_IDS))
        if name == "BSD300":
            return self._bsds500_files(("val",))
        if name == "BSD400":
            return self._bsds500_files(("train", "test"))
        return self._bsds500_files(BSDS500_SPLITS, exclude=set(CBSD68_IDS))  # BSD432 / CBSD432

    def load_split(self, split: str) -> Split:
        files = self.set_files(self.sets[split])
        return ImageFiles(files, self.channels), [f.stem for f in files]
