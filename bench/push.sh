#!/usr/bin/env bash
# Benchmark: our push against `skopeo copy` of the same image, cold, to a local docker-registry, in one run.
# Builds the benchmark app's image once as an OCI archive; then, RUNS times, in rotating order:
#   - ours: `dotnet publish` of the same app with ContainerRegistry set (the layer cache warm, so the image is the
#     archive's, byte for byte; the script checks the digest), timed by the build's own `Pushed to … in S s` line,
#     which covers the blobs and the manifest and not the connection (GET /v2/ and the tag check), made while the
#     layers are built;
#   - skopeo: `skopeo copy --dest-tls-verify=false oci-archive:<the archive> docker://…`, wall time of the process,
#     and `skopeo --version` too, for what starting the process costs;
#   - skopeo-layout: the same from the archive unpacked into an OCI layout (`oci:`), which spares skopeo unpacking
#     the archive into a temporary folder first: the strictest reference.
# Every push goes to a registry started for it on an empty storage folder and a new port (no blob is there, in any
# repository, and neither tool has a record of one there). Usage: bench/push.sh [runs] [before-commit]
# (default 5 runs; medians). With a commit, that commit's package is pushed too, interleaved, as "before".
# Results: bench/push-last-run.md
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-5}"
before="${2:-}"
"$root/scripts/install-prerequisites.sh" docker-registry jq
. "$root/scripts/env.sh"

work="$(mktemp -d /tmp/nixery-bench-push.XXXXXX)"
registry_pid=""
stop_registry() { if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null || true; registry_pid=""; fi; }
cleanup() {
  stop_registry
  [ -n "$before" ] && git -C "$root" worktree remove --force "$work/before-src" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
. "$root/bench/lib.sh"

export NUGET_PACKAGES="$work/nuget"
export MSBUILDDISABLENODEREUSE=1
version="$("$root/scripts/pack.sh")"
make_app "$work/after"
contestants=(after)
if [ -n "$before" ]; then
  git -C "$root" worktree add --detach "$work/before-src" "$before" > /dev/null 2>&1
  before_version="$(NIXERY_BUILD_VERSION_SUFFIX="dev.before.$(date -u +%Y%m%d%H%M%S)" "$work/before-src/scripts/pack.sh")"
  make_app "$work/before"
  sed -i "s|$root/artifacts/packages|$work/before-src/artifacts/packages|" "$work/before/nuget.config"
  contestants+=(before)
fi
contestants+=(skopeo skopeo-layout)
declare -A versions=([after]="$version" [before]="${before_version:-}")

# --- a registry per push: an empty storage folder, a new port --------------------------------------------------
port=""
start_registry() {
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  rm -rf "$work/registry"
  cat > "$work/registry.yml" <<YAML
version: 0.1
storage: { filesystem: { rootdirectory: $work/registry } }
http: { addr: 127.0.0.1:$port }
log: { level: error }
YAML
  docker-registry serve "$work/registry.yml" >> "$work/registry.log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" > /dev/null && return; sleep 0.1; done
  echo "the registry did not start" >&2; cat "$work/registry.log" >&2; exit 1
}

# --- ours: the app's publish with ContainerRegistry set ---------------------------------------------------------------
publish() { # <contestant> <log> [properties...]
  local who="$1" log="$2"; shift 2
  dotnet publish "$work/$who/HelloWeb" -c Release -r linux-x64 -nodeReuse:false -m:1 -nologo -clp:PerformanceSummary \
    -p:NixeryBuildVersion="${versions[$who]}" -p:NixImage=true -p:NixImageCacheDirectory="$work/cache-$who" "$@" > "$log" 2>&1 \
    || { tail -30 "$log"; exit 1; }
}
archive="$work/after/HelloWeb/bin/Release/net10.0/linux-x64/image/samples-hello-web.tar"
for who in "${contestants[@]}"; do
  [ "${who%-layout}" = skopeo ] || publish "$who" "$work/first-$who.log"
done
digest="$(jq -r .manifestDigest "${archive%.tar}.json")"
cp "$archive" "$work/image.tar"
archive="$work/image.tar"
mkdir "$work/layout"; tar -xf "$archive" -C "$work/layout"
blobs="$(tar -tf "$archive" | grep -c '^blobs/sha256/.')"
bytes="$(stat -c %s "$archive")"

declare -A times
push_once() { # <contestant> <run>
  local who="$1" i="$2"
  start_registry
  if [ "${who%-layout}" = skopeo ]; then
    local source="oci-archive:$archive" s
    [ "$who" = skopeo-layout ] && source="oci:$work/layout"
    s=$(date +%s%N)
    skopeo copy --quiet --dest-tls-verify=false "$source" "docker://127.0.0.1:$port/bench/$who-$i:t"
    times[$who]+="$(( ($(date +%s%N) - s) / 1000000 )) "
  else
    # Not a record of where blobs went: that would belong to registries that are gone (and make a "warm" push).
    rm -f "$work/cache-$who/registry-blobs.json"
    DOTNET_CONTAINER_INSECURE_REGISTRIES="127.0.0.1:$port" publish "$who" "$work/push.log" \
      -p:ContainerRegistry="127.0.0.1:$port" -p:ContainerRepository="bench/$who-$i" -p:ContainerImageTags=t
    local line; line="$(grep -o 'Pushed to [^ ]* in [0-9.]* s: [0-9]* blob(s) uploaded, 0 mounted, 0 already there' "$work/push.log" | head -1)"
    [ -n "$line" ] || { echo "$who, run $i: no cold push line in the log:" >&2; grep -i push "$work/push.log" >&2; exit 1; }
    grep -q "@$digest" "$work/push.log" || { echo "$who, run $i: pushed another image than the archive ($digest)" >&2; grep -o '@sha256:[0-9a-f]*' "$work/push.log" >&2; exit 1; }
    times[$who]+="$(awk -v s="$(echo "$line" | sed 's/.* in \([0-9.]*\) s:.*/\1/')" 'BEGIN{print int(s * 1000 + 0.5)}') "
  fi
  stop_registry
}
# Warm-up, not counted: the first registry start, the first skopeo, the disk cache of the archive.
push_once skopeo 0
push_once skopeo-layout 0
times=()

starts=()
for i in $(seq "$runs"); do
  n=${#contestants[@]}
  for k in $(seq 0 $((n - 1))); do push_once "${contestants[$(( (i + k) % n ))]}" "$i"; done
  s=$(date +%s%N); skopeo --version > /dev/null; starts+=($(( ($(date +%s%N) - s) / 1000000 )))
done

results="$work/results.md"
say() { echo "$*" | tee -a "$results"; }
ms_of() { printf '%s\n' ${times[$1]} | median; }
start_ms="$(printf '%s\n' "${starts[@]}" | median)"
say "# Push, cold, against skopeo: $(date -u +%Y-%m-%dT%H:%MZ)"
say ""
say "Machine: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; .NET $(dotnet --version); $(skopeo --version); $(docker-registry --version 2>/dev/null | head -1). $runs runs, rotating order, medians; every push to an empty registry of its own."
say "Image: the benchmark app (HelloWeb with jq, shell, tzdata), $blobs blobs, archive of $((bytes / 1000)) kB, manifest $digest."
say ""
say "| push | median | runs |"
say "|---|---|---|"
say "| ours ($(git -C "$root" rev-parse --short HEAD)), the build's \`Pushed to … in S s\` (blobs + manifest) | $(ms_of after) ms | ${times[after]}|"
[ -n "$before" ] && say "| ours before ($before), the same line | $(ms_of before) ms | ${times[before]}|"
say "| skopeo copy oci-archive → docker, whole process | $(ms_of skopeo) ms | ${times[skopeo]}|"
say "| skopeo --version (process start) | $start_ms ms | ${starts[*]} |"
say "| skopeo without its start | $(( $(ms_of skopeo) - start_ms )) ms | |"
say "| skopeo copy oci (the archive unpacked beforehand) → docker, whole process | $(ms_of skopeo-layout) ms | ${times[skopeo-layout]}|"
say "| the same without its start | $(( $(ms_of skopeo-layout) - start_ms )) ms | |"
say ""
r() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
say "ours / skopeo from the archive: $(r "$(ms_of after)" "$(ms_of skopeo)") (whole process), $(r "$(ms_of after)" "$(( $(ms_of skopeo) - start_ms ))") (without skopeo's start). ours / skopeo from the layout: $(r "$(ms_of after)" "$(ms_of skopeo-layout)"), $(r "$(ms_of after)" "$(( $(ms_of skopeo-layout) - start_ms ))")."
[ -z "$before" ] || say "after / before: $(r "$(ms_of after)" "$(ms_of before)")."
cp "$results" "$root/bench/push-last-run.md"
echo "Results written to bench/push-last-run.md"
