#!/usr/bin/env python3
"""Prints docs/REPRODUCTION.md's tables from measured files only: the comparison's run folders (metrics.csv,
test.json), the `evaluate --out` folders and the `bench` outputs that benchmarks/reproduce_comparison.sh writes.

    python3 benchmarks/reproduction_table.py runs/compare-50ep /tmp/comparison
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


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
