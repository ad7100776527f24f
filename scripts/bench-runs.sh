#!/usr/bin/env bash
# A push larger than one S3 object can hold, through a prefix policy: peak spool disk use and peak RSS.
# Disk must stay under 2.5x the part size whatever the dump size; memory must stay flat.
#
#   scripts/bench-runs.sh [SIZE] [PART_SIZE]      default: 5.5GiB 1GiB (sizes as gen-dump.mjs reads them)
#
# Needs the built CLI (npm run build), GNU time, and an S3 server: the local one is started
# (scripts/local-s3 up) unless AWS_ENDPOINT_URL is set. The dump is generated on the fly and sent with
# --compress none, so the stored run is as large as the dump (over 5 GiB: impossible as one POST object).
# SEALDROP_BENCH_SOURCE=zero reads /dev/zero instead of gen-dump.mjs (~60 MiB/s on 2 cores): a source
# faster than the upload is the worst case for the spool, which then holds two parts most of the time.
# SEALDROP_BENCH_RESTORE=1 also restores the run and compares checksums. The run is deleted at the end.
# Not part of CI: it moves ~6 GiB through the S3 server.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cli="$root/dist/cli/bin.cjs"
size=${1:-5.5GiB}
part=${2:-1GiB}
[ -f "$cli" ] || { echo "bench-runs: build first (npm run build)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-runs: needs GNU time (apt-get install time)" >&2; exit 1; }

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then eval "$("$here/local-s3" up)"; fi
export NODE_NO_WARNINGS=1 SEALDROP_PASSPHRASE=bench
bucket=${SEALDROP_BENCH_BUCKET:-sealdrop-bench-runs}
prefix="bench-$(date -u +%Y%m%dT%H%M%S)/"
work=$(mktemp -d "${TMPDIR:-/tmp}/sealdrop-bench-runs.XXXXXX")
spool="$work/spool"
mkdir -m 700 "$spool"
sampler=
cleanup() {
  [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

node "$cli" setup "s3://$bucket" --create --uploader arn:aws:iam:::user/sealdrop-uploader --apply-bucket-policy >/dev/null
node "$cli" key generate --uid "Bench <bench@example.com>" --out "$work/bench" >/dev/null 2>&1
AWS_ACCESS_KEY_ID=${SEALDROP_UPLOADER_ACCESS_KEY_ID:-$AWS_ACCESS_KEY_ID} \
  AWS_SECRET_ACCESS_KEY=${SEALDROP_UPLOADER_SECRET_ACCESS_KEY:-$AWS_SECRET_ACCESS_KEY} \
  node "$cli" policy mint "s3://$bucket/$prefix" --recipient "$work/bench.pub.asc" --max-size 5GiB \
  --expires 1d --out "$work/policy.json" --force >/dev/null 2>&1

# Samples the spool directory's size every 100 ms; the peak goes to a file.
(
  peak=0
  while :; do
    now=$(du -sb "$spool" 2>/dev/null | cut -f1)
    now=${now:-0}
    if [ "$now" -gt "$peak" ]; then
      peak=$now
      echo "$peak" >"$work/peak-disk"
    fi
    sleep 0.1
  done
) &
sampler=$!

bytes=$(node -e 'const [, n, u = ""] = /^([\d.]+)([a-z]*)$/i.exec(process.argv[1]); console.log(Math.round(n * ({ "": 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 })[u.toLowerCase()]))' "$size")
if [ "${SEALDROP_BENCH_SOURCE:-}" = zero ]; then
  source_cmd=(head -c "$bytes" /dev/zero)
else
  source_cmd=(node "$here/gen-dump.mjs" "$size" 7)
fi
echo "bench-runs: pushing $size (--compress none) in parts of $part to s3://$bucket/$prefix" >&2
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_ENDPOINT_URL -u AWS_REGION \
  /usr/bin/time -v -o "$work/time.txt" \
  node "$cli" push --policy "$work/policy.json" --compress none --part-size "$part" --spool-dir "$spool" \
  --json -- "${source_cmd[@]}" >"$work/result.json"
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=

part_bytes=$(node -e 'console.log(require(process.argv[1]).run.parts[0].size)' "$work/result.json")
node - "$work/result.json" "$work/time.txt" "$(cat "$work/peak-disk" 2>/dev/null || echo 0)" "$part_bytes" <<'EOF'
const { readFileSync } = require('node:fs');
const [resultPath, timePath, peakDisk, partBytes] = process.argv.slice(2);
const result = JSON.parse(readFileSync(resultPath, 'utf8'));
const time = readFileSync(timePath, 'utf8');
const rssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(time)[1]);
const GiB = 1024 ** 3, MiB = 1024 ** 2;
const ratio = Number(peakDisk) / Number(partBytes);
console.log(`dump read          ${(result.bytesIn / GiB).toFixed(2)} GiB`);
console.log(`run stored         ${(result.bytesOut / GiB).toFixed(2)} GiB in ${result.run.parts.length} parts + manifest (run ${result.run.runId})`);
console.log(`time               ${result.seconds.toFixed(1)} s, ${(result.bytesIn / MiB / result.seconds).toFixed(1)} MiB/s`);
console.log(`peak spool disk    ${(Number(peakDisk) / MiB).toFixed(1)} MiB = ${ratio.toFixed(2)}x part size (limit 2.5x): ${ratio < 2.5 ? 'OK' : 'OVER'}`);
console.log(`peak RSS           ${(rssKiB / 1024).toFixed(1)} MiB`);
if (ratio >= 2.5) process.exitCode = 1;
EOF

if [ "${SEALDROP_BENCH_RESTORE:-}" = 1 ]; then
  echo "bench-runs: restoring and comparing checksums" >&2
  restored=$(node "$cli" restore "s3://$bucket/$prefix" --identity "$work/bench.key.asc" --quiet | sha256sum | cut -d' ' -f1)
  expected=$("${source_cmd[@]}" | sha256sum | cut -d' ' -f1)
  [ "$restored" = "$expected" ] && echo "restore            byte-identical" || { echo "restore            MISMATCH"; exit 1; }
fi

# Free the space: every version under the prefix (admin credentials).
node "$here/s3-empty.mjs" "$bucket" "$prefix"
