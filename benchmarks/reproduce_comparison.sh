#!/usr/bin/env bash
# The measurements behind docs/REPRODUCTION.md: for MALUNet and its two peers (bundled ISIC 2017 weights), the
# paper's metrics and per-image Dice on the 650 test images of the paper split and on the 20 official test images,
# then (run it on a quiet machine) batch-1 latency with TorchSharp and ONNX Runtime and the training-step time.
#
#   benchmarks/reproduce_comparison.sh ../shared/data/isic2017 /tmp/comparison
set -euo pipefail
data="${1:?usage: reproduce_comparison.sh ISIC2017_DIR OUT_DIR}"
out="${2:?usage: reproduce_comparison.sh ISIC2017_DIR OUT_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$out"
for model in malunet egeunet unext-s; do
  "$here/malunet" evaluate --model "$model" --data "$data" --split "$data/splits/malunet_7to3_seed42.json" --subset test \
      --out "$out/$model-650" > "$out/$model-650.txt"
  "$here/malunet" evaluate --model "$model" --data "$data" --subset test --out "$out/$model-20" > "$out/$model-20.txt"
done
for model in malunet egeunet unext-s; do
  "$here/malunet" bench --model "$model" --engine both --train --runs 100 > "$out/$model-bench.txt"
done
tail -n +1 "$out"/*.txt
