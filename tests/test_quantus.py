"""`explain` in Quantus's contract, on validation images of the default network: LIME and occlusion give maps shaped like
the images, and Quantus's PixelFlipping runs with `explain_func=explain`."""
import numpy as np
import pytest
import quantus

from specx_nb.explainers import explain
from specx_nb.spectrogram import default_dataset
from specx_nb.train import trained_network


@pytest.fixture(scope="module")
def batch():
    "The default network and three validation images of three classes, with their classes."
    net, _ = trained_network(0)
    data = default_dataset()
    picks = [np.flatnonzero(data.labels[data.val_idx] == c)[0] for c in range(3)]
    return net, data.images[data.val_idx][picks], data.labels[data.val_idx][picks]


@pytest.mark.parametrize("method", ["lime", "occlusion"])
def test_maps_shaped_like_the_images(batch, method):
    net, x, y = batch
    maps = explain(model=net, inputs=x, targets=y, method=method)
    assert maps.dtype == np.float32 and maps.shape == x.shape
    assert np.isfinite(maps).all() and maps.std() > 0


def test_pixel_flipping_with_explain(batch):
    net, x, y = batch
    metric = quantus.PixelFlipping(features_in_step=4, perturb_baseline="mean", disable_warnings=True)
    scores = metric(model=net, x_batch=x, y_batch=y, explain_func=explain,
                    explain_func_kwargs={"method": "fast_lime", "surrogate": "linear"}, device="cpu")
    assert len(scores) == len(x)
    curves = quantus.PixelFlipping(features_in_step=4, perturb_baseline="mean", disable_warnings=True)(
        model=net, x_batch=x, y_batch=y, explain_func=explain, explain_func_kwargs={"method": "occlusion"})
    # a curve per image, a step per cell; (Quantus's own area, return_auc_per_sample, calls np.trapz, gone in NumPy 2.4)
    assert np.shape(curves) == (len(x), 240) and np.isfinite(curves).all()
