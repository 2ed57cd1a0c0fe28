#!/usr/bin/env bash
# Service row of the benchmark: the bench corpus's files up to 16 MB posted
# to `chainsweep serve` /api/check by 1, 8 and 64 concurrent clients
# (Python http.client, one file per request as the collectors send them),
# against `chainsweep scan` of the same files; then the latency of
# /api/check for one 1 MB file (p50, p99 of 300 requests, one client).
# usage: bench/serve.sh [BUILD_DIR]   env: BENCH_DIR, THREADS, CHAINSWEEP, STAMP
. "$(dirname "$0")/common.sh"
build=${1:-$src/build}
CS=${CHAINSWEEP:-$build/chainsweep}
stamp=${STAMP:-$(date -u +%Y%m%dT%H%M%SZ)}
out=bench/results/$stamp-serve.txt
read -r corpus _ _ < <(bash bench/corpus.sh "$BENCH_DIR")
work=$(mktemp -d)
spid=
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; rm -rf "$work"' EXIT
find "$corpus" -type f -size -16M -size +0 | sort > "$work/files"
n=$(wc -l < "$work/files")
bytes=$(xargs -a "$work/files" -d '\n' stat -c %s | awk '{s += $1} END {print s}')
mkdir -p "$work/tree"
i=0
while read -r f; do i=$((i + 1)); ln -s "$f" "$work/tree/$i"; done < "$work/files"
pack=(--pack "$src/packs/3cx-2023")
/usr/bin/time -f '%e' -o "$work/t" "$CS" scan -q --json -p "$THREADS" --follow-symlinks "${pack[@]}" "$work/tree" > /dev/null || true
scan_s=$(cat "$work/t")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$CS" serve -q "${pack[@]}" -p "$THREADS" --port "$port" --max-upload 64M --max-connections 128 > /dev/null 2>&1 &
spid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/api/status" && break; sleep 0.1; done
cat > "$work/client.py" <<'PY'
import http.client, os, sys, threading, time, uuid
port, conc, listing = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
files = [l.strip() for l in open(listing) if l.strip()]
lock = threading.Lock(); todo = list(reversed(files)); lat = []; errors = [0]
def body_of(path):
    b = uuid.uuid4().hex
    data = open(path, "rb").read()
    head = ('--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
            'Content-Type: application/octet-stream\r\n\r\n' % (b, os.path.basename(path))).encode()
    return b, head + data + ("\r\n--%s--\r\n" % b).encode()
def run():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    while True:
        with lock:
            if not todo: return
            p = todo.pop()
        b, body = body_of(p)
        t0 = time.time()
        c.request("POST", "/api/check?source=bench", body, {"Content-Type": "multipart/form-data; boundary=" + b})
        r = c.getresponse(); r.read()
        with lock:
            lat.append(time.time() - t0)
            if r.status != 200: errors[0] += 1
t0 = time.time()
ts = [threading.Thread(target=run) for _ in range(conc)]
[t.start() for t in ts]; [t.join() for t in ts]
el = time.time() - t0
lat.sort()
print("%.2f %d %.1f %.1f" % (el, errors[0], lat[len(lat) // 2] * 1000, lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000))
PY
{
  echo "chainsweep service benchmark $stamp"
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "files: $n from the bench corpus (each under 16 MB), $bytes bytes; $THREADS scan threads"
  printf '%-34s %9s %9s %9s %8s\n' run seconds files/s MB/s errors
  printf '%-34s %9s %9s %9s %8s\n' "chainsweep scan (same files)" "$scan_s" \
    "$(awk -v n="$n" -v s="$scan_s" 'BEGIN {printf "%.0f", n/s}')" "$(awk -v b="$bytes" -v s="$scan_s" 'BEGIN {printf "%.1f", b/1e6/s}')" 0
} > "$out"
for c in 1 8 64; do
  read -r s errs p50 p99 < <(python3 "$work/client.py" "$port" "$c" "$work/files")
  printf '%-34s %9s %9s %9s %8s\n' "serve /api/check, $c clients" "$s" \
    "$(awk -v n="$n" -v s="$s" 'BEGIN {printf "%.0f", n/s}')" "$(awk -v b="$bytes" -v s="$s" 'BEGIN {printf "%.1f", b/1e6/s}')" "$errs" >> "$out"
  printf '  ratio to scan %.2f; per request p50 %s ms, p99 %s ms\n' "$(awk -v a="$s" -v b="$scan_s" 'BEGIN {print a/b}')" "$p50" "$p99" >> "$out"
done
head -c 1048576 /dev/urandom > "$work/1mb.bin"
for i in $(seq 300); do echo "$work/1mb.bin"; done > "$work/one"
read -r s errs p50 p99 < <(python3 "$work/client.py" "$port" 1 "$work/one")
echo "latency of /api/check for a 1 MB file, 300 requests, one client: p50 $p50 ms, p99 $p99 ms ($errs errors)" >> "$out"
rss=$(ps -o rss= -p "$spid" | tr -d ' ')
echo "serve peak-ish RSS after the runs: $((rss / 1024)) MiB" >> "$out"
cat "$out"
