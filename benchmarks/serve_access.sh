#!/bin/bash
# Requests per second of `malunet serve` at concurrency 1, 4 and 16, plain (loopback, no token) and with a token over
# HTTPS (a self-signed certificate made here), the same full-resolution JPEGs. Run from the repository root:
#   benchmarks/serve_access.sh PORT [REQUESTS]     (REQUESTS per concurrency level, default 32)
P=$1; N=${2:-32}
dir=$(mktemp -d)
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout $dir/key.pem -out $dir/cert.pem 2>/dev/null
token=bench-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
imgs=(/work/shared/data/isic2017_fullres/images/*.jpg)
run() { # name scheme extra-serve-args (the curl header, if any, in the array AUTH)
  ./malunet serve --quiet --queue 64 --rate-limit 100000 --rate-burst 1000 --urls $2://127.0.0.1:$P $3 >$dir/serve.log 2>&1 &
  local sp=$!
  for i in $(seq 1 90); do curl -sk "${AUTH[@]}" $2://127.0.0.1:$P/api/health >/dev/null && break; sleep 1; done
  curl -sk "${AUTH[@]}" -F image=@${imgs[0]} $2://127.0.0.1:$P/api/segment -o /dev/null   # warm-up
  for c in 1 4 16; do
    local start=$(date +%s.%N)
    codes=$(for i in $(seq 0 $((N - 1))); do echo ${imgs[$((i % 3))]}; done |
      xargs -P $c -I{} curl -sk "${AUTH[@]}" -F image=@{} $2://127.0.0.1:$P/api/segment -o /dev/null -w "%{http_code}\n" | sort | uniq -c | tr -s ' \n' ' ')
    local end=$(date +%s.%N)
    echo "$1, concurrency $c: $N requests in $(echo "$end - $start" | bc | cut -c1-6) s = $(echo "$N / ($end - $start)" | bc -l | cut -c1-5) requests/s (status:$codes)"
  done
  kill $sp; wait $sp 2>/dev/null
}
AUTH=()
run "http, no token" http ""
AUTH=(-H "Authorization: Bearer $token")
run "https + token" https "--https-cert $dir/cert.pem --https-key $dir/key.pem --token $token"
rm -rf $dir
