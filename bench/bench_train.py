"""Time the default training recipe from scratch, bypassing the cache.

Run as `python bench/bench_train.py`. It prints the total time (simulating the data and training), the time of every
epoch and the final validation accuracy; `main()` returns the same numbers as a dict.
"""
import inspect
import json
import time

import torch

from specx_nb.train import train_default_network, train_network

RECIPE = ("epochs", "batch_size", "learning_rate", "momentum")  # the settings whose defaults make the recipe


def main(seed:int=0, # seeds the data, the split, the initial weights and the training
        )->dict: # total and per-epoch seconds, validation accuracy, recipe and torch's thread count
    "Train the default network once with the default recipe (the defaults of `train_network`) and time it."
    start = time.perf_counter()
    _, history = train_default_network(seed, progress=False)
    total = time.perf_counter() - start
    return {"total_seconds": total,
            "training_seconds": sum(history["epoch_seconds"]),
            "epoch_seconds": history["epoch_seconds"],
            "val_accuracy": history["epoch_val_accuracy"][-1],
            "recipe": {k: inspect.signature(train_network).parameters[k].default for k in RECIPE},
            "torch_threads_available": torch.get_num_threads()}


if __name__ == "__main__":
    result = main()
    print(f"total (data and training): {result['total_seconds']:.1f} s")
    print(f"training: {result['training_seconds']:.1f} s, per epoch: "
          + ", ".join(f"{s:.2f}" for s in result["epoch_seconds"]) + " s")
    print(f"final validation accuracy: {result['val_accuracy']:.2%}")
    print(json.dumps(result))
