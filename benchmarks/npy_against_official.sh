#!/usr/bin/env bash
# `malunet predict X.npy --engine onnx` against the official model (benchmarks/official_npy_predict.py), whole
# processes alternating, ROUNDS times. Needs a checkout of the official code (not in this repository), Debian's
# python3-torch and python3-numpy, and a preprocessed N x 3 x 256 x 256 float32 X.npy:
#   ./malunet export --format pth --output /tmp/malunet.pth
#   benchmarks/npy_against_official.sh OFFICIAL_CHECKOUT /tmp/malunet.pth X.npy [ROUNDS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
official="$1" pth="$2" x="$3" rounds="${4:-3}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$here/malunet" --version >/dev/null # builds once, outside the timings
for r in $(seq 1 "$rounds"); do
  /usr/bin/time -f "official, whole process: %e s" /usr/bin/python3 "$here/benchmarks/official_npy_predict.py" \
    "$official" "$pth" "$x" "$out/official.npy" 8 2 2>&1 | tail -2
  /usr/bin/time -f "ours, whole process: %e s" dotnet "$here/src/Malunet.Cli/bin/Release/net10.0/Malunet.Cli.dll" \
    predict --input "$x" --engine onnx --output "$out/ours.npy" 2>&1 | grep -v "bundled weights" | tail -2
done
