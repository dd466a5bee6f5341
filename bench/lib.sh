# Sourced by the benchmarks: the app they build, and how they read their numbers. Needs $root and $work.

# --- the app: samples/HelloWeb with a few Nix packages, one copy for us and one for the SDK ---------------------
# (separate folders: each tool's build settings differ, and neither must see the other's publish as a change)
make_app() {
  local dir="$1"
  mkdir -p "$dir/HelloWeb"
  cp "$root/samples/HelloWeb/"*.cs "$root/samples/HelloWeb/"*.json "$dir/HelloWeb/"
  sed -e "s|<NixPkgsPath>../nixpkgs</NixPkgsPath>|<NixPkgsPath>$root/bench/nixpkgs.nix</NixPkgsPath>|" \
      -e 's|<NixPackage Include="jq" />|<NixPackage Include="jq" /><NixPackage Include="shell" /><NixPackage Include="tzdata" />|' \
      "$root/samples/HelloWeb/HelloWeb.csproj" > "$dir/HelloWeb/HelloWeb.csproj"
  cp "$root/samples/Directory.Packages.props" "$dir/"
  echo '<Project />' > "$dir/Directory.Build.props"
  sed "s|../artifacts/packages|$root/artifacts/packages|" "$root/samples/nuget.config" > "$dir/nuget.config"
  echo 'static partial class Bench { public const string Line = "run 0"; }' > "$dir/HelloWeb/Bench.cs"
}
# Milliseconds of the named tasks in a PerformanceSummary log, summed.
task_ms() { local log="$1"; shift; local sum=0; for t in "$@"; do
  ms="$(awk -v t="$t" '/Task Performance Summary/{on=1} on && $3==t {print $1; exit}' "$log")"; sum=$((sum + ${ms:-0})); done; echo "$sum"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }
# Peak resident set size (kB) of a command.
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident set size/{print $6}'; }
