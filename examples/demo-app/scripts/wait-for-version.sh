#!/bin/sh
# wait-for-version.sh URL EXPECTED [SECONDS]: poll URL until its body is EXPECTED.
# A deployment gate: promote to the next stage only once this one serves the new build.
set -u
url=$1 expected=$2 limit=${3:-180}
fetch() {  # curl when installed, else Python's urllib (the runner host has Python)
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 2 "$1"
  else
    python3 -c 'import sys, urllib.request as u; print(u.urlopen(sys.argv[1], timeout=2).read().decode().strip())' "$1"
  fi
}
start=$(date +%s)
while :; do
  got=$(fetch "$url" 2>/dev/null || true)
  if [ "$got" = "$expected" ]; then
    echo "$url serves $expected"
    exit 0
  fi
  if [ $(( $(date +%s) - start )) -ge "$limit" ]; then
    echo "::error::$url still serves '${got:-nothing}' after ${limit}s (expected $expected)"
    exit 1
  fi
  sleep 0.2
done
