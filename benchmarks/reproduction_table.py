#!/usr/bin/env python3
"""Prints docs/REPRODUCTION.md's tables from measured files only: the comparison's run folders (metrics.csv,
test.json), the `evaluate --out` folders and the `bench` outputs that benchmarks/reproduce_comparison.sh writes;
with --isic2018, the ISIC 2018 tables from the ISIC 2018 run folders and what benchmarks/reproduce_isic2018.sh writes.

    python3 benchmarks/reproduction_table.py runs/compare-50ep /tmp/comparison
    python3 benchmarks/reproduction_table.py --isic2018 runs/isic2018-50ep /tmp/isic2018
"""
import csv, json, os, re, statistics, sys

MODELS = [("malunet", "MALUNet"), ("egeunet", "EGE-UNet"), ("unext-s", "UNeXt-S")]


def bench(path):
    text = open(path).read()
    params = int(re.search(r"params\s+([\d,]+) \(thop\)", text).group(1).replace(",", ""))
    macs = int(re.search(r"MACs ([\d,]+)", text).group(1).replace(",", ""))
    b1 = re.findall(r"batch 1\s+median ([\d.]+) ms", text)
    b8 = re.findall(r"batch 8\s+median [\d.]+ ms = ([\d.]+) ms/image", text)
    step = re.search(r"train step median ([\d.]+) ms", text)
    return dict(params=params, macs=macs, torch1=float(b1[0]), onnx1=float(b1[1]), torch8=float(b8[0]), onnx8=float(b8[1]),
                step=float(step.group(1)) if step else None)


def summary(folder):
    return json.load(open(os.path.join(folder, "summary.json")))


def pct(v):
    return f"{100 * v:.2f}"


def main(runs, measured):
    print("| Model | Params (M) | GFLOPs | test set | mIoU (%) | DSC (%) | Acc (%) | Sen (%) | Spe (%) | per-image Dice (mean ± std) |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for key, name in MODELS:
        b = bench(os.path.join(measured, f"{key}-bench.txt"))
        for part, label in [("650", "650 (paper split)"), ("20", "20 (official test)")]:
            s = summary(os.path.join(measured, f"{key}-{part}"))
            m, d = s["paper_metrics"], s["per_image_256"]["dice"]
            print(f"| {name} | {b['params'] / 1e6:.3f} | {b['macs'] / 1e9:.3f} | {label} | {pct(m['miou'])} | {pct(m['dsc'])} | "
                  f"{pct(m['acc'])} | {pct(m['sen'])} | {pct(m['spe'])} | {d['mean']:.4f} ± {d['std']:.4f} |")
    print()
    print("| Model | best epoch (of 50) | val mIoU at it | epochs' wall time (s, median; min-max) | compute-only training step, batch 8 (ms) | "
          "inference per image, batch 1: torch / ONNX Runtime (ms) | batch 8, per image: torch / ONNX Runtime (ms) |")
    print("| --- | ---: | ---: | --- | ---: | --- | --- |")
    for key, name in MODELS:
        b = bench(os.path.join(measured, f"{key}-bench.txt"))
        run = os.path.join(runs, key)
        rows = list(csv.DictReader(open(os.path.join(run, "metrics.csv")))) if os.path.exists(os.path.join(run, "metrics.csv")) else []
        test = json.load(open(os.path.join(run, "test.json")))
        if rows:
            best = min(rows, key=lambda r: float(r["val_loss"]))
            secs = [float(r["seconds"]) for r in rows]
            wall = f"{statistics.median(secs):.0f}; {min(secs):.0f}-{max(secs):.0f}"
            best_txt, val_txt = str(int(best["epoch"]) + 1), f"{float(best['val_miou']):.4f}"
        else:
            wall, best_txt, val_txt = "(run folder not kept)", str(test.get("best_epoch", "")), ""
        step = f"{b['step']:.0f}" if b["step"] else ""
        print(f"| {name} | {best_txt} | {val_txt} | {wall} | {step} | {b['torch1']:.1f} / {b['onnx1']:.1f} | {b['torch8']:.1f} / {b['onnx8']:.1f} |")


# What the MALUNet paper prints for ISIC 2018 (its second table): mIoU and DSC, in percent.
PAPER_ISIC2018 = {"malunet": {"miou": 80.25, "dsc": 89.04}}


def row(name, label, s, paper=None):
    m, d = s["paper_metrics"], s["per_image_256"]["dice"]
    printed = f"{paper['miou']:.2f} / {paper['dsc']:.2f}" if paper else ""
    return (f"| {name} | {label} | {pct(m['miou'])} | {pct(m['dsc'])} | {pct(m['acc'])} | {pct(m['spe'])} | {pct(m['sen'])} | "
            f"{d['mean']:.4f} ± {d['std']:.4f} | {printed} |")


def isic2018(runs, measured):
    print("| Model | test set | mIoU (%) | DSC (%) | Acc (%) | Spe (%) | Sen (%) | per-image Dice (mean ± std) | paper: mIoU / DSC (%) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for key, name in MODELS:
        folder = os.path.join(measured, f"{key}-isic2018-779")
        if os.path.exists(os.path.join(folder, "summary.json")):
            print(row(name, f"{summary(folder)['paper_metrics']['images']} (paper's 7:3 split)", summary(folder), PAPER_ISIC2018.get(key)))
    print()
    print("| Model | weights trained on | scored on (test ids the weights never saw) | mIoU (%) | DSC (%) | Acc (%) | Spe (%) | Sen (%) | per-image Dice (mean ± std) |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for key, name in MODELS:
        for weights, scored, folder in [("ISIC 2017", "ISIC 2018", f"{key}-isic2017-on-isic2018"), ("ISIC 2018", "ISIC 2017", f"{key}-isic2018-on-isic2017")]:
            path = os.path.join(measured, folder)
            if not os.path.exists(os.path.join(path, "summary.json")):
                continue
            s = summary(path)
            m, d = s["paper_metrics"], s["per_image_256"]["dice"]
            print(f"| {name} | {weights} | {scored} ({m['images']}) | {pct(m['miou'])} | {pct(m['dsc'])} | {pct(m['acc'])} | "
                  f"{pct(m['spe'])} | {pct(m['sen'])} | {d['mean']:.4f} ± {d['std']:.4f} |")
    print()
    print("| Model | best epoch (of 50) | val mIoU at it | epochs' wall time (s, median; min-max) |")
    print("| --- | ---: | ---: | --- |")
    for key, name in MODELS:
        metrics = os.path.join(runs, key, "metrics.csv")
        if not os.path.exists(os.path.join(runs, key, "test.json")):
            continue  # not finished
        rows = list(csv.DictReader(open(metrics)))
        best = min(rows, key=lambda r: float(r["val_loss"]))
        secs = [float(r["seconds"]) for r in rows]
        print(f"| {name} | {int(best['epoch']) + 1} | {float(best['val_miou']):.4f} | {statistics.median(secs):.0f}; {min(secs):.0f}-{max(secs):.0f} |")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--isic2018":
        isic2018(*sys.argv[2:])
    elif len(sys.argv) == 3:
        main(*sys.argv[1:])
    else:
        sys.exit(__doc__)
