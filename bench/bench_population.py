"""Time `specx-nb population` with one and with two workers, on the same population.

Run: `python bench/bench_population.py` for the quick population (one seed per head and data variant; minutes), or
`python bench/bench_population.py --full` for the full one (five seeds; tens of minutes per run). Both runs use the
same network cache, filled before the first timed run, so they time the same work: the explanations and the
interventions, which joblib spreads over the workers.
"""
import argparse
import subprocess
import sys
import tempfile
import time


def run(workers, quick):
    "Wall time of one `specx-nb population` run, in seconds."
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "specx_nb", "population", "--out", f"{out}/population",
                   "--workers", str(workers), *(["--quick"] if quick else [])]
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full population instead of --quick")
    quick = not parser.parse_args().full
    run(2, quick)  # fills the network cache
    seconds = {workers: run(workers, quick) for workers in (1, 2)}
    print(f"{'quick' if quick else 'full'} population: " + ", ".join(f"{w} worker(s) {s:.0f} s" for w, s in seconds.items())
          + f"; 2 workers take {seconds[2] / seconds[1]:.2f}x the time of 1")
