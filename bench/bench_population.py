"""How `specx-nb population` scales: one and two worker processes here, and a two-worker Dask cluster started with
dask's own `dask scheduler` and `dask worker` commands, with Dask's allocator setting for its workers and with the one
the population chapter advises, each run with an empty network cache (training included).

Run: `python bench/bench_population.py` for the quick population (minutes), `--full` for the full one (hours;
`--full --seeds 1` for its settings on one seed, 38 networks), `--runs` to pick the runs, `--json PATH` to keep the
numbers. It also measures the Dask scheduler's overhead per task with tasks that do nothing, for the time model of
bench/README.md.
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full population instead of --quick")
    parser.add_argument("--seeds", type=int, default=5, help="with --full: training seeds (default 5, the full one)")
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS),
                        help="the runs to make, the first being the reference of the efficiency (default: all)")
    parser.add_argument("--json", metavar="PATH", help="keep the numbers in a JSON file")
    args = parser.parse_args()
    if shutil.which("dask") is None: sys.exit("the `dask` command is missing: pip install -e '.[bench]'")
    main(not args.full, args.seeds, args.runs, args.json)
