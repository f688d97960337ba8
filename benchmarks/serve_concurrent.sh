#!/bin/bash
# Throughput of `malunet serve` under concurrent uploads: 24 full-resolution JPEGs, 8 requests at a time, after one
# warm-up request, then 6 uploads one after another. Run from the repository root:
#   benchmarks/serve_concurrent.sh BATCH PORT [THREADS]   (BATCH: serve --batch-size; THREADS: serve --threads)
B=$1; P=$2; T=${3:-}
./malunet serve --quiet --batch-size $B --queue 64 --urls http://127.0.0.1:$P --engine torch ${T:+--threads $T} >/tmp/malunet_serve_$B.log 2>&1 &
SP=$!
for i in $(seq 1 60); do curl -s http://127.0.0.1:$P/api/health >/dev/null && break; sleep 1; done
imgs=(/work/shared/data/isic2017_fullres/images/*.jpg)
# warm-up
curl -s -F image=@${imgs[0]} http://127.0.0.1:$P/api/segment -o /dev/null
start=$(date +%s.%N)
for i in $(seq 0 23); do echo ${imgs[$((i % 3))]}; done | xargs -P 8 -I{} curl -s -F image=@{} http://127.0.0.1:$P/api/segment -o /dev/null -w "%{http_code}\n" | sort | uniq -c | tr '\n' ' '
end=$(date +%s.%N)
echo "batch $B${T:+, $T thread(s)}: 24 full-resolution uploads, 8 at a time: $(echo "$end - $start" | bc) s"
start=$(date +%s.%N)
for i in $(seq 0 5); do curl -s -F image=@${imgs[$((i % 3))]} http://127.0.0.1:$P/api/segment -o /dev/null; done
end=$(date +%s.%N)
echo "batch $B${T:+, $T thread(s)}: 6 uploads one at a time: $(echo "($end - $start) / 6" | bc -l | cut -c1-5) s each"
kill $SP; wait $SP 2>/dev/null
