"""The `faces` and `photos` data sets built from pictures scikit-image and scikit-learn install."""
import builtins

import numpy as np
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.core.errors import DataError
from ganforge.data import held_out, load_dataset
from ganforge.data.photos import CROP, GAP, PHOTOS, crop_boxes, photo_crops

pytest.importorskip("skimage")


def test_photo_crops_are_deterministic_and_the_bands_never_touch():
    train, ytr = photo_crops("train")
    held, yhe = photo_crops("heldout")
    assert train.shape[1:] == held.shape[1:] == (3, CROP, CROP) and train.dtype == np.uint8
    assert np.array_equal(train, photo_crops("train")[0])
    assert sorted(set(ytr.tolist())) == sorted(set(yhe.tolist())) == list(range(len(PHOTOS)))
    for long in (192, 288, 427):   # no training crop reaches within GAP pixels of a held-out one
        tr, he = crop_boxes("train", long), crop_boxes("heldout", long)
        assert tr and he and max(left for _, left in tr) + CROP + GAP <= min(left for _, left in he)
        assert max(left for _, left in he) + CROP <= long and all(top + CROP <= 192 for top, _ in tr + he)
    assert not {c.tobytes() for c in train} & {c.tobytes() for c in held}


def test_sources_and_presets_load():
    ds = load_dataset(DataConfig(source="photos"))
    assert ds.kind == "image" and tuple(ds.x.shape[1:]) == (3, 64, 64) and ds.class_names == list(PHOTOS)
    assert -1.0 <= float(ds.x.min()) < -0.9 and 0.9 < float(ds.x.max()) <= 1.0
    faces = load_dataset(DataConfig(source="faces", size=32, resize="resize", limit=80))
    assert tuple(faces.x.shape) == (80, 1, 32, 32) and faces.y is None
    rest = held_out(DataConfig(source="faces", size=32, resize="resize", limit=80))
    assert len(rest) == 20
    everything = load_dataset(DataConfig(source="faces", size=32, resize="resize")).x
    # the 20 held out are the faces the 80 are not
    d = torch.cdist(rest.x.flatten(1), faces.x.flatten(1)).min(1).values
    assert float(d.min()) > 0 and len(everything) == 100


def test_missing_scikit_image_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_skimage(name, *a, **k):
        if name.startswith("skimage"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_skimage)
    with pytest.raises(DataError, match=r"pip install 'ganforge\[images\]'"):
        load_dataset(DataConfig(source="faces"))


def test_eval_memorisation_against_the_held_out_band(tmp_path, tiny):
    import ganforge
    from ganforge.evaluation import evaluate_run
    res = ganforge.train("photos", steps=2, out=str(tmp_path / "r"), progress=False,
                         overrides=tiny + ["augment.ada=false", "augment.policy="])
    ev = evaluate_run(res.run_dir, n=100, metrics="fd,memorisation", heldout="photos-heldout",
                      json_path=str(tmp_path / "e.json"))
    assert ev["protocol"]["n_heldout"] == 408 and ev["protocol"]["heldout"] == "photos-heldout"
    assert ev["metrics"]["mem_ratio"] > 1.0    # two steps of training: noise, far from every training crop
