"""Small real image sets built from pictures that install with scikit-image and scikit-learn.

- ``faces``: the 100 face photographs of scikit-image's ``lfw_subset`` (Labeled Faces in the Wild,
  cropped to 25x25 greyscale; the set's other 100 images are not faces and are not used). Train at
  ``data.size`` (the ``faces`` preset: 32, bilinear with antialiasing); ``data.limit`` holds the
  rest out as unseen real images for the memorisation check.
- ``photos`` / ``photos-heldout``: 64x64 colour crops of eight photographs (scikit-image's
  astronaut, chelsea, coffee, rocket, hubble_deep_field and immunohistochemistry; scikit-learn's
  china and flower). Construction: each photo is resized (bilinear, antialiased) so its shorter
  side is 192 pixels; the last 80 pixels of its longer side are the held-out band; crops of 64x64 at
  a stride of 8 pixels are taken wherever they fit wholly inside the training part (which ends 8
  pixels before the band, so no training crop touches a held-out pixel) or wholly inside the band.
  The label of a crop is its photo (0-7, in the order above). Deterministic: no randomness.
  1,887 training and 408 held-out crops.

scikit-image is an optional extra (``pip install ganforge[images]``); without it the sources say so.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import DataError
from .dataset import Dataset, images_to_float
from .sources import Source, register_source

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "china", "flower")
SHORT, CROP, STRIDE, BAND, GAP = 192, 64, 8, 80, 8


def _skimage_data():
    try:
        from skimage import data
    except ImportError:
        raise DataError("this data set ships with scikit-image, which is not installed; "
                        "pip install 'ganforge[images]' (or scikit-image)") from None
    return data


def load_faces(labels: bool = True) -> Dataset:
    """The 100 faces of lfw_subset as (100, 1, 25, 25) in [-1, 1]; no class labels."""
    faces = np.asarray(_skimage_data().lfw_subset()[:100], dtype=np.float32)   # values 0..1
    return Dataset(x=images_to_float(faces[:, None], 0.0, 1.0), y=None, kind="image", name="faces",
                   value_range=(0.0, 1.0), class_names=None)


def _photo(name: str) -> np.ndarray:
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image
        return load_sample_image(f"{name}.jpg")
    return getattr(_skimage_data(), name)()


def _resized(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, h, w) float in [0, 255] with the shorter side SHORT."""
    x = torch.from_numpy(np.array(img[..., :3], copy=True)).permute(2, 0, 1)[None].float()
    h, w = x.shape[-2:]
    size = (SHORT, round(w * SHORT / h)) if h <= w else (round(h * SHORT / w), SHORT)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)[0].clamp(0, 255)


def crop_boxes(part: str, long: int, short: int = SHORT) -> list[tuple[int, int]]:
    """(top, left) of the 64x64 crops of ``part`` (train or heldout) in a photo of ``short`` x ``long`` pixels."""
    if part not in ("train", "heldout"):
        raise ValueError(part)
    lo, hi = (0, long - BAND - GAP) if part == "train" else (long - BAND, long)
    return [(top, left) for top in range(0, short - CROP + 1, STRIDE) for left in range(lo, hi - CROP + 1, STRIDE)]


def photo_crops(part: str) -> tuple[np.ndarray, np.ndarray]:
    """(crops (N, 3, 64, 64) uint8, photo labels (N,)) of ``part`` = train or heldout (see the module doc)."""
    crops, labels = [], []
    for k, name in enumerate(PHOTOS):
        x = _resized(_photo(name))
        if x.shape[1] > x.shape[2]:          # the longer side last
            x = x.transpose(1, 2)
        for top, left in crop_boxes(part, x.shape[2]):
            crops.append(x[:, top:top + CROP, left:left + CROP])
            labels.append(k)
    arr = torch.stack(crops).round().to(torch.uint8).numpy()
    return arr, np.asarray(labels, dtype=np.int64)


def load_photos(part: str, labels: bool = True) -> Dataset:
    arr, y = photo_crops(part)
    name = "photos" if part == "train" else "photos-heldout"
    return Dataset(x=images_to_float(arr, 0.0, 255.0), y=torch.from_numpy(y) if labels else None, kind="image",
                   name=name, value_range=(0.0, 255.0), class_names=list(PHOTOS) if labels else None)


register_source("faces", Source(lambda cfg, seed, path: load_faces(cfg.data.labels), kind="image", holds_out=True))
register_source("photos", Source(lambda cfg, seed, path: load_photos("train", cfg.data.labels), kind="image"))
register_source("photos-heldout", Source(lambda cfg, seed, path: load_photos("heldout", cfg.data.labels),
                                         kind="image"))
