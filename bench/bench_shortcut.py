"""Time `shortcut_check` on one network, four classes, ten images each, against the plain direct test.

Run as `python bench/bench_shortcut.py`. The network is the default one (`trained_network(0)`, from the cache after
its first training, which is not timed). The peer, in the same run, is the direct test on the same images: the band
floored and the margins read once, with no interval and no verdict, on one thread as the check runs its forward
passes, and at torch's default thread count. It prints the seconds of each (the best of five rounds) and the ratio
of the check to the one-thread peer; `main()` returns the same numbers as a dict.
"""
import json
import time

import numpy as np
import torch

from specx_nb.core import torch_threads
from specx_nb.population import NetworkSpec, logit_margins, tone_versions
from specx_nb.regions import band_rows, fill_region
from specx_nb.shortcut import shortcut_check
from specx_nb.spectrogram import IMAGE_SIZE, default_split
from specx_nb.train import trained_network


def best_of(rounds, run):
    "The shortest time of `rounds` calls of `run`, in seconds."
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main(per_class:int=10, # images of each class
         rounds:int=5, # timed rounds of each; the best counts
        )->dict: # seconds of the check and of the peer, their ratio, the verdicts
    "Time the check and the direct test on the same images of the default network."
    net = trained_network(0)[0]
    labels = default_split(seed=0)[0][default_split(seed=0)[2]]
    chosen = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(4)])
    images, labels = tone_versions(NetworkSpec("time_max", "default", 0))["as trained"][chosen], labels[chosen]
    region = np.broadcast_to(band_rows()[:, None], IMAGE_SIZE)
    check = lambda: shortcut_check(net, images, labels, region)
    direct = lambda: logit_margins(net, fill_region(images, region, "floor"), labels) - logit_margins(
        net, images, labels)
    def direct_one_thread():
        with torch_threads(1): direct()
    check(), direct(), direct_one_thread()  # warm up
    seconds = dict(check=best_of(rounds, check), direct_one_thread=best_of(rounds, direct_one_thread),
                   direct_default_threads=best_of(rounds, direct))
    return dict(seconds=seconds, ratio=seconds["check"] / seconds["direct_one_thread"], images=len(images),
                verdicts={r["class_name"]: r["uses_region"] for r in check()},
                torch_threads_available=torch.get_num_threads())


if __name__ == "__main__":
    result = main()
    seconds = result["seconds"]
    print(f"shortcut_check, {result['images']} images: {seconds['check']:.3f} s; direct test "
          f"{seconds['direct_one_thread']:.3f} s on one thread, {seconds['direct_default_threads']:.3f} s at the "
          f"default count; ratio to the one-thread peer {result['ratio']:.2f}")
    print(json.dumps(result))
