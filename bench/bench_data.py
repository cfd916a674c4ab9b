"""Time the simulation: 2000 series (500 per class) and their spectrogram images.

Run: `python bench/bench_data.py`. Goal: under 1 s on 2 cores.
"""
import statistics
import time

from specx_nb.data import generate_time_series
from specx_nb.spectrogram import spectrogram_images


def timed(f, repeats=7):
    "Median wall time of `f()` over `repeats` runs, in seconds, after one warm-up."
    f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    "Median seconds for the series alone and for series plus spectrograms."
    series = timed(lambda: generate_time_series(500))
    both = timed(lambda: spectrogram_images(generate_time_series(500)[0]))
    return {"series_s": series, "series_and_spectrograms_s": both}


if __name__ == "__main__":
    r = main()
    print(f"2000 series: {r['series_s']:.3f} s; with spectrograms: {r['series_and_spectrograms_s']:.3f} s "
          f"(goal < 1 s)")
