"""Time a cold run of the whole study: `specx-nb study` with the defaults and an empty network cache, against a fresh
process that trains the default network from scratch, timed right before and right after it in the same run.

Run: `python bench/bench_study.py`. Goal: the cold study at most 9 times the training process (the median of the
two beside it), on the same machine in the same run; it prints the study's steps as the study times them.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAIN = "from specx_nb.train import train_default_network; train_default_network(0, progress=False)"
GOAL = 9  # the cold study, in fresh training processes


def _process_seconds(code, env):
    "Wall seconds of a fresh Python process running `code`."
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    "Wall time of a cold default study, of the training process beside it, and the time of each study step, in s."
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "SPECX_NB_CACHE": cache}
        study = ("import sys; from specx_nb.cli import main; "
                 f"sys.exit(main(['study', '--out', {out!r}, '--overwrite', '--quiet']))")
        before = _process_seconds(TRAIN, env)  # trains from scratch: the cache is neither read nor written
        wall = _process_seconds(study, env)
        after = _process_seconds(TRAIN, env)
        steps = json.loads((Path(out) / "metrics.json").read_text())["timings_s"]
    training = statistics.median([before, after])
    return {"wall_s": wall, "steps_s": steps, "training_s": [before, after], "ratio": wall / training}


if __name__ == "__main__":
    r = main()
    print(f"cold study: {r['wall_s']:.0f} s; a fresh process training the default network: "
          + " and ".join(f"{s:.1f} s" for s in r["training_s"])
          + f" (before and after); the study is {r['ratio']:.1f} times the training (goal <= {GOAL})")
    print("steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["steps_s"].items()))
    print(json.dumps(r))
