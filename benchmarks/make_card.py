#!/usr/bin/env python3
"""Writes the machine-readable model card of bundled weights (weights/<model>-<dataset>.card.json) from a run folder
and the summary.json of `malunet evaluate --engine torch --out` runs. ISIC 2017: the paper split's 650 test images and
the 20 official ISIC 2017 test images. ISIC 2018: the paper split's 779 test images (the official test masks are not
public), and the ISIC 2017 test images these weights never saw. Standard library only.

    ./malunet evaluate --engine torch --weights RUN/checkpoints/best.safetensors --data ../shared/data/isic2017 \
        --split ../shared/data/isic2017/splits/malunet_7to3_seed42.json --subset test --out /tmp/eval650
    ./malunet evaluate --engine torch --weights RUN/checkpoints/best.safetensors --data ../shared/data/isic2017 --subset test --out /tmp/eval20
    python3 benchmarks/make_card.py RUN /tmp/eval650 /tmp/eval20 "MACHINE" > weights/MODEL-isic2017.card.json

    benchmarks/reproduce_isic2018.sh RUNS ../shared/data/isic2017 ../shared/data/isic2018 /tmp/isic2018
    python3 benchmarks/make_card.py --isic2018 RUNS/MODEL /tmp/isic2018/MODEL-isic2018-779 \
        /tmp/isic2018/MODEL-isic2018-on-isic2017 "MACHINE" > weights/MODEL-isic2018.card.json
"""
import csv, datetime, json, os, sys

RECIPE_KEYS = ["epochs", "batch_size", "lr", "beta1", "beta2", "eps", "weight_decay", "t_max", "eta_min",
               "bce_weight", "dice_weight", "seed", "image_size", "augment", "select_on", "val_ratio"]


def scores(folder, images):
    summary = json.load(open(os.path.join(folder, "summary.json")))
    m = summary["paper_metrics"]
    out = {k: m[k] for k in ["miou", "dsc", "acc", "sen", "spe"]}
    out["images"] = m["images"]
    assert images is None or m["images"] == images, f"{folder}: {m['images']} images, expected {images}"
    out["per_image_256"] = summary["per_image_256"]
    if "per_image_original" in summary:
        out["per_image_original"] = summary["per_image_original"]
    return out


def main(run, eval650, eval20, machine, dataset="isic2017"):
    config = json.load(open(os.path.join(run, "config.json")))
    test = json.load(open(os.path.join(run, "test.json")))
    with open(os.path.join(run, "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    model = config["model"]["model"]
    card = {
        "model": model,
        "model_options": config["model"],
        "weights": f"{model}-{dataset}.safetensors",
        "data": "ISIC 2017 Task 1 training + validation images (2150), the MALUNet paper split: 1500 train / 650 test "
                "(splits/malunet_7to3_seed42.json); 150 of the 1500 held out for selection (seed 43)" if dataset == "isic2017" else
                "ISIC 2018 Task 1 training images (2594, longest side 256, masks with smoothed edges: lesion >= 128), the MALUNet "
                "paper's 7:3 split: 1815 train / 779 test (splits/malunet_7to3_seed42.json); 182 of the 1815 held out for "
                "selection (seed 43)",
        "recipe": {k: config[k] for k in RECIPE_KEYS},
        "best_epoch": test["best_epoch"] + 1,
        "epochs_trained": len(rows),
        "training_seconds": round(sum(float(r["seconds"]) for r in rows)),
        "machine": machine,
        **({"test_650": scores(eval650, 650), "official_test_20": scores(eval20, 20)} if dataset == "isic2017" else
           {"test_779": scores(eval650, 779), "unseen_isic2017_test": scores(eval20, None)}),
        "date": datetime.date.today().isoformat(),
    }
    json.dump(card, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--isic2018":
        main(*sys.argv[2:], dataset="isic2018")
    elif len(sys.argv) == 5:
        main(*sys.argv[1:])
    else:
        sys.exit(__doc__)
