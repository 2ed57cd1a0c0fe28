#!/usr/bin/env bash
# SIEM outputs of scan and serve: --log-format ecs (every field an ECS field
# or ours under chainsweep.*), syslog RFC 5424 over UDP and TCP with CEF,
# JSON and ECS messages (receivers on loopback), a collector that is not
# there (exit 2, said), and serve's findings on stdout and to syslog.
# usage: outputs.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
for t in jq python3 curl; do command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }; done
work=$(mktemp -d /tmp/cs-out-XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
python3 "$SRC/tests/fixtures/make_fixtures.py" "$work/fx" > /dev/null
pack=(--no-default-packs --pack "$SRC/packs/3cx-2023")
"$CS" scan -q --json "${pack[@]}" "$work/fx" > "$work/scan.jsonl"
n=$(jq -s '[.[] | select(.type == "finding")] | length' "$work/scan.jsonl")
check "fixtures: findings to send ($n)" [ "$n" -ge 4 ]

# ECS: names from ECS's ecs_flat.yml (the fields we use), ours under chainsweep.
"$CS" scan -q --log-format ecs "${pack[@]}" "$work/fx" > "$work/ecs.jsonl"
check "ecs: one document per finding" [ "$(wc -l < "$work/ecs.jsonl")" -eq "$n" ]
cat > "$work/ecs_fields.txt" <<'EOF'
@timestamp
ecs.version
event.kind
event.category
event.type
event.module
event.dataset
event.severity
event.risk_score
event.risk_score_norm
log.level
message
host.name
observer.vendor
observer.product
observer.version
observer.type
file.path
file.name
file.directory
file.extension
file.size
file.hash.md5
file.hash.sha1
file.hash.sha256
file.hash.tlsh
file.pe.imphash
file.code_signature.exists
file.code_signature.status
file.code_signature.subject_name
file.code_signature.team_id
related.hash
rule.name
rule.description
rule.author
rule.reference
rule.ruleset
threat.indicator.type
EOF
jq -r '[paths(scalars) | map(if type == "number" then empty else . end) | join(".")] | unique[]' "$work/ecs.jsonl" | sort -u > "$work/used.txt"
grep -v '^chainsweep\.' "$work/used.txt" | grep -vxF -f "$work/ecs_fields.txt" > "$work/unknown.txt"
check "ecs: every field is an ECS field or chainsweep.* ($(tr '\n' ' ' < "$work/unknown.txt"))" [ ! -s "$work/unknown.txt" ]
check "ecs: alerts in the malware and file categories, extension without its dot" \
    jq_true "$work/ecs.jsonl" 'all(.[]; .event.kind == "alert" and .event.category == ["malware", "file"] and (.file.extension | startswith(".") | not))'
check "ecs: the same files and scores as the JSON Lines" \
    [ "$(jq -r 'select(.type == "finding") | "\(.path) \(.score)"' "$work/scan.jsonl" | sort)" = "$(jq -r '"\(.file.path) \(.event.risk_score | floor)"' "$work/ecs.jsonl" | sort)" ]

# syslog receivers: UDP datagrams and TCP octet-counted frames, to files
cat > "$work/recv.py" <<'EOF'
import socket, ssl, sys, threading
proto, port_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
tls = None
if proto == "tls":  # cert and key after the file names
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); tls.load_cert_chain(sys.argv[4], sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0)); open(port_file, "w").write(str(s.getsockname()[1]))
f = open(out, "ab", buffering=0)
if proto == "udp":
    while True:
        f.write(s.recv(65535) + b"\n")
s.listen(5)
def serve(c):
    if tls:
        try:
            c = tls.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError):
            return
    buf = b""
    while True:
        d = c.recv(65536)
        if not d: return
        buf += d
        while b" " in buf:
            n, rest = buf.split(b" ", 1)
            if len(rest) < int(n): break
            f.write(rest[:int(n)] + b"\n"); buf = rest[int(n):]
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
recv() { # recv PROTO NAME [CERT KEY] -> port in $port
    python3 "$work/recv.py" "$1" "$work/$2.port" "$work/$2.log" "${@:3}" & pids+=($!)
    for _ in $(seq 50); do [ -s "$work/$2.port" ] && break; sleep 0.1; done
    port=$(cat "$work/$2.port")
}
wait_lines() { for _ in $(seq 50); do [ "$(wc -l < "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0; sleep 0.1; done; return 1; }
header='^<1(29|32|33)>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z [!-~]+ chainsweep [0-9]+ finding - '
recv udp u
"$CS" scan -q --syslog "udp://127.0.0.1:$port" "${pack[@]}" "$work/fx" > /dev/null
check "syslog udp: exit 1 (findings), all sent" [ $? -eq 1 ]
check "syslog udp: one message per finding" wait_lines "$work/u.log" "$n"
check "syslog udp: RFC 5424 header, CEF message" bash -c "grep -Ec '${header}CEF:0\\|chainsweep\\|chainsweep\\|[^|]+\\|[^|]+\\|[^|]+\\|(10|7|4)\\|filePath=' '$work/u.log' | grep -qx $n"
recv tcp t
"$CS" scan -q --syslog "tcp://127.0.0.1:$port" --syslog-format json "${pack[@]}" "$work/fx" > /dev/null
check "syslog tcp (octet-counted): one JSON message per finding" wait_lines "$work/t.log" "$n"
check "syslog tcp: each message our JSON finding record" bash -c "sed -E 's/${header}//' '$work/t.log' | jq -e 'select(.type == \"finding\") | .score > 0' | grep -c true | grep -qx $n"
recv tcp e
"$CS" scan -q --syslog "tcp://127.0.0.1:$port" --syslog-format ecs "${pack[@]}" "$work/fx" > /dev/null
check "syslog ecs: ECS documents" bash -c "wait_lines() { :; }; sleep 0.5; sed -E 's/${header}//' '$work/e.log' | jq -e '.event.kind == \"alert\"' | grep -c true | grep -qx $n"
# TLS (RFC 5425): openssl s_server as the collector, its certificate for localhost
if command -v openssl > /dev/null; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/k.pem" -out "$work/c.pem" -days 2 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost 2> /dev/null
    recv tls tls "$work/c.pem" "$work/k.pem"
    tport=$port
    "$CS" scan -q --syslog "tls://localhost:$tport" --syslog-ca "$work/c.pem" "${pack[@]}" "$work/fx" > /dev/null 2> "$work/tls.err"
    rc=$?
    check "syslog tls: exit 1 (findings), all sent ($(head -c 200 "$work/tls.err"))" [ $rc -eq 1 ]
    check "syslog tls: the CEF messages arrived through TLS, one frame each" wait_lines "$work/tls.log" "$n"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/k2.pem" -out "$work/other.pem" -days 2 -subj /CN=other 2> /dev/null
    "$CS" scan -q --syslog "tls://localhost:$tport" --syslog-ca "$work/other.pem" "${pack[@]}" "$work/fx" > /dev/null 2> "$work/tls2.err"
    check "syslog tls: a server the CA does not vouch for is refused (exit 2)" bash -c "[ $? -eq 2 ] && grep -q 'syslog tls' '$work/tls2.err'"
fi
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$CS" scan -q --syslog "tcp://127.0.0.1:$closed" "${pack[@]}" "$work/fx" > /dev/null 2> "$work/closed.err"
check "syslog to a collector that is not there: exit 2, said" bash -c "[ $? -eq 2 ] && grep -q 'syslog 127.0.0.1:$closed' '$work/closed.err'"
check "a bad --syslog: refused" bash -c "! '$CS' scan -q --syslog 'http://x' '$work/fx' 2>/dev/null"

# serve: a finding on stdout (JSON Lines) and to syslog
recv udp s
sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$CS" serve "${pack[@]}" -q --port "$sport" --syslog "udp://127.0.0.1:$port" > "$work/serve.out" 2> "$work/serve.err" & pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$sport/api/status" && break; sleep 0.1; done
curl -s -F "file=@$work/fx/ffmpeg.dll" "http://127.0.0.1:$sport/api/check" > /dev/null
check "serve: the finding to syslog" wait_lines "$work/s.log" 1
check "serve: the finding on stdout as a JSON Lines record" bash -c "sleep 0.3; jq -e 'select(.type == \"finding\") | .path == \"ffmpeg.dll\" and .score == 91' '$work/serve.out' > /dev/null"
finish
