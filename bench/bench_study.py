"""Time a cold run of the whole study: `specx-nb study` with the defaults and an empty network cache.

Run: `python bench/bench_study.py`. Goal: at most 3 minutes on 2 CPU cores.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main():
    "Wall time of a cold default study and the time of each of its steps, in seconds."
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "SPECX_NB_CACHE": cache}
        command = [sys.executable, "-c", "import sys; from specx_nb.cli import main; sys.exit(main())",
                   "study", "--out", out, "--overwrite", "--quiet"]
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        steps = json.loads((Path(out) / "metrics.json").read_text())["timings_s"]
    return {"wall_s": wall, "steps_s": steps}


if __name__ == "__main__":
    r = main()
    print(f"cold study: {r['wall_s']:.0f} s (goal <= 180 s); steps: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in r["steps_s"].items()))
