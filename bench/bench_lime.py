"""Time LIME on the trained network: `fast_image_lime` against its floor (the fastest plain forward pass), against
the plain `image_lime`, and against `lime` and Captum's Lime and KernelShap.

Run: `pip install -e ".[bench]"` once (it adds lime and captum), then `python bench/bench_lime.py`. It takes a few
minutes and prints markdown tables (the ones in bench/README.md) and a list of goals met or missed; `--json PATH`
also writes every number. All rows use the same trained network, validation image, 40-by-6 grid and 4096 samples.
The fast surrogates (`ClosedFormRidge`, `BitTree`) are timed beside their references, scikit-learn's `Ridge` and
`DecisionTreeRegressor`.

Timings on a shared machine are noisy, so the cases are run in rounds: every round runs every case in a rotated
order, each twice in a row and timed the second time, so that a timed call follows a call of its own case (as in a
loop of explanations) and pays nothing for the case before it. A case's ratio to the floor is the median over rounds
of its time divided by the floor's time in the same round. The floor is the fastest plain forward pass we could write: the trained network as it is, in
evaluation mode under `torch.inference_mode`, with the softmax, at the batch size that is fastest on this machine
(chosen in a warm-up). Everything runs on `--threads` torch and BLAS threads, the same for every row; by default
torch's own count, which is what a user gets.
"""
import argparse
import contextlib
import datetime
import functools
import importlib.metadata
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

# torch.compile's first call is timed cold: torch's on-disk cache of an earlier run would hide the compilation
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="bench-lime-inductor-"))

import numpy as np
import torch
from sklearn.linear_model import Ridge
from sklearn.tree import DecisionTreeRegressor
from threadpoolctl import threadpool_limits

from specx_nb.data import example_indices
from specx_nb.fast import (BitTree, ClosedFormRidge, fast_image_lime, fast_scores, frozen_network,
                            inference_network)
from specx_nb.lime import grid_segmentation, image_lime, lime_kernel_weights, sample_masks
from specx_nb.regions import fill_image
from specx_nb.spectrogram import default_dataset
from specx_nb.train import trained_network

NUM_SAMPLES = 4096
BATCH_SIZES = (64, 128, 256, 512, 1024)  # the batch sizes tried, for the floor and for fast_image_lime
LIME_BATCH_SIZES = (10, 128, 1024)  # lime's default is 10
CAPTUM_PERTURBATIONS = (1, 16, 128, 512, 4096)  # Captum's default is 1
KERNEL_SHAP_PERTURBATIONS = (16, 128, 512)
FIRST_CALL_SURROGATES = ("tree", "linear")
MEMORY_SURROGATES = ("fast_tree", "linear")  # the surrogates whose memory should not grow with the samples
# inference_network's rewrites, in the order they are added one by one (its default: the first three)
REWRITE_NAMES = ("fold_batchnorm", "fast_max_pool", "relu_after_pool", "channels_last")


def machine():
    "The machine and the library versions."
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.processor())
    versions = {name: importlib.metadata.version(name)
                for name in ("torch", "numpy", "scikit-learn", "lime", "captum")}
    return dict(cpu=model, cores=os.cpu_count(), python=platform.python_version(), **versions,
                date=datetime.date.today().isoformat())


class Setup:
    "The shared inputs: the trained network, one validation image, the grid, masks, their weights and scores."
    def __init__(self):
        self.net = trained_network()[0].eval()
        data = default_dataset()
        self.val_images, self.val_labels = data.images[data.val_idx], data.labels[data.val_idx]
        self.image, self.label = self.val_images[0, 0], int(self.val_labels[0])
        self.grid = grid_segmentation(self.image.shape)
        self.fill = fill_image(self.image)
        self.built_images = torch.from_numpy(np.resize(self.val_images, (NUM_SAMPLES, 1, *self.image.shape)).copy())
        self.masks = sample_masks(NUM_SAMPLES, self.grid.max() + 1, seed=0)
        self.weights = lime_kernel_weights(self.masks)

    @functools.cached_property
    def scores(self):
        "The scores of all four classes for the masks: computed when first needed, which runs the network."
        return self.score(self.image, self.fill, range(4))

    def score(self, image, fill, channels, masks=None):
        "The fast scorer's scores of the masks (by default the shared ones) on `image`."
        masks = self.masks if masks is None else masks
        return fast_scores(self.net, image, fill, self.grid, masks, channels)

    def tree(self, response, seed=0):
        "BitTree, fast_image_lime's surrogate='fast_tree', on the masks: the importances for `response` (4096,)."
        return BitTree(random_state=seed).fit(self.masks, response, self.weights).feature_importances_

    def sklearn_tree(self, response, **options):
        "scikit-learn's DecisionTreeRegressor with image_lime's settings on the same samples: its importances."
        model = DecisionTreeRegressor(min_samples_split=10, **{"random_state": 0, **options})
        return model.fit(self.masks, np.asarray(response, dtype=np.float64),
                         sample_weight=self.weights).feature_importances_

    def ridge(self, responses):
        "ClosedFormRidge, fast_image_lime's linear surrogate, for the columns of `responses` (4096, C)."
        return ClosedFormRidge().fit(self.masks, responses, self.weights).coef_

    def sklearn_ridge(self, response):
        "scikit-learn's Ridge(alpha=1), image_lime's linear surrogate, on the same samples: its coefficients."
        return Ridge(alpha=1.0).fit(self.masks, response, sample_weight=self.weights).coef_

    def explain(self, fast=True, **kwargs):
        "fast_image_lime (or the plain image_lime) of the image's own class on the grid with 4096 samples."
        args = dict(channel=self.label, segmentation=self.grid, num_samples=NUM_SAMPLES, seed=0) | kwargs
        run = fast_image_lime if fast else image_lime
        return lambda: run(self.net, self.image, **args)

    def forward(self, model, batch_size, grad_mode=torch.inference_mode):
        "One plain pass of `model` over the 4096 already-built images, with the softmax."
        def run():
            with grad_mode():
                for chunk in self.built_images.split(batch_size): torch.softmax(model(chunk), dim=1)
        return run

    @functools.cached_property
    def frozen(self):
        "frozen_network of the fast copy, traced on a batch of the floor's size."
        return frozen_network(inference_network(self.net), self.built_images[:self.floor_batch])

    @functools.cached_property
    def exported(self):
        "torch.export of the fast copy, with a dynamic batch size, run as a module."
        batch = torch.export.Dim("batch", min=2)
        program = torch.export.export(inference_network(self.net), (self.built_images[:self.floor_batch],),
                                      dynamic_shapes=({0: batch},))
        return program.module()

    @functools.cached_property
    def floor_batch(self):
        "The batch size at which the plain forward pass is fastest here: the median of three runs of each."
        timed = {n: statistics.median(_seconds(self.forward(self.net, n)) for _ in range(3)) for n in BATCH_SIZES}
        return min(timed, key=timed.get)


def lime_package(setup, batch_size):
    "lime's LimeImageExplainer on the same work: grid segmentation, hide_color = image mean, 4096 samples."
    from lime.lime_image import LimeImageExplainer
    rgb = np.repeat(setup.image[..., None], 3, axis=2)
    def classifier_fn(images):  # lime hands over RGB-like (N, H, W, 3) images; the network reads one channel
        x = torch.from_numpy(np.ascontiguousarray(images[..., 0], dtype=np.float32))[:, None]
        with torch.no_grad(): return torch.softmax(setup.net(x), dim=1).numpy()
    def run():
        explainer = LimeImageExplainer(random_state=0)
        with contextlib.redirect_stderr(io.StringIO()):  # its progress bar
            return explainer.explain_instance(rgb, classifier_fn, labels=(setup.label,), top_labels=None,
                                              hide_color=float(setup.image.mean()), num_samples=NUM_SAMPLES,
                                              batch_size=batch_size, segmentation_fn=lambda _: setup.grid,
                                              random_seed=0)
    return run


def captum_kernel_shap(setup, perturbations_per_eval):
    "Captum's KernelShap on the same feature mask, baseline and number of samples."
    from captum.attr import KernelShap
    x = torch.from_numpy(setup.image)[None, None]
    mask = torch.from_numpy(setup.grid)[None, None]
    def run():
        return KernelShap(setup.net).attribute(x, baselines=float(setup.image.mean()), target=setup.label,
                                               feature_mask=mask, n_samples=NUM_SAMPLES,
                                               perturbations_per_eval=perturbations_per_eval)
    return run


def captum_lime(setup, perturbations_per_eval):
    "Captum's Lime with a ridge surrogate (alpha=1, as image_lime's), the same feature mask, baseline and samples."
    from captum._utils.models.linear_model import SkLearnRidge
    from captum.attr import Lime
    x = torch.from_numpy(setup.image)[None, None]
    mask = torch.from_numpy(setup.grid)[None, None]
    def run():
        return Lime(setup.net, interpretable_model=SkLearnRidge(alpha=1.0)).attribute(
            x, baselines=float(setup.image.mean()), target=setup.label, feature_mask=mask, n_samples=NUM_SAMPLES,
            perturbations_per_eval=perturbations_per_eval)
    return run


def in_rounds(cases, repeats):
    """Per case, its times over `repeats` rounds; each round runs every case in a rotated order, twice in a row, and
    times the second call, which so follows a call of its own case."""
    names = list(cases)
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            cases[name]()  # the call before the timed one is of the same case
            start = time.perf_counter()
            cases[name]()
            times[name].append(time.perf_counter() - start)
        print(f"  round {r + 1}/{repeats} done", file=sys.stderr)
    return times


def timing_cases(setup, compiled):
    "Every timed case, by name; 'floor' is one plain forward pass."
    net, explain = setup.net, setup.explain
    batch = setup.floor_batch
    cases = {"floor": setup.forward(net, batch)}
    for n in BATCH_SIZES:
        if n != batch: cases[f"plain forward, batch {n}"] = setup.forward(net, n)
    cases["plain forward, no_grad instead of inference_mode"] = setup.forward(net, batch, grad_mode=torch.no_grad)
    for i, name in enumerate(REWRITE_NAMES):
        cases[f"fast copy, + {name}"] = setup.forward(inference_network(net, rewrites=REWRITE_NAMES[:i + 1]), batch)
    cases["fast copy (the default rewrites)"] = setup.forward(inference_network(net), batch)
    if compiled is not None: cases["torch.compile(fast copy)"] = setup.forward(compiled, batch)
    cases["frozen copy (frozen_network of the fast copy)"] = setup.forward(setup.frozen, batch)
    cases["torch.export(fast copy)"] = setup.forward(setup.exported, batch)
    for surrogate in ("tree", "fast_tree", "linear"):
        for batch_size in BATCH_SIZES if surrogate != "fast_tree" else (128,):  # batch sizes change only scoring
            cases[f"fast_image_lime {surrogate}, batch {batch_size}"] = explain(surrogate=surrogate,
                                                                                batch_size=batch_size)
        if surrogate != "fast_tree": cases[f"image_lime {surrogate} (plain)"] = explain(False, surrogate=surrogate)
        cases[f"fast_image_lime {surrogate}, 4 classes"] = explain(surrogate=surrogate, channel=[0, 1, 2, 3])
    scores = setup.scores
    cases["sampling and scoring, 4 classes"] = lambda: setup.score(
        setup.image, setup.fill, range(4), sample_masks(NUM_SAMPLES, setup.grid.max() + 1, seed=0))
    cases["fit: BitTree"] = lambda: setup.tree(scores[:, 0])
    cases["fit: BitTree, 4 classes"] = lambda: [setup.tree(scores[:, c]) for c in range(4)]
    cases["fit: sklearn tree"] = lambda: setup.sklearn_tree(scores[:, 0])
    cases["fit: sklearn tree, 4 classes"] = lambda: [setup.sklearn_tree(scores[:, c]) for c in range(4)]
    ridge = setup.ridge
    cases["fit: ClosedFormRidge"] = lambda: ridge(scores[:, 0])
    cases["fit: ClosedFormRidge, 4 classes at once"] = lambda: ridge(scores)
    cases["fit: ClosedFormRidge, 4 separate fits"] = lambda: [ridge(scores[:, c]) for c in range(4)]
    cases["fit: sklearn Ridge"] = lambda: setup.sklearn_ridge(scores[:, 0])
    for batch_size in LIME_BATCH_SIZES: cases[f"lime, batch_size {batch_size}"] = lime_package(setup, batch_size)
    for ppe in CAPTUM_PERTURBATIONS: cases[f"Captum Lime, perturbations_per_eval {ppe}"] = captum_lime(setup, ppe)
    for ppe in KERNEL_SHAP_PERTURBATIONS:
        cases[f"Captum KernelShap, perturbations_per_eval {ppe}"] = captum_kernel_shap(setup, ppe)
    return cases


def compile_fast_copy(setup):
    "torch.compile of the fast copy, and the seconds its first call took."
    compiled = torch.compile(inference_network(setup.net), dynamic=False)
    start = time.perf_counter()
    with torch.no_grad(): compiled(setup.built_images[:setup.floor_batch])
    return compiled, time.perf_counter() - start


def tree_fits(setup, repeats):
    "Fit time of faster trees, and how far their importances move from scikit-learn's full tree, on 8 study images."
    shown = example_indices(setup.val_labels, 2)
    images = [setup.val_images[i, 0] for i in shown]
    responses = [setup.score(x, fill_image(x), [int(setup.val_labels[i])])[:, 0] for x, i in zip(images, shown)]
    fits = {"scikit-learn, full depth (the reference)": setup.sklearn_tree,
            "scikit-learn, full depth, random_state=1": functools.partial(setup.sklearn_tree, random_state=1),
            "scikit-learn, max_depth=8": functools.partial(setup.sklearn_tree, max_depth=8),
            "scikit-learn, max_depth=6": functools.partial(setup.sklearn_tree, max_depth=6),
            "scikit-learn, max_leaf_nodes=64": functools.partial(setup.sklearn_tree, max_leaf_nodes=64),
            "BitTree: exact split search for 0/1 features (surrogate='fast_tree')": setup.tree}
    reference = [setup.sklearn_tree(y) for y in responses]
    rows = []
    for name, fit in fits.items():
        seconds = statistics.median(_seconds(lambda: fit(responses[0])) for _ in range(repeats))
        fitted = [fit(y) for y in responses]
        rows.append(dict(tree=name, seconds=seconds,
                         max_abs_diff=max(np.abs(a - b).max() for a, b in zip(reference, fitted)),
                         max_l1_distance=max(np.abs(a - b).sum() for a, b in zip(reference, fitted)),
                         min_top10_overlap=min(len(set(np.argsort(-a)[:10]) & set(np.argsort(-b)[:10]))
                                               for a, b in zip(reference, fitted))))
    return rows


def _seconds(run):
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def throughput(setup, surrogate, num_images, every=20):
    """fast_image_lime's explanations per second over the first `num_images` of the validation set, study settings,
    in bulk mode (`frozen=True`, the frozen copy built by the first of them), and the plain passes timed beside them: every plain batch size, and eager batches of 128 under no_grad, once
    after every `every` explanations. The fastest plain pass is the least of the batch sizes' medians. The ratios
    then hold when the machine's speed drifts during the minutes the run takes, as it does on a shared machine."""
    pairs = list(zip(setup.val_images[:num_images], setup.val_labels[:num_images]))
    times, plain, eager_128 = [], {n: [] for n in BATCH_SIZES}, []
    for start in range(0, len(pairs), every):
        for image, label in pairs[start:start + every]:
            times.append(_seconds(lambda: fast_image_lime(setup.net, image, int(label), segmentation=setup.grid,
                                                          num_samples=NUM_SAMPLES, seed=0, surrogate=surrogate,
                                                          frozen=True)))
        for n in BATCH_SIZES: plain[n].append(_seconds(setup.forward(setup.net, n)))
        eager_128.append(_seconds(setup.forward(setup.net, 128, grad_mode=torch.no_grad)))
    fastest_plain = min(statistics.median(t) for t in plain.values())
    return dict(explanations=len(pairs), seconds=sum(times), per_second=len(pairs) / sum(times),
                fastest_plain=fastest_plain, median_explanation=statistics.median(times),
                eager_128=statistics.median(eager_128))


def _status(field):
    "A field of /proc/self/status in bytes."
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def memory_probe(num_samples, surrogate):
    "Run in a fresh process: the peak memory one fast_image_lime call adds, by RSS high-water mark and tracemalloc."
    setup = Setup()
    setup.explain(num_samples=256, surrogate=surrogate)()  # loads everything and makes the fast copy
    tracemalloc.start()
    Path("/proc/self/clear_refs").write_text("5")  # resets the RSS high-water mark
    before = _status("VmRSS")
    setup.explain(num_samples=num_samples, surrogate=surrogate)()
    peak_rss = _status("VmHWM") - before
    return dict(num_samples=num_samples, surrogate=surrogate, rss_before=before, peak_rss_added=peak_rss,
                tracemalloc_peak=tracemalloc.get_traced_memory()[1])


def first_call_probe(surrogate, repeats):
    """Run in a fresh process: the first fast_image_lime call, then the floor, eager batches of 128 under no_grad and
    the surrogate fit, warm."""
    setup = Setup()
    first = _seconds(setup.explain(surrogate=surrogate))
    floor = statistics.median(_seconds(setup.forward(setup.net, setup.floor_batch)) for _ in range(repeats))
    eager_128 = statistics.median(_seconds(setup.forward(setup.net, 128, grad_mode=torch.no_grad))
                                  for _ in range(repeats))
    fit_once = {"tree": lambda: setup.sklearn_tree(setup.scores[:, 0]),
                "fast_tree": lambda: setup.tree(setup.scores[:, 0]),
                "linear": lambda: setup.ridge(setup.scores[:, 0])}[surrogate]
    fit = statistics.median(_seconds(fit_once) for _ in range(repeats))
    return dict(surrogate=surrogate, first_call=first, floor=floor, fit=fit, ratio=first / (floor + fit),
                eager_128=eager_128, ratio_eager_128=first / (eager_128 + fit))


def in_subprocess(args, threads):
    "Run this script with `args` in a fresh process and return the JSON it prints last."
    command = [sys.executable, __file__, "--threads", str(threads), *args]
    # glibc then gives every block of 64 KiB or more back to the system when it is freed, so that the RSS high-water
    # mark follows the memory in use instead of what the allocator keeps for later
    env = os.environ | {"MALLOC_MMAP_THRESHOLD_": "65536"}
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def summarise(times):
    "Median seconds, and median over rounds of the ratio to the floor, per case."
    floor = times["floor"]
    return {name: dict(seconds=statistics.median(t), ratio=statistics.median(a / b for a, b in zip(t, floor)))
            for name, t in times.items()}


def goals(r):
    "Every goal of the issue: (goal, measured, met)."
    s = r["summary"]
    ratio = lambda name: s[name]["ratio"]
    best = lambda prefix: min((v["ratio"], k) for k, v in s.items() if k.startswith(prefix))
    scoring = ratio("sampling and scoring, 4 classes")
    one = {"linear": ratio("fast_image_lime linear, batch 128"),  # against the floor alone: the fit is tiny
           "tree": ratio("fast_image_lime tree, batch 128") / (1 + ratio("fit: sklearn tree")),
           "fast_tree": ratio("fast_image_lime fast_tree, batch 128") / (1 + ratio("fit: BitTree"))}
    fits_4 = {"linear": "fit: ClosedFormRidge, 4 separate fits", "tree": "fit: sklearn tree, 4 classes",
              "fast_tree": "fit: BitTree, 4 classes"}
    four = {k: ratio(f"fast_image_lime {k}, 4 classes") / (scoring + ratio(fit)) for k, fit in fits_4.items()}
    bulk = r["throughput"]["linear"]
    per_explanation = 1 / bulk["per_second"] / bulk["fastest_plain"]
    bulk_eager = bulk["median_explanation"] / bulk["eager_128"]
    first = {p["surrogate"]: p["ratio"] for p in r["first_call"]}
    memory = {(m["surrogate"], m["num_samples"]): m["peak_rss_added"] for m in r["memory"]}
    memory_growth = {k: memory[(k, 16384)] / memory[(k, 4096)] - 1 for k in MEMORY_SURROGATES}
    linear = one["linear"]
    peers = {"lime at its defaults": (ratio("lime, batch_size 10"), 2.5),
             "Captum's Lime at its best": (best("Captum Lime")[0], 2),
             "Captum's KernelShap at its best": (best("Captum KernelShap")[0], 2)}
    reference = {"linear": "the floor", "tree": "floor + sklearn tree fit", "fast_tree": "floor + BitTree fit"}
    return [
        *[(f"fast_image_lime, {k} surrogate <= 1.10x ({reference[k]})", f"{v:.2f}x", v <= 1.10) for k, v in one.items()],
        *[(f"4 classes, {k} <= 1.10x (one scoring pass + 4 fits)", f"{v:.2f}x", v <= 1.10) for k, v in four.items()],
        ("many explanations, linear, <= 0.5x the fastest plain forward pass each", f"{per_explanation:.2f}x",
         per_explanation <= 0.5),
        ("many explanations, linear, median <= 0.5x eager batches of 128 under no_grad", f"{bulk_eager:.2f}x",
         bulk_eager <= 0.5),
        *[(f"first call in a fresh process, {k} <= 1.10x (floor + fit)", f"{v:.2f}x", v <= 1.10)
          for k, v in first.items()],
        *[(f"first call in a fresh process, {p['surrogate']} <= 1.10x (eager batches of 128 under no_grad + fit)",
           f"{p['ratio_eager_128']:.2f}x", p["ratio_eager_128"] <= 1.10) for p in r["first_call"]],
        *[(f">= {goal}x faster than {peer} (linear)", f"{value / linear:.1f}x", value / linear >= goal)
          for peer, (value, goal) in peers.items()],
        *[(f"peak memory at 16384 samples within 10% of 4096, {k}", f"{v:+.0%}", v <= 0.10)
          for k, v in memory_growth.items()],
    ]


def markdown(r):
    "The results as markdown tables."
    m, s = r["machine"], r["summary"]
    lines = [f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}), Python {m['python']}, torch {m['torch']}, "
             f"numpy {m['numpy']}, scikit-learn {m['scikit-learn']}, lime {m['lime']}, captum {m['captum']}; "
             f"{r['threads']} torch/BLAS thread(s), {r['repeats']} rounds; the floor's batch size: {r['floor_batch']}.",
             "",
             "| case | median s | x floor |", "|---|---:|---:|"]
    lines += [f"| {name} | {v['seconds']:.3f} | {v['ratio']:.2f} |" for name, v in s.items()]
    if r.get("compile_first_call") is not None:
        lines.append(f"| torch.compile(fast copy): first call (compiling) | {r['compile_first_call']:.1f} | "
                     f"{r['compile_first_call'] / s['floor']['seconds']:.0f} |")
    lines.append(f"| frozen_network(fast copy): building it | {r['frozen_build']:.2f} | "
                 f"{r['frozen_build'] / s['floor']['seconds']:.1f} |")
    lines += ["", "First call in a fresh process (no warm-up), against the warm floor and fit of that process:", "",
              "| surrogate | first call s | floor s | eager 128 no_grad s | fit s | first / (floor + fit) | "
              "first / (eager 128 + fit) |", "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {p['surrogate']} | {p['first_call']:.3f} | {p['floor']:.3f} | {p['eager_128']:.3f} | "
              f"{p['fit']:.3f} | {p['ratio']:.2f} | {p['ratio_eager_128']:.2f} |" for p in r["first_call"]]
    lines += ["", "Peak memory one call adds (fresh process, after a 256-sample warm-up call):", "",
              "| surrogate | samples | RSS high-water added | tracemalloc peak |", "|---|---:|---:|---:|"]
    lines += [f"| {p['surrogate']} | {p['num_samples']} | {p['peak_rss_added'] / 2**20:.1f} MiB | "
              f"{p['tracemalloc_peak'] / 2**20:.1f} MiB |" for p in r["memory"]]
    lines += ["", "Whole validation set (study settings), against the fastest plain pass timed beside it, and "
              "training:", "", "| what | seconds | per second | fastest plain pass s | s per explanation / fastest "
              "plain pass | eager 128 no_grad s | median explanation / eager 128 |", "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {t['explanations']} explanations, {name} | {t['seconds']:.1f} | {t['per_second']:.2f} | "
              f"{t['fastest_plain']:.3f} | {t['seconds'] / t['explanations'] / t['fastest_plain']:.2f} | "
              f"{t['eager_128']:.3f} | {t['median_explanation'] / t['eager_128']:.2f} |"
              for name, t in r["throughput"].items()]
    lines.append(f"| training the default network (bench_train.main) | {r['training']['total_seconds']:.1f} "
                 "| | | | | |")
    lines += ["", "Faster trees (fit time on one image; importances against scikit-learn's full tree with "
              "random_state=0, on 8 images of the study):", "",
              "| tree | fit s | max abs diff | max L1 distance | min top-10 overlap |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {row['tree']} | {row['seconds']:.3f} | {row['max_abs_diff']:.4f} | {row['max_l1_distance']:.4f} | "
              f"{row['min_top10_overlap']} |" for row in r["tree_fits"]]
    lines += ["", "| goal | measured | met |", "|---|---:|---|"]
    lines += [f"| {goal} | {value} | {'yes' if met else '**no**'} |" for goal, value, met in r["goals"]]
    return "\n".join(lines)


def main(repeats:int=5, # rounds of every timed case
         threads:int=1, # torch and BLAS threads for every row (set by the caller)
         compile:bool=True, # also time torch.compile of the fast copy
         throughput_images:int=400, # validation images explained for the throughput (400: all of them)
         keep:str|None=None, # also write every number to this JSON file
        )->dict: # every measurement
    "Run the whole benchmark."
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_train import main as train_main
    setup = Setup()
    compiled, compile_first_call = compile_fast_copy(setup) if compile else (None, None)
    setup.floor_batch  # chosen first, so that the build below is timed alone
    frozen_build = _seconds(lambda: setup.frozen)  # the build that frozen=True makes at its first call
    print("timing in rounds", file=sys.stderr)
    times = in_rounds(timing_cases(setup, compiled), repeats)
    print("tree fits, first calls, memory, throughput, training", file=sys.stderr)
    result = dict(machine=machine(), threads=threads, repeats=repeats, floor_batch=setup.floor_batch, times=times,
                  summary=summarise(times),
                  compile_first_call=compile_first_call, frozen_build=frozen_build, tree_fits=tree_fits(setup, repeats),
                  first_call=[in_subprocess(["--first-call-probe", s], threads) for s in FIRST_CALL_SURROGATES],
                  memory=[in_subprocess(["--memory-probe", str(n), s], threads)
                          for s in MEMORY_SURROGATES for n in (4096, 16384)],
                  throughput={s: throughput(setup, s, throughput_images) for s in ("tree", "linear")},
                  training=train_main())
    if keep: Path(keep).write_text(json.dumps(result, indent=1, default=str))  # before anything can fail
    result["goals"] = goals(result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds of every timed case")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch and BLAS threads for every row (default: torch's own count here, %(default)s)")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (it takes tens of seconds)")
    parser.add_argument("--json", help="also write every number to this file")
    parser.add_argument("--throughput-images", type=int, default=400,
                        help="validation images explained in a row for the bulk goal (default: all %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: one round, no torch.compile, 20 images for the throughput")
    parser.add_argument("--memory-probe", nargs=2, metavar=("SAMPLES", "SURROGATE"), help=argparse.SUPPRESS)
    parser.add_argument("--first-call-probe", metavar="SURROGATE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        if args.memory_probe: print(json.dumps(memory_probe(int(args.memory_probe[0]), args.memory_probe[1])))
        elif args.first_call_probe: print(json.dumps(first_call_probe(args.first_call_probe, args.repeats)))
        else:
            result = (main(1, args.threads, False, 20, args.json) if args.quick
                      else main(args.repeats, args.threads, not args.no_compile, args.throughput_images, args.json))
            print(markdown(result))
            if args.json: Path(args.json).write_text(json.dumps(result, indent=1, default=str))
