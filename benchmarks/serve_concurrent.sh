#!/bin/bash
# Throughput of `malunet serve` under concurrent uploads: 24 full-resolution JPEGs, 8 requests at a time, after one
# warm-up request. Run from the repository root: benchmarks/serve_concurrent.sh BATCH PORT (BATCH: serve --batch-size).
B=$1; P=$2
./malunet serve --quiet --batch-size $B --queue 64 --urls http://127.0.0.1:$P --engine torch >/tmp/malunet_serve_$B.log 2>&1 &
SP=$!
for i in $(seq 1 60); do curl -s http://127.0.0.1:$P/api/health >/dev/null && break; sleep 1; done
imgs=(/work/shared/data/isic2017_fullres/images/*.jpg)
# warm-up
curl -s -F image=@${imgs[0]} http://127.0.0.1:$P/api/segment -o /dev/null
start=$(date +%s.%N)
for i in $(seq 0 23); do echo ${imgs[$((i % 3))]}; done | xargs -P 8 -I{} curl -s -F image=@{} http://127.0.0.1:$P/api/segment -o /dev/null -w "%{http_code}\n" | sort | uniq -c | tr '\n' ' '
end=$(date +%s.%N)
echo "batch $B: 24 full-resolution uploads, 8 at a time: $(echo "$end - $start" | bc) s"
kill $SP; wait $SP 2>/dev/null
