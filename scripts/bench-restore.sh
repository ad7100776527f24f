#!/usr/bin/env bash
# Peak memory of restore and verify at two sizes: it must stay flat (1 GiB within 20% of 64 MiB).
#
#   scripts/bench-restore.sh [SIZES...]      default: 64M 1G (IEC sizes, as numfmt reads them)
#
# Needs the built CLI (npm run build), gpg, GNU time, and an S3 server: the local one is started
# (scripts/local-s3 up) unless AWS_ENDPOINT_URL is set. Each dump is sealed twice, as push does it
# (OpenPGP.js) and the stock way (gzip -1 | gpg --encrypt); SEALDROP_BENCH_MAKERS="openpgp" picks one.
# Objects go to a scratch bucket with admin credentials, and are deleted at the end.
# Prints one line per run: size, command, max RSS, seconds. Work files live in a temp dir, removed at exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cli="$root/dist/cli/bin.cjs"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(64M 1G)
[ -f "$cli" ] || { echo "bench-restore: build first (npm run build)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-restore: needs GNU time (apt-get install time)" >&2; exit 1; }

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then eval "$("$here/local-s3" up)"; fi
export NODE_NO_WARNINGS=1
bucket=${SEALDROP_BENCH_BUCKET:-sealdrop-bench}
work=$(mktemp -d "${TMPDIR:-/tmp}/sealdrop-bench.XXXXXX")
trap 'rm -rf "$work"; node "$here/s3-empty.mjs" "$bucket" bench- 2>/dev/null || true' EXIT

node "$cli" setup "s3://$bucket" --create --json >/dev/null
node "$cli" key generate --uid "Bench <bench@example.com>" --out "$work/bench" --no-passphrase >/dev/null 2>&1
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$work/bench.pub.asc" 2>/dev/null

# upload FILE KEY: PutObject with admin credentials (single PUT: fine up to 5 GB).
upload() {
  (cd "$root" && node --input-type=module -e '
    import { createReadStream, statSync } from "node:fs";
    import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
    const [file, bucket, key] = process.argv.slice(1);
    const client = new S3Client({ endpoint: process.env.AWS_ENDPOINT_URL, forcePathStyle: true, region: process.env.AWS_REGION ?? "us-east-1",
      // Streamed bodies otherwise go aws-chunked with a trailing checksum, which Ceph RGW answers with 411.
      requestChecksumCalculation: "WHEN_REQUIRED" });
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(file), ContentLength: statSync(file).size }));
  ' "$1" "$bucket" "$2")
}

# measure LABEL COMMAND...: max RSS (MiB) and wall time of one run.
measure() {
  local label=$1 stats
  shift
  stats="$work/time.txt"
  /usr/bin/time -v "$@" 2>"$stats" >/dev/null || { cat "$stats" >&2; exit 1; }
  awk -v label="$label" '
    /Maximum resident set size/ { rss = $NF / 1024 }
    /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); secs = (n == 3 ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2]) }
    END { printf "%-40s max RSS %7.1f MiB  %6.1f s\n", label, rss, secs }' "$stats"
}

# seal MAKER < DATA > OBJECT: as `sealdrop push` makes it (OpenPGP.js, 1 MiB partial chunks), or as stock
# gpg does (8 KiB partial chunks, which OpenPGP.js decrypts markedly slower).
seal() {
  case $1 in
    gpg) gpg --batch --quiet --trust-model always --compress-algo none --cipher-algo AES256 --recipient bench@example.com --encrypt ;;
    openpgp) (cd "$root" && node --input-type=module -e '
      import { randomBytes } from "node:crypto";
      import { readFileSync } from "node:fs";
      import { Readable, Writable } from "node:stream";
      import * as openpgp from "openpgp";
      const key = await openpgp.readKey({ armoredKey: readFileSync(process.argv[1], "utf8") });
      const message = await openpgp.createMessage({ binary: Readable.toWeb(process.stdin) });
      const sealed = await openpgp.encrypt({ message, encryptionKeys: key, format: "binary",
        sessionKey: { data: randomBytes(32), algorithm: "aes256" },
        config: { aeadProtect: false, preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed } });
      await sealed.pipeTo(Writable.toWeb(process.stdout));
    ' "$work/bench.pub.asc") ;;
  esac
}

for size in "${sizes[@]}"; do
  # Base64 of random bytes: text that gzip shrinks only to ~76%, so every stage has real work.
  bytes=$(numfmt --from=iec "$size")
  head -c $((bytes * 3 / 4)) /dev/urandom | base64 -w 76 >"$work/dump"
  truncate -s "$bytes" "$work/dump"
  for maker in ${SEALDROP_BENCH_MAKERS:-openpgp gpg}; do
    key="bench-$size-$maker.sql.gz.gpg"
    gzip -1 <"$work/dump" | seal "$maker" >"$work/object"
    upload "$work/object" "$key"
    echo "$size by $maker: dump $(stat -c %s "$work/dump") B, object $(stat -c %s "$work/object") B" >&2
    target="s3://$bucket/$key"
    measure "$size $maker restore --out" node "$cli" restore "$target" --identity "$work/bench.key.asc" --out "$work/restored" --force -q
    cmp -s "$work/dump" "$work/restored" || { echo "bench-restore: $size by $maker restored differently!" >&2; exit 1; }
    rm -f "$work/restored" "$work/object"
    measure "$size $maker restore > /dev/null" node "$cli" restore "$target" --identity "$work/bench.key.asc" -q
    measure "$size $maker verify" node "$cli" verify "$target" --identity "$work/bench.key.asc" -q
  done
  rm -f "$work/dump"
done
