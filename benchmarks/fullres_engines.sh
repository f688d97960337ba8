#!/usr/bin/env bash
# `malunet predict` on a folder of full-resolution images with each engine in turn (torch, onnx, onnx on one
# thread), ROUNDS rounds: seconds per image and stage times as predict prints them, wall time and peak RSS.
#   benchmarks/fullres_engines.sh FOLDER [ROUNDS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
folder="$1" rounds="${2:-3}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$here/malunet" --version >/dev/null # builds once, outside the timings
for r in $(seq 1 "$rounds"); do
  for cfg in torch onnx onnx1; do
    case $cfg in torch) args=();; onnx) args=(--engine onnx);; onnx1) args=(--engine onnx --threads 1);; esac
    rm -rf "$out/$cfg"
    /usr/bin/time -f "$cfg: %e s wall, %M KB peak RSS" dotnet "$here/src/Malunet.Cli/bin/Release/net10.0/Malunet.Cli.dll" \
      predict --input "$folder" --output "$out/$cfg" "${args[@]}" 2>&1 | grep -E "s per image|peak RSS" | tr '\n' ' '
    echo
  done
done
