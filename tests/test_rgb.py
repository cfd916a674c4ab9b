"LIME on colour (3-channel) images: superpixels honour num_features, errors name the argument, plots draw RGB."
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import skimage.data
import skimage.transform
import torch
from matplotlib.image import AxesImage
from torch import nn

from specx_nb.core import SettingError
from specx_nb.lime import _superpixels, image_lime, plot_lime, segmentation_map


def astronaut():
    "scikit-image's astronaut, 64 by 64 pixels, channels first, in [0, 1]."
    small = skimage.transform.resize(skimage.data.astronaut(), (64, 64))
    return np.moveaxis(small, -1, 0).astype(np.float32)


def noise():
    "Uniform noise in three channels."
    return np.random.default_rng(0).random((3, 64, 64), dtype=np.float32)


IMAGES = {"astronaut": astronaut, "noise": noise,
          "astronaut 0-255": lambda: astronaut() * 255,
          "normal noise": lambda: np.random.default_rng(1).normal(size=(3, 64, 64))}


def tiny_classifier():
    "A seeded linear classifier of (3, 64, 64) images into 4 classes."
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 64 * 64, 4))


@pytest.mark.parametrize("name", IMAGES)
@pytest.mark.parametrize("asked", [20, 49, 100])
def test_superpixels_honour_num_features(name, asked):
    feature_map = segmentation_map(IMAGES[name](), num_features=asked)
    found = feature_map.max() + 1
    assert asked / 2 <= found <= 1.5 * asked, (name, asked, found)
    np.testing.assert_array_equal(np.unique(feature_map), np.arange(found))


@pytest.mark.parametrize("name", ["astronaut", "noise"])
def test_superpixels_are_repeatable(name):
    image = IMAGES[name]()
    np.testing.assert_array_equal(_superpixels(image, 49), _superpixels(image, 49))


def test_too_many_features_names_the_argument_and_suggests_grid():
    tiny = np.random.default_rng(0).random((3, 5, 5))
    with pytest.raises(SettingError) as caught:
        segmentation_map(tiny, num_features=49)
    assert caught.value.argument == "num_features"
    message = str(caught.value)
    assert "49" in message and 'segmentation="grid"' in message
    assert any(word.isdigit() and word != "49" for word in message.replace("-", " ").split())  # how many were found
    assert segmentation_map(tiny, "grid", 49).max() + 1 == 25  # the grid takes what it can


class Counting(nn.Module):
    "Counts its forward passes."
    def __init__(self):
        super().__init__()
        self.net, self.calls = tiny_classifier(), 0
    def forward(self, x):
        self.calls += 1
        return self.net(x)


def test_segmentation_error_comes_before_any_scoring():
    net = Counting()
    tiny = np.random.default_rng(0).random((3, 5, 5))
    with pytest.raises(SettingError, match="num_features"):
        image_lime(net, tiny, 0, num_features=49, num_samples=16, seed=0)
    assert net.calls == 0


def test_image_lime_on_rgb_end_to_end():
    image = astronaut()
    explanation = image_lime(tiny_classifier(), image, 2, num_samples=64, seed=0)
    found = explanation.feature_map.max() + 1
    assert explanation.score_map.shape == (64, 64)
    assert explanation.feature_map.shape == (64, 64)
    assert explanation.feature_importance.shape == (found,)
    assert 49 / 2 <= found <= 1.5 * 49
    assert np.isfinite(explanation.score_map).all()
    again = image_lime(tiny_classifier(), image, 2, num_samples=64, seed=0)
    np.testing.assert_array_equal(explanation.score_map, again.score_map)


@pytest.mark.parametrize("scale", [1, 255])
def test_plot_lime_draws_rgb(scale):
    image = astronaut() * scale
    explanation = image_lime(tiny_classifier(), image, 0, segmentation="grid", num_samples=32, seed=0)
    fig = plot_lime(image, explanation.score_map, "astronaut")
    try:
        assert isinstance(fig, plt.Figure)
        shown = fig.axes[0].images[0]
        assert isinstance(shown, AxesImage)
        pixels = np.asarray(shown.get_array())
        assert pixels.shape == (64, 64, 3)
        assert 0 <= pixels.min() and pixels.max() <= 1
    finally:
        plt.close(fig)


def test_plot_lime_refuses_two_channels():
    with pytest.raises(SettingError) as caught:
        plot_lime(np.zeros((2, 8, 8)), np.zeros((8, 8)))
    assert caught.value.argument == "image"
