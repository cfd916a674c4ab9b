"Properties of `BitTree`, the surrogate 'fast_tree' of `fast_image_lime`, on many random problems, against scikit-learn's tree."
import numpy as np
import pytest
from sklearn.tree import DecisionTreeRegressor

from specx_nb.fast import BitTree
from specx_nb.lime import lime_kernel_weights


def problem(seed, num_samples, num_features, response="linear"):
    "Random masks, their LIME weights and a response of the given kind."
    rng = np.random.default_rng(seed)
    masks = rng.random((num_samples, num_features)) < rng.uniform(0.3, 0.7)
    coefficients = rng.normal(size=num_features) * (rng.random(num_features) < 0.2)
    linear = masks @ coefficients + rng.normal(0, 0.5, num_samples)
    responses = {"linear": linear,
                 "saturated": 1 / (1 + np.exp(-4 * linear)),  # softmax-like scores, many of them close to 0 or 1
                 "interaction": (masks[:, 0] & masks[:, 1]) + rng.normal(0, 0.1, num_samples)}
    return masks, lime_kernel_weights(masks), responses[response].astype(np.float32)


def bit_tree(masks, response, weights, min_samples_split=10, seed=0):
    "BitTree's importances."
    return BitTree(min_samples_split, random_state=seed).fit(masks, response, weights).feature_importances_


def sklearn_importance(masks, response, weights, min_samples_split, random_state=0):
    tree = DecisionTreeRegressor(min_samples_split=min_samples_split, random_state=random_state)
    return tree.fit(masks.astype(np.float32), response.astype(np.float64), sample_weight=weights).feature_importances_


@pytest.mark.parametrize("seed", range(12))
def test_equals_sklearn_without_ties(seed):
    "With nodes too large for two features to split them alike, the tree is scikit-learn's, for any width of mask."
    num_features = [5, 13, 45, 64, 240, 241][seed % 6]
    kind = ["linear", "saturated", "interaction"][seed % 3]
    masks, weights, response = problem(seed, 1500 + 250 * seed, num_features, kind)
    ours = bit_tree(masks, response, weights, 60, seed=seed)
    np.testing.assert_allclose(ours, sklearn_importance(masks, response, weights, 60), atol=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_sample_order_does_not_matter_without_ties(seed):
    masks, weights, response = problem(seed, 3000, 240)
    order = np.random.default_rng(seed).permutation(len(masks))
    fit = lambda m, w, r: bit_tree(m, r, w, 60)
    np.testing.assert_allclose(fit(masks, weights, response), fit(masks[order], weights[order], response[order]),
                               atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_with_ties_like_another_random_state_of_sklearn(seed):
    "At the default of ten samples, ties move our importances from scikit-learn's no more than its own seeds do."
    masks, weights, response = problem(seed, 4096, 240)
    ours = [bit_tree(masks, response, weights, seed=s) for s in range(3)]
    theirs = [sklearn_importance(masks, response, weights, 10, random_state=s) for s in range(3)]
    within = max(np.abs(a - b).sum() for i, a in enumerate(theirs) for b in theirs[i + 1:])
    between = max(np.abs(a - b).sum() for a in ours for b in theirs)
    assert between < 2 * within
    for importance in ours:
        np.testing.assert_allclose(importance.sum(), 1.0)
        assert importance.min() >= 0
        assert set(np.argsort(-importance)[:5]) == set(np.argsort(-theirs[0])[:5])


def test_the_same_seed_gives_the_same_tree_and_block_boundaries_change_nothing(monkeypatch):
    "Splitting a level into more groups of nodes, and samples into smaller blocks, gives the very same importances."
    import specx_nb.fast as fast
    masks, weights, response = problem(7, 5000, 240, "saturated")
    first = bit_tree(masks, response, weights, seed=3)
    np.testing.assert_array_equal(first, bit_tree(masks, response, weights, seed=3))
    monkeypatch.setattr(fast, "_BLOCK", 97)  # the block size is private; the test pins that it changes nothing
    np.testing.assert_allclose(bit_tree(masks, response, weights, seed=3), first, atol=1e-12)
