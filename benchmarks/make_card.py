#!/usr/bin/env python3
"""Writes the machine-readable model card of bundled weights (weights/<model>-isic2017.card.json) from a run folder
and the summary.json of two `malunet evaluate --out` runs: the paper split's 650 test images and the 20 official
ISIC 2017 test images. Standard library only.

    ./malunet evaluate --weights RUN/checkpoints/best.safetensors --data ../shared/data/isic2017 \
        --split ../shared/data/isic2017/splits/malunet_7to3_seed42.json --subset test --out /tmp/eval650
    ./malunet evaluate --weights RUN/checkpoints/best.safetensors --data ../shared/data/isic2017 --subset test --out /tmp/eval20
    python3 benchmarks/make_card.py RUN /tmp/eval650 /tmp/eval20 "MACHINE" > weights/MODEL-isic2017.card.json
"""
import csv, datetime, json, os, sys

RECIPE_KEYS = ["epochs", "batch_size", "lr", "beta1", "beta2", "eps", "weight_decay", "t_max", "eta_min",
               "bce_weight", "dice_weight", "seed", "image_size", "augment", "select_on", "val_ratio"]


def scores(folder, images):
    summary = json.load(open(os.path.join(folder, "summary.json")))
    m = summary["paper_metrics"]
    out = {k: m[k] for k in ["miou", "dsc", "acc", "sen", "spe"]}
    out["images"] = m["images"]
    assert m["images"] == images, f"{folder}: {m['images']} images, expected {images}"
    out["per_image_256"] = summary["per_image_256"]
    if "per_image_original" in summary:
        out["per_image_original"] = summary["per_image_original"]
    return out


def main(run, eval650, eval20, machine):
    config = json.load(open(os.path.join(run, "config.json")))
    test = json.load(open(os.path.join(run, "test.json")))
    with open(os.path.join(run, "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    model = config["model"]["model"]
    card = {
        "model": model,
        "model_options": config["model"],
        "weights": f"{model}-isic2017.safetensors",
        "data": "ISIC 2017 Task 1 training + validation images (2150), the MALUNet paper split: 1500 train / 650 test "
                "(splits/malunet_7to3_seed42.json); 150 of the 1500 held out for selection (seed 43)",
        "recipe": {k: config[k] for k in RECIPE_KEYS},
        "best_epoch": test["best_epoch"] + 1,
        "epochs_trained": len(rows),
        "training_seconds": round(sum(float(r["seconds"]) for r in rows)),
        "machine": machine,
        "test_650": scores(eval650, 650),
        "official_test_20": scores(eval20, 20),
        "date": datetime.date.today().isoformat(),
    }
    json.dump(card, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
