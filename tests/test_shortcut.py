"""The shortcut check's contract, as a user calls it: `shortcut_check` and `shortcut_control` on networks whose truth
the test measures itself, any number of classes, and bad input refused before the network reads an image."""
import numpy as np
import pytest
import torch
from torch import nn

from specx_nb.data import CLASS_NAMES
from specx_nb.population import logit_margins
from specx_nb.regions import band_rows
from specx_nb.shortcut import shortcut_check, shortcut_control
from specx_nb.spectrogram import IMAGE_SIZE, default_dataset
from specx_nb.train import trained_network

BAND = np.broadcast_to(band_rows()[:, None], IMAGE_SIZE)


@pytest.fixture(scope="module")
def data():
    "The tutorial's data set, and the same series without the tone."
    return default_dataset(seed=0), default_dataset(seed=0, background=False)


def truth(net, data):
    "Per class: the upper end of the margin's change when the tone is taken out of the series (mean of 100 images)."
    full, without = data
    images, labels = full.images[full.val_idx], full.labels[full.val_idx]
    change = logit_margins(net, without.images[full.val_idx], labels) - logit_margins(net, images, labels)
    return {name: change[labels == c].mean() for c, name in enumerate(CLASS_NAMES)}


def check(net, data, **options):
    "The check on the validation images, one row per class by name."
    full = data[0]
    rows = shortcut_check(net, full.images[full.val_idx], full.labels[full.val_idx], BAND, **options)
    return {row["class_name"]: row for row in rows}


def test_the_default_network_as_the_contract_reads_it(data):
    net, full = trained_network(seed=0)[0], data[0]
    control = shortcut_control(net, full.images[full.train_idx], full.labels[full.train_idx], BAND, seed=0)
    rows = check(net, data, control=control, class_names=CLASS_NAMES)
    assert list(rows) == list(CLASS_NAMES)
    assert all(r["uses_region"] in (True, False, None) and r["reason"] for r in rows.values())
    falls = truth(net, data)
    for name, row in rows.items():
        # the check never calls a class unused when taking the tone out costs it more than half a logit
        if falls[name] < -0.5: assert row["uses_region"] is not False, (name, falls[name], row)
        if row["uses_region"]: assert falls[name] < 0, (name, falls[name], row)
    assert [rows[c]["uses_region"] for c in ("SingleFrequency", "Gaussian", "Pulse")] == [True] * 3


def test_a_network_trained_without_the_tone_is_never_flagged(data):
    net = trained_network(seed=0, background=False)[0]
    rows = check(net, data)
    assert not any(r["uses_region"] for r in rows.values()), rows


def test_any_number_of_classes_and_a_removal_of_ones_own():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(30, 1, 8, 5)).astype(np.float32)
    labels = np.repeat(np.arange(3), 10)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(40, 3)).eval()
    region = np.zeros((8, 5), bool)
    region[:2] = True
    rows = shortcut_check(net, images, labels, region, class_names=["a", "b", "c"], remove=lambda x: x.copy())
    assert [r["class_name"] for r in rows] == ["a", "b", "c"]
    assert all(r["margin_change"] == [0.0, 0.0, 0.0] and r["uses_region"] is False for r in rows)
    emptied = shortcut_check(net, images, labels, region, remove=lambda x: np.where(region, -10.0, x))
    assert [r["class_name"] for r in emptied] == ["0", "1", "2"]


class Counting(nn.Module):
    "A linear classifier that counts the images it reads."
    def __init__(self, outputs=4):
        super().__init__()
        self.linear, self.seen = nn.Linear(IMAGE_SIZE[0] * IMAGE_SIZE[1], outputs), 0

    def forward(self, x):
        self.seen += len(x)
        return self.linear(x.flatten(1))


@pytest.mark.parametrize("change, argument", [
    (dict(region=BAND[:, :10]), "region"),
    (dict(region=band_rows()), "region"),
    (dict(region=np.zeros(IMAGE_SIZE, bool)), "region"),
    (dict(images="nan"), "images"),
    (dict(images="inf"), "images"),
])
def test_bad_input_is_refused_before_the_network_reads_an_image(change, argument):
    net = Counting()
    images = np.zeros((8, 1, *IMAGE_SIZE), np.float32)
    if change.get("images") in ("nan", "inf"): images[3, 0, 5, 5] = float(change.pop("images"))
    with pytest.raises(ValueError, match=argument):
        shortcut_check(net, images, np.repeat(np.arange(4), 2), change.get("region", BAND))
    assert net.seen == 0


@pytest.mark.parametrize("labels, control, argument", [
    (np.array([0, 0, 1, 1, 2, 2, 3, 4]), None, "labels"),  # a class out of range
    (np.array([0, 0, 1, 1, 2, 2, 2, 2]), None, "labels"),  # a class without images
    (np.repeat(np.arange(4), 2), Counting(3), "control"),  # a control of another output size
])
def test_labels_and_control_are_refused_after_one_image_tells_the_classes(labels, control, argument):
    net = Counting()
    with pytest.raises(ValueError, match=argument):
        shortcut_check(net, np.zeros((8, 1, *IMAGE_SIZE), np.float32), labels, BAND, control=control)
    assert net.seen == 1  # the one image that tells how many classes the network has
