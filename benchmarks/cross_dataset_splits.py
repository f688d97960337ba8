#!/usr/bin/env python3
"""Writes the split files of the cross-data-set evaluation: each data set's test ids that the other data set's
weights never saw in training. The ISIC 2017 and 2018 sets share most images (1921 ids are in both), so scoring
ISIC 2017 weights on the whole ISIC 2018 test split would score images they were trained on. Each file's "train"
part is what the weights were trained on (their split's train ids), its "test" part the ids left to score.
Standard library only.

    python3 benchmarks/cross_dataset_splits.py ../shared/data/isic2017 ../shared/data/isic2018 OUT_DIR
"""
import json, os, sys

SPLIT = os.path.join("splits", "malunet_7to3_seed42.json")


def main(isic2017, isic2018, out):
    a = json.load(open(os.path.join(isic2017, SPLIT)))
    b = json.load(open(os.path.join(isic2018, SPLIT)))
    os.makedirs(out, exist_ok=True)
    for name, weights, scored, title in [("isic2018-test-unseen-by-isic2017", a, b, "ISIC 2018 test ids not in the ISIC 2017 training ids"),
                                         ("isic2017-test-unseen-by-isic2018", b, a, "ISIC 2017 test ids not in the ISIC 2018 training ids")]:
        seen = set(weights["train"]) | set(weights.get("val", []))
        test = [i for i in scored["test"] if i not in seen]
        split = {"description": f"{title}: {len(test)} of {len(scored['test'])}", "train": sorted(seen), "test": test}
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(split, f, indent=1)
        print(f"{name}.json: {len(test)} of {len(scored['test'])} test ids")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
