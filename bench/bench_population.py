"""How `specx-nb population` scales: one and two worker processes here, and a two-worker Dask cluster started with
dask's own `dask scheduler` and `dask worker` commands, with Dask's allocator setting for its workers and with the one
the population chapter advises, each run with an empty network cache (training included).

Run: `python bench/bench_population.py` for the quick population (minutes), `--full` for the full one (hours;
`--full --seeds 1` for its settings on one seed, 38 networks), `--runs` to pick the runs, `--json PATH` to keep the
numbers. It also measures the Dask scheduler's overhead per task with tasks that do nothing, for the time model of
bench/README.md.

`--breakdown` measures one network's cost part by part instead, as `network_records` runs it in the population (one
torch thread, the full population's settings), on a few cached networks of different kinds: a fresh training, the
truth, LIME's scoring per layout, its tree and ridge fits, the comparators; with `--peer DIR` (a copy of the
package's code before a change, e.g. `git archive COMMIT specx_nb | tar -x -C DIR`) it measures that code too,
network by network in turn, so that a change's saving is read from one run, and checks that both give the same
records; it also says how far they are from the stored nbs/population.json. `--samples` measures how far the
readings the pages rely on move with 512 and 1024 LIME samples against 2048 (the population's), and what fewer
samples save.
"""
import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# glibc's allocator thresholds that the population chapter advises for Dask workers (Dask's own default for them,
# MALLOC_TRIM_THRESHOLD_=65536 alone, freezes the mmap threshold at 128 KiB)
ADVISED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "67108864"}
# key: (name, workers, the Dask workers' allocator variables, or None for local processes)
RUNS = {"1": ("1 process", 1, None), "2": ("2 processes", 2, None),
        "dask": ("Dask, 2 workers, Dask's allocator setting", 2, {}),
        "dask-advised": ("Dask, 2 workers, advised allocator setting", 2, ADVISED_MALLOC)}


@contextmanager
def dask_cluster(workers, env):
    "A scheduler and `workers` single-threaded worker processes, from dask's command line; its address."
    address = f"tcp://127.0.0.1:{free_port()}"
    scheduler = subprocess.Popen(["dask", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                  "--no-dashboard"], stderr=subprocess.DEVNULL, env=env)
    worker = subprocess.Popen(["dask", "worker", address, "--nworkers", str(workers), "--nthreads", "1",
                               "--no-dashboard"], stderr=subprocess.DEVNULL, env=env)
    try:
        from distributed import Client
        with Client(address, timeout="30s") as client: client.wait_for_workers(workers, timeout=60)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)


def population_seconds(quick, seeds, env, *options):
    "Wall time of one population run with a fresh output folder."
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "specx_nb", "population", "--out", f"{out}/population", "--quiet",
                   *(["--quick"] if quick else ["--seeds", str(seeds)]), *options]
        start = time.perf_counter()
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start, len(json.loads(open(f"{out}/population/population.json").read())
                                                 ["settings"]["networks"])


def task_overhead(address, tasks=2000):
    "Seconds per task of submitting and gathering tasks that do nothing."
    from distributed import Client
    with Client(address) as client:
        start = time.perf_counter()
        client.gather(client.map(lambda i: i, range(tasks), pure=False))
        return (time.perf_counter() - start) / tasks


def main(quick, seeds, runs, path):
    results = {}
    for key in runs:
        name, workers, malloc = RUNS[key]
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, SPECX_NB_CACHE=cache)  # cold: every network is trained in the run
            for variable in ADVISED_MALLOC: env.pop(variable, None)
            if malloc is not None:
                with dask_cluster(workers, {**env, **malloc}) as address:
                    seconds, networks = population_seconds(quick, seeds, env, "--scheduler", address)
                    results["overhead_s"] = task_overhead(address)
            else: seconds, networks = population_seconds(quick, seeds, env, "--workers", str(workers))
        results[name] = dict(seconds=seconds, networks=networks, workers=workers)
    base = results[RUNS[runs[0]][0]]
    print(f"{'quick' if quick else f'full ({seeds} seed(s))'} population, {base['networks']} networks, "
          f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), cold network cache")
    print(f"| run | workers | wall s | networks per min | efficiency against {RUNS[runs[0]][0]} |")
    print("|---|---:|---:|---:|---:|")
    for key in runs:
        name = RUNS[key][0]
        r = results[name]
        print(f"| {name} | {r['workers']} | {r['seconds']:.0f} | {60 * r['networks'] / r['seconds']:.2f} | "
              f"{base['seconds'] * base['workers'] / (r['workers'] * r['seconds']):.2f} |")
    if "overhead_s" in results:
        print(f"Dask scheduler overhead per task: {1000 * results['overhead_s']:.1f} ms")
    if path: open(path, "w").write(json.dumps(results, indent=1))


ROOT = Path(__file__).resolve().parent.parent
STORED = ROOT / "nbs" / "population.json"
# cached networks of different kinds: (head, data, seed, planted class, strength)
BREAKDOWN = [("time_max", "planted", 0, "ThreeFrequency", 0.25), ("dense", "planted", 1, "Pulse", 0.25),
             ("time_max", "default", 0), ("time_max", "no_background", 1), ("dense", "varying", 0)]
PARTS = ("training (fresh, one thread)", "network from the cache", "truth: tone versions", "truth: margins",
         "LIME scoring, grid", "LIME scoring, rows", "LIME tree fits", "LIME ridge fits", "comparators")


def stored_records(spec):
    "The records of `spec` in nbs/population.json."
    fields = spec._asdict()
    return [r for r in json.loads(STORED.read_text())["records"] if all(r[k] == v for k, v in fields.items())]


def deviation(records, stored):
    "The largest absolute difference between records and the stored ones: readings, margin changes, accuracies."
    import numpy as np
    def numbers(record):
        return np.array([*np.ravel(list(record["readings"].values())),
                         *np.ravel(list(record["margin_change"].values())), *record["accuracy"].values()], float)
    if [r["class_name"] for r in records] != [r["class_name"] for r in stored]: return float("inf")
    return float(max(np.nanmax(np.abs(numbers(a) - numbers(b))) for a, b in zip(records, stored)))


def same_records(records, other):
    "Whether two networks' records are the same as JSON writes them (NaN included)."
    return json.dumps(records, sort_keys=True) == json.dumps(other, sort_keys=True)


def timed_parts(population, seconds):
    "Wrap the functions `network_records` calls so that each adds its seconds to `seconds`; undo with the result."
    def timing(owner, name, part_of):
        function = getattr(owner, name)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try: return function(*args, **kwargs)
            finally:
                part = part_of(*args, **kwargs)
                if part: seconds[part] = seconds.get(part, 0.0) + time.perf_counter() - start
        setattr(owner, name, timed)
        return lambda: setattr(owner, name, function)
    def layout(net, image, fill, feature_map, *args, **kwargs):  # the rows layout has 40 features
        return f"LIME scoring, {'rows' if feature_map.max() < 40 else 'grid'}"
    tree = lambda masks, y, weights, surrogate="tree", *a, **k: "LIME tree fits" if surrogate == "tree" else None
    return [timing(population, "population_network", lambda *a, **k: "network from the cache"),
            timing(population, "tone_versions", lambda *a, **k: "truth: tone versions"),
            timing(population, "intervention_effects", lambda *a, **k: "truth: margins"),
            timing(population, "fast_scores", layout), timing(population, "fit_surrogate", tree),
            timing(population.ClosedFormRidge, "fit", lambda *a, **k: "LIME ridge fits"),
            timing(population, "comparator_band_shares", lambda *a, **k: "comparators")]


def breakdown_one(fields, train):
    "One network's records and the seconds of each part, with the code this process imports (a child's work)."
    import torch
    from specx_nb import population
    from specx_nb.core import torch_threads
    from specx_nb.train import trained_network
    spec = population.NetworkSpec(*fields)
    seconds = {}
    if train:
        with tempfile.TemporaryDirectory() as cache, torch_threads(1):
            start = time.perf_counter()
            trained_network(spec.seed, head=spec.head, cache_dir=cache, **population.simulation(spec))
            seconds["training (fresh, one thread)"] = time.perf_counter() - start
    population.network_records(spec, obs_per_class=1, num_samples=64, shap_samples=16)  # warm-up
    undo = timed_parts(population, seconds)
    start = time.perf_counter()
    records = population.network_records(spec)
    seconds["network_records"] = time.perf_counter() - start
    for restore in undo: restore()
    return dict(seconds=seconds, records=records, torch=torch.__version__)


def breakdown_child(code, fields, train):
    "Run breakdown_one in a fresh process that imports the package from `code`."
    env = dict(os.environ, PYTHONPATH=str(code), PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(fields),
                          "--train" if train else "--no-train"], env=env, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.splitlines()[-1])


def breakdown(peer, networks, train, path):
    "Each part's seconds per network with this code (and the peer's), and whether the records are the stored ones."
    from specx_nb.population import NetworkSpec, network_key
    runs = {"this code": ROOT, **({"peer": Path(peer).resolve()} if peer else {})}
    results = {name: {} for name in runs}
    for fields in BREAKDOWN[:networks]:
        key, stored = network_key(NetworkSpec(*fields)), stored_records(NetworkSpec(*fields))
        records = {}
        for name, code in runs.items():
            found = results[name][key] = breakdown_child(code, fields, train and name == "this code")
            records[name] = found.pop("records")
            found["stored_deviation"] = deviation(records[name], stored)
            print(f"{name}, {key}: {found['seconds']['network_records']:.1f} s, largest difference from the stored "
                  f"records {found['stored_deviation']:.5f}", file=sys.stderr, flush=True)
        if peer: results["this code"][key]["same_as_peer"] = same_records(records["this code"], records["peer"])
    print_breakdown(results)
    if path: open(path, "w").write(json.dumps(results, indent=1))


REST = "the rest (images, averages, ...)"


def network_parts(run, trained):
    "Per network: every part's seconds, the rest of network_records, and the network in all."
    parts = {}
    for key, found in run.items():
        seconds = dict(found["seconds"])
        records, _ = seconds.pop("network_records"), seconds.pop(PARTS[0], None)
        training = trained[key]["seconds"].get(PARTS[0], 0.0)  # the same training code in every run
        parts[key] = {PARTS[0]: training, **{p: seconds.get(p, 0.0) for p in PARTS[1:]},
                      REST: records - sum(seconds.values()), "network": training + records}
    return parts


def print_breakdown(results):
    "Every part's mean seconds per network and its share, per run, and each network's total."
    import numpy as np
    mine = results["this code"]
    parts = {name: network_parts(run, mine) for name, run in results.items()}
    same = [r["same_as_peer"] for r in mine.values() if "same_as_peer" in r]
    print(f"Mean over {len(mine)} networks, one torch thread, {os.cpu_count()} cores "
          f"({platform.processor() or platform.machine()}); largest difference from nbs/population.json: "
          + ", ".join(f"{name} {max(r['stored_deviation'] for r in run.values()):.5f}" for name, run in results.items())
          + (f"; records identical to the peer's: {sum(same)}/{len(same)}" if same else ""))
    print("| part | " + " | ".join(f"{name} s | share" for name in results)
          + (" | saved s |" if len(results) > 1 else " |"))
    print("|---|" + "---:|---:|" * len(results) + ("---:|" if len(results) > 1 else ""))
    for part in (*PARTS, REST, "network"):
        means = [np.mean([p[part] for p in run.values()]) for run in parts.values()]
        totals = [np.mean([p["network"] for p in run.values()]) for run in parts.values()]
        cells = [f"{m:.2f} | {m / t:.1%}" for m, t in zip(means, totals)]
        print(f"| {part} | " + " | ".join(cells) + (f" | {means[1] - means[0]:.2f} |" if len(means) > 1 else " |"))
    truth = lambda p: p["truth: tone versions"] + p["truth: margins"]
    ridge = lambda p: p["LIME ridge fits"]
    print("| network | " + " | ".join(f"{name}: in all s | truth s | ridge s" for name in results) + " |")
    print("|---|" + "---:|---:|---:|" * len(results))
    for key in mine:
        print(f"| {key} | " + " | ".join(f"{run[key]['network']:.1f} | {truth(run[key]):.2f} | {ridge(run[key]):.2f}"
                                         for run in parts.values()) + " |")


# the readings the pages rely on (specx_nb.detection's READINGS: the recommended one, and the original's), with
# the fills they need; the networks: a tone planted at 0.25 in each class, and the controls without a tone
RELIED_ON = ("lime_linear/margin/floor", "lime_tree/probability/mean")
SAMPLED = [(head, "planted", seed, c, 0.25) for head in ("time_max", "dense") for seed in (0, 1)
           for c in ("SingleFrequency", "ThreeFrequency", "Gaussian", "Pulse")] + [
           (head, "no_background", seed) for head in ("time_max", "dense") for seed in (0, 1)]
COUNTS = (512, 1024, 2048)  # 2048: the population's, the reference
# LIME's samples per layout a population could use, timed against the stored population's 2048 for both
OPTIONS = {"2048 both (stored)": 2048, "rows 1024": {"grid": 2048, "rows": 1024},
           "rows 512": {"grid": 2048, "rows": 512}, "1024 both": 1024, "512 both": 512}


def relied_on_readings(spec):
    "Per class: the truth, and RELIED_ON's positive shares at each count, averaged over images as network_records does."
    import numpy as np
    from specx_nb.core import torch_threads
    from specx_nb.data import CLASS_NAMES
    from specx_nb.population import (has_tone, intervention_effects, lime_band_shares, population_network, reliance,
                                     tone_versions)
    from specx_nb.spectrogram import default_split
    with torch_threads(1):
        net, (labels, _, val) = population_network(spec), default_split(seed=spec.seed)
        versions, labels, found = tone_versions(spec), labels[val], {}
        effects = intervention_effects(net, versions, labels)
        for c, (name, tone) in enumerate(zip(CLASS_NAMES, has_tone(spec))):
            found[name] = dict(relies=reliance(effects[name], bool(tone))["relies"])
            for count in COUNTS:
                per_image = [lime_band_shares(net, x, c, fills=("mean", "floor"), num_samples=count, seed=spec.seed)
                             for x in versions["as trained"][np.flatnonzero(labels == c)[:3]]]
                found[name][count] = {f"{r}/{layout}": round(float(np.nanmean([p[f"{r}/{layout}"][0]
                                                                                for p in per_image])), 5)
                                      for r in RELIED_ON for layout in ("grid", "rows")}
    return found


def auc(positives, negatives):
    "The chance that a positive's value exceeds a negative's, ties half."
    import numpy as np
    p, n = np.asarray(positives)[:, None], np.asarray(negatives)[None, :]
    return float(np.mean((p > n) + 0.5 * (p == n)))


def option_seconds(rounds=3):
    "Median seconds of lime_band_shares on one image (every fill, as the population) for each of OPTIONS."
    import numpy as np
    from specx_nb.core import torch_threads
    from specx_nb.population import NetworkSpec, lime_band_shares, population_network, tone_versions
    spec = NetworkSpec("time_max", "planted", 0, "ThreeFrequency", 0.25)
    net, image = population_network(spec), tone_versions(spec)["as trained"][0]
    seconds = {name: [] for name in OPTIONS}
    with torch_threads(1):
        lime_band_shares(net, image, 1, num_samples=64)
        for _ in range(rounds):
            for name, count in OPTIONS.items():
                start = time.perf_counter()
                lime_band_shares(net, image, 1, num_samples=count)
                seconds[name].append(time.perf_counter() - start)
    return {name: float(np.median(v)) for name, v in seconds.items()}


def sample_stability(networks, path):
    "How far the relied-on readings move with fewer samples against 2048, and what fewer samples save."
    import numpy as np
    from specx_nb.population import NetworkSpec
    records = {}
    for fields in SAMPLED[:networks]:
        for name, found in relied_on_readings(NetworkSpec(*fields)).items():
            records[(fields, name)] = dict(head=fields[0], class_name=name, relies=found.pop("relies"),
                                           control=fields[1] == "no_background", shares=found)
        print(f"{fields}: done", file=sys.stderr, flush=True)
    readings = list(next(iter(records.values()))["shares"][2048])
    relying = [r for r in records.values() if r["relies"]]
    pairs = [(a, b) for a in relying for b in records.values()
             if b["control"] and (b["head"], b["class_name"]) == (a["head"], a["class_name"])]
    nonrelying = [r for r in records.values() if not r["relies"]]
    print(f"{len(records)} network-class records ({len(relying)} relying), {len(pairs)} relying-control pairs; "
          "positive band share against 2048 samples, the population's")
    print("| reading | samples | max abs diff | median abs diff | pairs reordered | AUC relying vs not (2048) |")
    print("|---|---:|---:|---:|---:|---:|")
    results = {}
    for reading in readings:
        for count in COUNTS[:-1]:
            diffs = [abs(r["shares"][count][reading] - r["shares"][2048][reading]) for r in records.values()]
            diffs = [d for d in diffs if np.isfinite(d)]
            order = lambda a, b, n: np.sign(a["shares"][n][reading] - b["shares"][n][reading])
            flipped = sum(order(a, b, count) != order(a, b, 2048) for a, b in pairs)
            areas = [auc([r["shares"][n][reading] for r in relying], [r["shares"][n][reading] for r in nonrelying])
                     for n in (count, 2048)]
            results[f"{reading}@{count}"] = dict(max=max(diffs), median=float(np.median(diffs)), flipped=int(flipped),
                                                 pairs=len(pairs), auc=areas[0], auc_2048=areas[1])
            print(f"| {reading} | {count} | {max(diffs):.3f} | {np.median(diffs):.3f} | {flipped}/{len(pairs)} | "
                  f"{areas[0]:.3f} ({areas[1]:.3f}) |")
    seconds = option_seconds()
    print("LIME on one image, every reading (as the population), one torch thread, median of 3 rounds:")
    print("| samples | s per image | x stored | saved per network (12 images) |")
    print("|---|---:|---:|---:|")
    base = seconds["2048 both (stored)"]
    for name, value in seconds.items():
        print(f"| {name} | {value:.2f} | {value / base:.2f} | {12 * (base - value):.1f} s |")
    if path: open(path, "w").write(json.dumps(dict(stability=results, seconds=seconds), indent=1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full population instead of --quick")
    parser.add_argument("--seeds", type=int, default=5, help="with --full: training seeds (default 5, the full one)")
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS),
                        help="the runs to make, the first being the reference of the efficiency (default: all)")
    parser.add_argument("--json", metavar="PATH", help="keep the numbers in a JSON file")
    parser.add_argument("--breakdown", action="store_true", help="one network's cost, part by part (see above)")
    parser.add_argument("--peer", metavar="DIR", help="with --breakdown: also the package's code in DIR")
    parser.add_argument("--train", action=argparse.BooleanOptionalAction, default=True,
                        help="with --breakdown: time a fresh training of each network (default: yes)")
    parser.add_argument("--samples", action="store_true", help="the relied-on readings with fewer LIME samples")
    parser.add_argument("--networks", type=int, help="with --breakdown or --samples: the first N of its networks")
    parser.add_argument("--child", metavar="FIELDS", help=argparse.SUPPRESS)  # breakdown_one, in a fresh process
    args = parser.parse_args()
    if args.child: print(json.dumps(breakdown_one(json.loads(args.child), args.train)))
    elif args.breakdown: breakdown(args.peer, args.networks or len(BREAKDOWN), args.train, args.json)
    elif args.samples: sample_stability(args.networks or len(SAMPLED), args.json)
    else:
        if shutil.which("dask") is None: sys.exit("the `dask` command is missing: pip install -e '.[bench]'")
        main(not args.full, args.seeds, args.runs, args.json)
