#!/usr/bin/env bash
# What deploy/ ships: the Velociraptor artifact (its shape, and the exact
# command line it builds, run here with its parsing of the JSON Lines), and
# two serve instances behind HAProxy with the shipped configuration (async
# submissions spread over both, every result retrievable through it).
# usage: deploy.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
for t in jq python3 curl haproxy; do command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }; done
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml not installed"; exit 77; }
work=$(mktemp -d /tmp/cs-deploy-XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
python3 "$SRC/tests/fixtures/make_fixtures.py" "$work/fx" > /dev/null

# -- Velociraptor
art=$SRC/deploy/velociraptor/Generic.Scanner.Chainsweep.yaml
python3 - "$art" "$CS" "$work" "$SRC" > "$work/velo.out" <<'PY'
import json, re, shlex, subprocess, sys, yaml
art, cs, work, src = sys.argv[1:5]
a = yaml.safe_load(open(art))
assert a["name"] == "Generic.Scanner.Chainsweep" and a["type"] == "CLIENT", "name/type"
assert [t["name"] for t in a["tools"]] == ["chainsweep_linux_amd64", "chainsweep_packs"], "tools"
params = {p["name"]: p for p in a["parameters"]}
assert set(params) == {"ScanPaths", "ExtraArgs", "UsePacks", "UploadReport"}, "parameters"
sources = {s["name"]: s["query"] for s in a["sources"]}
assert set(sources) == {"Findings", "Summary", "Uploads"}, "sources"
q = sources["Findings"]
assert "Artifact.Generic.Utils.FetchBinary(ToolName=\"chainsweep_linux_amd64\")" in q and "execve(" in q, "fetch+execve"
assert "parse_jsonl(filename=Report)" in q and 'WHERE type = "finding"' in q, "parse_jsonl of findings"
# the argv the query builds: [OSPath] + ScanArgs + [Report] + Packs + split(ScanPaths) + commandline_split(ExtraArgs)
scan_args = json.loads(re.search(r'LET ScanArgs = (\[.*\])', q).group(1))
assert re.search(r'argv=\[OSPath\] \+ ScanArgs \+ \[Report\] \+ Packs \+ split\(string=ScanPaths, sep=","\)\s*\+ commandline_split\(command=ExtraArgs, bash_style=TRUE\)', q), "argv"
report = work + "/chainsweep.jsonl"
scan_paths = work + "/fx"                  # instead of the default: the fixtures
extra = "--no-default-packs --pack " + src + "/packs/3cx-2023"
argv = [cs] + scan_args + [report] + [] + scan_paths.split(",") + shlex.split(extra)
rc = subprocess.run(argv).returncode
rows = [json.loads(l) for l in open(report)]
print("argv", " ".join(argv[1:5]))
print("rc", rc)
print("findings", sum(r.get("type") == "finding" for r in rows))
print("summary", sum(r.get("type") == "summary" for r in rows))
PY
check "velociraptor: the artifact's shape (name, tools, parameters, sources, argv)" grep -q '^argv scan --json -q --output' "$work/velo.out"
check "velociraptor: its command line runs (exit 1: findings)" grep -qx 'rc 1' "$work/velo.out"
check "velociraptor: Findings rows from parse_jsonl" grep -Eq '^findings [4-9]' "$work/velo.out"
check "velociraptor: a Summary row" grep -qx 'summary 1' "$work/velo.out"
cat "$work/velo.out"

# -- HAProxy with two instances
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
front=$(port) p0=$(port) p1=$(port)
sed -e "s/127.0.0.1:8080/127.0.0.1:$front/; s/127.0.0.1:8081/127.0.0.1:$p0/g; s/127.0.0.1:8082/127.0.0.1:$p1/g" \
    "$SRC/deploy/haproxy/haproxy.cfg" > "$work/haproxy.cfg"
check "haproxy: the shipped configuration is valid" haproxy -c -q -f "$work/haproxy.cfg"
for k in 0 1; do
    p=$([ $k = 0 ] && echo "$p0" || echo "$p1")
    "$CS" serve -q --no-default-packs --pack "$SRC/packs/3cx-2023" --port "$p" --instance "$k/2" > /dev/null 2>&1 & pids+=($!)
done
# both instances answer before the balancer starts (its first health checks would mark a
# still-loading instance down and send everything to the other one)
for p in "$p0" "$p1"; do
    for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$p/api/status" && break; sleep 0.1; done
done
haproxy -db -f "$work/haproxy.cfg" > "$work/haproxy.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$front/api/status" && break; sleep 0.1; done
ids=()
for i in $(seq 10); do ids+=("$(curl -s -F "file=@$work/fx/ffmpeg.dll" "http://127.0.0.1:$front/api/checkAsync" | jq .id)"); done
evens=0 odds=0
bad=0
for i in "${ids[@]}"; do
    case $i in ''|*[!0-9]*) bad=$((bad + 1)) ;; *) [ $((i % 2)) = 0 ] && evens=$((evens + 1)) || odds=$((odds + 1)) ;; esac
done
check "haproxy: every async submission got an id ($bad failed)" [ "$bad" -eq 0 ]
check "haproxy: async submissions went to both instances ($evens even ids, $odds odd)" [ "$evens" -gt 0 -a "$odds" -gt 0 ]
got=0
for i in "${ids[@]}"; do
    for _ in $(seq 50); do
        curl -s "http://127.0.0.1:$front/api/getAsyncResults?id=$i" | jq -e '.status == "Sample analysis complete" and .result[0].score == 91' > /dev/null && { got=$((got + 1)); break; }
        sleep 0.1
    done
done
check "haproxy: every result retrievable through the balancer ($got of ${#ids[@]})" [ "$got" -eq "${#ids[@]}" ]
check "haproxy: sync checks through it" bash -c "curl -s -F 'file=@$work/fx/ffmpeg.dll' 'http://127.0.0.1:$front/api/check' | jq -e '.[0].score == 91' > /dev/null"

# -- the systemd unit runs serve
check "systemd unit: ExecStart runs chainsweep serve on loopback" grep -q '^ExecStart=@CMAKE_INSTALL_FULL_BINDIR@/chainsweep serve --listen 127.0.0.1' "$SRC/deploy/systemd/chainsweep-serve.service.in"
finish
