#!/usr/bin/env bash
# chainsweep serve end to end, on loopback: uploads the way each Thunderstorm
# collector sends them (../shared/intel/thunderstorm-api.md 2.1: chunked,
# Expect: 100-continue, absolute-form target, quoted boundary, odd file
# names, "Source"), sync and async, compared with `chainsweep scan` of the
# same files; the 3CX cases inside a ZIP; status/info shapes; and abuse
# (oversize, truncated, thousands of parts, a one-byte-per-second client,
# 500 connections at once, unknown ids, garbage methods and paths): each
# gets its documented answer and the server stays up under an RSS bound.
# Then a bearer token and TLS. Every loop is bounded in count and time.
# usage: serve.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
for t in curl jq python3 zip openssl; do command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }; done
work=$(mktemp -d /tmp/cs-serve-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
python3 "$SRC/tests/fixtures/make_fixtures.py" "$work/fx" > /dev/null
(cd "$work/fx" && zip -q "$work/3cx.zip" ffmpeg.dll d3dcompiler_47.dll)
printf 'nothing to see here\n' > "$work/clean.txt"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # start NAME ARGS... -> sets port, url; the server's stderr in $work/NAME.log
    local name=$1; shift
    port=$(free_port)
    "$CS" serve --no-default-packs --pack "$SRC/packs/3cx-2023" --port "$port" "$@" > "$work/$name.out" 2> "$work/$name.log" &
    pids+=($!)
    pid=$!
    local scheme=http
    [[ " $* " == *" --tls-cert "* ]] && scheme=https
    for _ in $(seq 100); do curl -sk -o /dev/null "$scheme://127.0.0.1:$port/api/status" && break; sleep 0.1; done
    url=$scheme://127.0.0.1:$port
}
jq_ok() { jq -e "$2" <<< "$1" > /dev/null; } # jq_ok JSON FILTER
alive() { kill -0 "$pid" 2>/dev/null && curl -s -m 5 -o /dev/null -w '%{http_code}' "$url/api/status" | grep -qx 200; }

start main -p 2 --max-upload 2M --request-timeout 4 --idle-timeout 10 --max-connections 600
check "serve: status answers 200 with uptime_seconds and the v1 fields" \
    bash -c "curl -s '$url/api/status' | jq -e 'has(\"uptime_seconds\") and has(\"scanned_samples\") and has(\"queued_async_requests\") and has(\"avg_scan_time_milliseconds\") and has(\"avg_wait_time_milliseconds\")' > /dev/null"
check "serve: info has both generations' fields" \
    bash -c "curl -s '$url/api/v1/info' | jq -e 'has(\"thor_version\") and has(\"yara_version\") and .version_info.thor and has(\"license_expiration\") and has(\"threads\")' > /dev/null"

# sync checks equal the scan's findings, file by file
"$CS" scan --json -q --no-default-packs --pack "$SRC/packs/3cx-2023" "$work/fx" > "$work/scan.jsonl"
for f in "$work"/fx/*; do
    b=$(basename "$f")
    want=$(jq -r --arg p "$f" 'select(.path == $p) | "\(.score) \([.reasons[].rule] | sort | join(","))"' "$work/scan.jsonl")
    got=$(curl -s -F "file=@$f" "$url/api/check?source=e2e" | jq -r 'if length == 0 then "" else .[0] | "\(.score) \([.matches[].rulename] | sort | join(","))" end')
    check "check $b: the scan's score and rules ($want)" [ "$got" = "$want" ]
done
check "check: a clean file is []" [ "$(curl -s -F "file=@$work/clean.txt" "$url/api/check")" = "[]" ]
r=$(curl -s -F "file=@$work/fx/ffmpeg.dll" "$url/api/check")
check "check: THOR 10 shape (level, module, message, context, matches)" jq_ok "$r" '.[0] | .level == "Alert" and .module == "Filescan" and (.message | length > 0) and (.context.sha256 | length == 64) and .context.type == "EXE" and .context.ext == ".dll" and (.context.firstBytes | startswith("4d5a")) and (.matches[0].rulename | length > 0) and (.matches[0].subscore > 0)'

# the ZIP: both planted DLLs found inside, and the archive itself
r=$(curl -s -F "file=@$work/3cx.zip" "$url/api/check")
check "check: the 3CX DLLs inside a ZIP upload are found" \
    jq_ok "$r" '[.[].context.file] | index("3cx.zip!/ffmpeg.dll") != null and index("3cx.zip!/d3dcompiler_47.dll") != null and index("3cx.zip") != null'

# how each client sends
check "Go: chunked, no Content-Length" bash -c "curl -s -H 'Transfer-Encoding: chunked' -F 'file=@$work/fx/ffmpeg.dll' '$url/api/check' | jq -e '.[0].score == 91' > /dev/null"
check "curl: Expect: 100-continue" bash -c "curl -s -H 'Expect: 100-continue' -F 'file=@$work/fx/ffmpeg.dll' '$url/api/check' | jq -e '.[0].score == 91' > /dev/null"
check "python: absolute-form target" bash -c "curl -s --request-target '$url/api/check?source=x' -F 'file=@$work/fx/ffmpeg.dll' '$url/' | jq -e '.[0].score == 91' > /dev/null"
body() { printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\nContent-Type: application/octet-stream\r\n\r\n' "$1" "$2"; cat "$3"; printf -- '\r\n--%s--\r\n' "$1"; }
body G-U-I-D 'C:\Users\max\ffmpeg.dll' "$work/fx/ffmpeg.dll" > "$work/ps1.body"
r=$(curl -s -H 'Content-Type: multipart/form-data; boundary="G-U-I-D"' --data-binary @"$work/ps1.body" "$url/api/checkAsync?Source=WINHOST")
check "PowerShell: quoted boundary, Source, Windows path: an id" jq_ok "$r" '.id > 0'
id=$(echo "$r" | jq .id)
for _ in $(seq 100); do
    st=$(curl -s "$url/api/getAsyncResults?id=$id" | jq -r .status)
    [ "$st" = "Sample analysis complete" ] && break
    sleep 0.1
done
r=$(curl -s "$url/api/getAsyncResults?id=$id")
check "async: complete, with the Windows path as sent" jq_ok "$r" '.status == "Sample analysis complete" and .result[0].context.file == "C:\\Users\\max\\ffmpeg.dll" and .result[0].score == 91'
body b '/data/quo"te.dll' "$work/fx/ffmpeg.dll" > "$work/py.body"
check "python: a raw quote in the file name" bash -c "curl -s -H 'Content-Type: multipart/form-data; boundary=b' --data-binary @'$work/py.body' '$url/api/check' | jq -e '.[0].context.file == \"/data/quo\\\"te.dll\"' > /dev/null"
check "curl: %22 in the file name" bash -c "curl -s -F 'file=@$work/fx/ffmpeg.dll;filename=a\"b.dll' '$url/api/check' | jq -e '.[0].context.file == \"a\\\"b.dll\"' > /dev/null"
check "v3 on request: THOR 11 objects" bash -c "curl -s -F 'file=@$work/fx/ffmpeg.dll' '$url/api/check?log_version=v3' | jq -e '.[0].log_version == \"v3.0.0\" and .[0].subject.path == \"ffmpeg.dll\" and .[0].reasons[0].signature.kind == \"YARA Rule\"' > /dev/null"

# async: many at once, each retrievable
ids=()
for i in $(seq 20); do ids+=("$(curl -s -F "file=@$work/fx/d3dcompiler_47.dll" "$url/api/checkAsync" | jq .id)"); done
sleep 1
n=0
for i in "${ids[@]}"; do
    for _ in $(seq 50); do
        curl -s "$url/api/getAsyncResults?id=$i" | jq -e '.status == "Sample analysis complete" and .result[0].score == 95' > /dev/null && { n=$((n + 1)); break; }
        sleep 0.1
    done
done
check "async: 20 submissions, 20 results" [ "$n" -eq 20 ]

# abuse
code() { curl -s -o "$work/resp" -w '%{http_code}' "$@"; }
check "unknown id: 400 with a message" bash -c "[ \"\$(curl -s -o '$work/r1' -w '%{http_code}' '$url/api/getAsyncResults?id=123456789')\" = 400 ] && jq -e .message '$work/r1' > /dev/null"
check "no id: 400" [ "$(code "$url/api/getAsyncResults")" = 400 ]
check "garbage path: 404" [ "$(code "$url/../../etc/passwd")" = 404 ]
check "garbage method: 405" [ "$(code -X DELETE "$url/api/check")" = 405 ]
check "GET on check: 405" [ "$(code "$url/api/check")" = 405 ]
check "not multipart: 400" [ "$(code -H 'Content-Type: text/plain' --data x "$url/api/check")" = 400 ]
printf -- '--b\r\nContent-Disposition: form-data; name="file"\r\n\r\ntruncated' > "$work/trunc.body"
check "truncated multipart: 400" [ "$(code -H 'Content-Type: multipart/form-data; boundary=b' --data-binary @"$work/trunc.body" "$url/api/check")" = 400 ]
python3 -c 'import sys; sys.stdout.write("".join("--b\r\nContent-Disposition: form-data; name=\"p%d\"\r\n\r\nx\r\n" % i for i in range(20000)) + "--b--\r\n")' > "$work/many.body"
check "20,000 parts, none named file: 400" [ "$(code -H 'Content-Type: multipart/form-data; boundary=b' --data-binary @"$work/many.body" "$url/api/check")" = 400 ]
head -c 3000000 /dev/urandom > "$work/big.bin"
r=$(curl -s -F "file=@$work/big.bin" "$url/api/check")
check "oversize upload (3 MB, limit 2M): 200 with an Error object, not scanned" jq_ok "$r" '.[0].level == "Error" and (.[0].message | contains("upload limit"))'
lacks() { ! grep -q "$2" <<< "$1"; }
check "oversize answer holds no 'reason' (the bash collector would resend)" lacks "$r" reason
python3 - "$port" <<'PY' > "$work/slow.out"
# one byte per second: the request deadline (4 s) closes it
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /api/check HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n")
t0 = time.time(); closed = False
for i in range(20):
    try:
        s.sendall(b"x"); time.sleep(1)
    except OSError:
        closed = True; break
print("closed" if closed or s.recv(100) == b"" else "open", int(time.time() - t0))
PY
check "a client sending one byte per second is cut off by the request deadline" grep -Eq '^closed ([4-9]|1[0-9])$' "$work/slow.out"
python3 - "$port" <<'PY' > "$work/many.out"
# 500 connections at once, each sending a small upload slowly; then all read
import socket, sys
body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\nhello\r\n--b--\r\n"
req = b"POST /api/check HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n" % len(body)
socks = []
for i in range(500):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30); s.sendall(req); socks.append(s)
for s in socks:
    s.sendall(body)
ok = 0
for s in socks:
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk: break
            data += chunk
    except OSError:
        pass
    ok += data.startswith(b"HTTP/1.1 200") and data.endswith(b"[]")
print(ok)
PY
check "500 concurrent connections: all answered" grep -qx 500 "$work/many.out"
check "the server is still up" alive
rss=$(ps -o rss= -p "$pid" | tr -d ' ')
echo "serve RSS after the abuse: $rss KiB"
check "RSS under 400 MiB after the abuse" [ "$rss" -lt 409600 ]
check "the log escapes names (one JSON object per line)" bash -c "grep -v '^chainsweep:' '$work/main.log' | jq -e . > /dev/null"
kill "$pid"; wait "$pid" 2>/dev/null
check "SIGTERM: a clean stop" grep -q "stopping (signal 15)" "$work/main.log"

# a bearer token
start tok --token s3cret
check "token: refused without it (401)" [ "$(code -F "file=@$work/clean.txt" "$url/api/check")" = 401 ]
check "token: accepted with it" [ "$(code -H 'Authorization: Bearer s3cret' -F "file=@$work/clean.txt" "$url/api/check")" = 200 ]

# TLS
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 -subj /CN=127.0.0.1 2> /dev/null
start tls --tls-cert "$work/cert.pem" --tls-key "$work/key.pem"
check "TLS: a check over HTTPS" bash -c "curl -s --cacert '$work/cert.pem' -F 'file=@$work/fx/ffmpeg.dll' 'https://127.0.0.1:$port/api/check' | jq -e '.[0].score == 91' > /dev/null"
check "TLS: plain HTTP is not served" bash -c "! curl -s -m 5 -F 'file=@$work/clean.txt' 'http://127.0.0.1:$port/api/check' | grep -q '\\['"
finish
