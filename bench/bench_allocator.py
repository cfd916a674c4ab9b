"""Why a network takes longer on a Dask worker: one network of the quick population explained (network cache warm,
so no training) in a plain process, in a thread, on a Dask worker, and in plain processes with the environment
variables a Dask worker gets, one at a time.

Run: `python bench/bench_allocator.py` (a few minutes; it trains the network first if the cache lacks it). Every row
is a fresh process that explains the same network twice; it prints the seconds of both calls as a markdown table.
"""
import json
import os
import subprocess
import sys
import threading
import time

from bench_population import ADVISED_MALLOC as ADVISED

OPTIONS = dict(obs_per_class=2, num_samples=512, shap_samples=128)  # the quick population's settings
PLAIN_ROWS = [
    ("a plain Python process", {}, False),
    ("the same, in a thread of its own", {}, True),
    ("a plain process with `OMP_NUM_THREADS=1`, as Dask sets it", {"OMP_NUM_THREADS": "1"}, False),
    ("a plain process with `MALLOC_TRIM_THRESHOLD_=65536`, as Dask's nanny sets it",
     {"MALLOC_TRIM_THRESHOLD_": "65536"}, False),
    ("a plain process with `MALLOC_MMAP_THRESHOLD_=131072` alone", {"MALLOC_MMAP_THRESHOLD_": "131072"}, False),
    ("a plain process with `MALLOC_TRIM_THRESHOLD_=65536 MALLOC_MMAP_THRESHOLD_=67108864`",
     {"MALLOC_TRIM_THRESHOLD_": "65536", "MALLOC_MMAP_THRESHOLD_": "67108864"}, False),
    ("a plain process with the advised `MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=67108864`", ADVISED,
     False)]


def first_spec():
    "The quick population's first network."
    from specx_nb.population import population_specs
    return population_specs([0], heads=("time_max",), planted_classes=("ThreeFrequency", "Pulse"),
                            strengths=(0.25, 1.0))[0]


def two_calls(spec):
    "Seconds of two calls of `network_records` in a row, in this process."
    from specx_nb.population import network_records
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        network_records(spec, **OPTIONS)
        seconds.append(time.perf_counter() - start)
    return seconds


def probe(in_thread):
    "Print the two calls' seconds as JSON, from the main thread or a thread of its own."
    found = []
    if in_thread:
        thread = threading.Thread(target=lambda: found.append(two_calls(first_spec())))
        thread.start()
        thread.join()
    else: found.append(two_calls(first_spec()))
    print(json.dumps(found[0]))


def plain_row(variables, in_thread):
    "The two calls' seconds in a fresh process with `variables` set and the allocator's other variables unset."
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "OMP_NUM_THREADS"}
    result = subprocess.run([sys.executable, __file__, "--probe", "thread" if in_thread else "main"],
                            env={**env, **variables}, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def dask_rows():
    "The two calls' seconds on a single-threaded Dask worker: as Dask starts it, without its profiler, and advised."
    import dask
    from distributed import Client, LocalCluster
    rows = []
    for name, profile, variables in [("a Dask worker (`LocalCluster`, one single-threaded worker)", True, {}),
                                     ("the same, Dask's profiler off", False, {}),
                                     ("the same, started with the advised variables", True, ADVISED)]:
        os.environ.update(variables)  # a worker keeps the variables its nanny finds
        try:
            with dask.config.set({"distributed.worker.profile.enabled": profile}), \
                 LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                 Client(cluster) as client:
                rows.append((name, client.submit(two_calls, first_spec(), pure=False).result()))
        finally:
            for variable in variables: del os.environ[variable]
    return rows


def main():
    from specx_nb.population import population_network
    population_network(first_spec())  # trained once, before any timing
    rows = [(name, plain_row(variables, in_thread)) for name, variables, in_thread in PLAIN_ROWS[:2]]
    rows += dask_rows()
    rows += [(name, plain_row(variables, in_thread)) for name, variables, in_thread in PLAIN_ROWS[2:]]
    print("| where | first s | second s |\n|---|---:|---:|")
    for name, (first, second) in rows: print(f"| {name} | {first:.1f} | {second:.1f} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]: probe(sys.argv[2] == "thread")
    else: main()
