#!/usr/bin/env bash
# Builds the aarch64-linux package set and runs its programs inside bubblewrap with only /nix/store visible,
# on this x86_64 machine: the kernel hands arm64 programs to qemu-aarch64, registered with binfmt_misc with the
# F (fix-binary) flag (scripts/install-prerequisites.sh checks that), so they run in any root and can exec
# each other. Needs: nix, bubblewrap, qemu-user-static + binfmt-support, patchelf, the host .NET SDK (to
# publish two small linux-arm64 apps) and samples/nixpkgs/.arm64 (fetch-arm64.sh). Usage: bash verify-arm64.sh
set -euo pipefail
# no binary cache here; the x86_64 machine builds aarch64-linux derivations (see scripts/env.sh)
export NIX_CONFIG='substituters =
extra-platforms = aarch64-linux'
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
build() {
  nix-build "$here" --argstr system aarch64-linux -A "$1" --no-out-link 2>"$work/build.log" \
    || { cat "$work/build.log" >&2; exit 1; }
}

if ! grep -qs '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
  echo "error: qemu-aarch64 is not registered with binfmt_misc with the F flag: run scripts/install-prerequisites.sh" >&2
  exit 1
fi

attrs="glibc stdenv.cc.cc.lib zlib icu openssl openssl.out keyutils libkrb5 krb5 readline sqlite sqlite.out ncurses oniguruma cacert iana-etc
  tzdata busybox coreutils bashInteractive nano moreutils jq
  dotnetCorePackages.runtime_10_0 dotnetCorePackages.aspnetcore_10_0 widedag"
for a in $attrs; do
  p="$(build "$a")"
  printf '%-34s %-60s %4s paths %s\n' "$a" "${p#/nix/store/*-}" \
    "$(nix-store -q --requisites "$p" | wc -l)" \
    "$(nix --extra-experimental-features nix-command path-info -Sh "$p" | awk '{print $2}')"
done

bb="$(build busybox)" bash="$(build bashInteractive)" jq="$(build jq)"
rt="$(build dotnetCorePackages.runtime_10_0)" asp="$(build dotnetCorePackages.aspnetcore_10_0)"
glibc="$(build glibc)" gcclib="$(build stdenv.cc.cc.lib)"

# Every ELF file of the set is an arm64 one (static busybox included).
for f in "$jq/bin/jq" "$bash/bin/bash" "$bb/bin/busybox" "$glibc/lib/libc.so.6" \
  "$rt/share/dotnet/shared/Microsoft.NETCore.App/"*/libcoreclr.so "$rt/share/dotnet/host/fxr/"*/libhostfxr.so; do
  readelf -h "$f" | grep -q 'Machine:.*AArch64' || { echo "error: $f is not an arm64 ELF file" >&2; exit 1; }
done
# No muxer: NuGet ships none for linux-arm64.
[ ! -e "$rt/share/dotnet/dotnet" ] && [ ! -e "$rt/bin" ]

# only the store (and $work/app as /app) is visible
run() {
  bwrap --ro-bind /nix/store /nix/store --ro-bind "$work/app" /app --proc /proc \
    --dev /dev --tmpfs /tmp --unshare-net --clearenv --setenv PATH "$bb/bin" "$@"
}
mkdir "$work/app"
set -x
run "$jq/bin/jq" --version
run "$bash/bin/bash" -c 'echo ok'
run "$bb/bin/busybox" uname -m | grep -qx aarch64
# an arm64 program that execs arm64 programs (bash -> busybox, jq)
[ "$(run "$bash/bin/bash" -c "uname -m; echo '{\"a\":[1,2]}' | $jq/bin/jq -c '.a|add'")" = "aarch64
3" ]
run "$(build nano)/bin/nano" --version | head -1
run sh -c "echo sponged | $(build moreutils)/bin/sponge /tmp/f && cat /tmp/f"
run "$(build coreutils)/bin/env"
run "$(build openssl)/bin/openssl" version
run "$(build sqlite)/bin/sqlite3" :memory: "select sqlite_version()"
# nixpkgs' shapes: several outputs, the first (bin) without the libraries; wrapped .NET runtimes
[ ! -e "$(build openssl)/lib" ] && [ -e "$(build openssl.out)/lib/libssl.so.3" ] \
  || { echo "error: openssl's first output must be bin, without lib/" >&2; exit 1; }
[ -L "$(build dotnetCorePackages.runtime_10_0)/share/dotnet" ] \
  || { echo "error: runtime_10_0 must be a wrapper whose share/dotnet links into the unwrapped runtime" >&2; exit 1; }
set +x

# Two framework-dependent linux-arm64 apps, published with the host SDK: a console app (ICU, OpenSSL) and
# an ASP.NET Core app that answers one request to itself.
mkdir -p "$work/src/hello" "$work/src/web" "$work/app/hello" "$work/app/web"
cat > "$work/src/hello/hello.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
  </PropertyGroup>
</Project>
XML
cat > "$work/src/hello/Program.cs" <<'CS'
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
Console.WriteLine(RuntimeInformation.ProcessArchitecture);
Console.WriteLine(new CultureInfo("de-DE").DateTimeFormat.MonthNames[2]);
Console.WriteLine(Convert.ToHexString(SHA256.HashData("abc"u8)));
using var rsa = RSA.Create(2048);
Console.WriteLine($"RSA {rsa.KeySize}");
CS
cat > "$work/src/web/web.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk.Web">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
  </PropertyGroup>
</Project>
XML
cat > "$work/src/web/Program.cs" <<'CS'
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.UseUrls("http://127.0.0.1:0");
var app = builder.Build();
app.MapGet("/", () => $"ASP.NET Core on {RuntimeInformation.ProcessArchitecture}");
await app.StartAsync();
var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
using var http = new HttpClient();
Console.WriteLine(await http.GetStringAsync(url));
await app.StopAsync();
CS
for p in hello web; do
  dotnet publish "$work/src/$p" -c Release -r linux-arm64 --self-contained false -o "$work/app/$p" -v q --nologo >"$work/publish.log" 2>&1 \
    || { cat "$work/publish.log" >&2; exit 1; }
done

# The SDK's apphost names /lib/ld-linux-aarch64.so.1 and has no RUNPATH. Nixery.Build links it to the store
# (interpreter: the store loader; RUNPATH: gcc-lib and glibc); do the same to copies, as nixpkgs'
# autoPatchelfHook would, and run them with nothing but the store.
for p in hello web; do
  cp "$work/app/$p/$p" "$work/app/$p/$p-linked"
  patchelf --set-interpreter "$glibc/lib/ld-linux-aarch64.so.1" --set-rpath "$gcclib/lib:$glibc/lib" "$work/app/$p/$p-linked"
done
set -x
out="$(run --setenv DOTNET_ROOT "$rt/share/dotnet" /app/hello/hello-linked)"
set +x
echo "$out"
[ "$out" = "Arm64
März
BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD
RSA 2048" ] || { echo "error: unexpected output of the arm64 console app" >&2; exit 1; }
set -x
run --setenv DOTNET_ROOT "$asp/share/dotnet" /app/web/web-linked | tee "$work/web.out"
set +x
grep -qx 'ASP.NET Core on Arm64' "$work/web.out"

# The loader searches no default directories, as nixpkgs' does not search the host's. In a root that links the
# store loader at /lib/ld-linux-aarch64.so.1 (as an image's symlink layer links /lib and /lib64), the unlinked
# apphost starts its loader but must NOT find its libraries (they are only in the store); it runs only when told
# where they are (LD_LIBRARY_PATH). Without the /lib link it has no loader at all.
root="$work/root"
mkdir -p "$root/lib" "$root/nix/store" "$root/app" "$root/proc" "$root/dev" "$root/tmp"
ln -s "$glibc/lib/ld-linux-aarch64.so.1" "$root/lib/"
inroot() {
  bwrap --ro-bind "$root" / --ro-bind /nix/store /nix/store --ro-bind "$work/app" /app \
    --proc /proc --dev /dev --tmpfs /tmp --unshare-net --clearenv --setenv DOTNET_ROOT "$rt/share/dotnet" "$@"
}
set -x
if inroot /app/hello/hello 2>"$work/err"; then
  echo "error: the unlinked apphost started: the loader is friendlier than nixpkgs'" >&2
  exit 1
fi
set +x
cat "$work/err"
grep -q 'cannot open shared object file' "$work/err"
set -x
out="$(inroot --setenv LD_LIBRARY_PATH "$gcclib/lib:$glibc/lib" /app/hello/hello)"
set +x
[ "${out%%$'\n'*}" = Arm64 ]
rm "$root/lib/ld-linux-aarch64.so.1"
set -x
if inroot --setenv LD_LIBRARY_PATH "$gcclib/lib:$glibc/lib" /app/hello/hello 2>"$work/err"; then
  echo "error: the apphost started without a loader at /lib/ld-linux-aarch64.so.1" >&2
  exit 1
fi
set +x
cat "$work/err"
echo "verified (aarch64-linux)"
