#!/usr/bin/env bash
# The measurements behind docs/REPRODUCTION.md's ISIC 2018 tables: each model's ISIC 2018 weights (the run folders of
# `malunet ablate` on ISIC 2018) on the 779 test images of the paper's 7:3 split, and the cross-data-set scores: the
# bundled ISIC 2017 weights on the ISIC 2018 test ids they never saw, the ISIC 2018 weights on the ISIC 2017 test ids
# they never saw. With libtorch, as the ISIC 2017 cards were made.
#
#   benchmarks/reproduce_isic2018.sh RUNS_DIR ../shared/data/isic2017 ../shared/data/isic2018 OUT_DIR
set -euo pipefail
runs="${1:?usage: reproduce_isic2018.sh RUNS_DIR ISIC2017_DIR ISIC2018_DIR OUT_DIR}"
d17="${2:?}"; d18="${3:?}"; out="${4:?}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$out"
python3 "$here/benchmarks/cross_dataset_splits.py" "$d17" "$d18" "$out"
for model in malunet egeunet unext-s; do
  w18="$runs/$model/checkpoints/best.safetensors"
  if [ -f "$w18" ]; then
    "$here/malunet" evaluate --engine torch --weights "$w18" --data "$d18" --split "$d18/splits/malunet_7to3_seed42.json" \
        --subset test --out "$out/$model-isic2018-779" > "$out/$model-isic2018-779.txt"
    "$here/malunet" evaluate --engine torch --weights "$w18" --data "$d17" --split "$out/isic2017-test-unseen-by-isic2018.json" \
        --subset test --out "$out/$model-isic2018-on-isic2017" > "$out/$model-isic2018-on-isic2017.txt"
  fi
  "$here/malunet" evaluate --engine torch --model "$model" --trained-on isic2017 --data "$d18" \
      --split "$out/isic2018-test-unseen-by-isic2017.json" --subset test --out "$out/$model-isic2017-on-isic2018" \
      > "$out/$model-isic2017-on-isic2018.txt"
done
tail -n +1 "$out"/*.txt
