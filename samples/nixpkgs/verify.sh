#!/usr/bin/env bash
# Builds the offline package set and runs its programs inside bubblewrap with
# only /nix/store visible (plus a test app).  Needs: nix, bubblewrap, and the
# host .NET SDK (to compile the small test app).  Usage: bash verify.sh
set -euo pipefail
export NIX_CONFIG='substituters ='
here="$(cd "$(dirname "$0")" && pwd)"
build() { nix-build "$here" -A "$1" --no-out-link 2>/dev/null; }

attrs="glibc stdenv.cc.cc.lib zlib icu openssl openssl.out libkrb5 krb5 readline sqlite sqlite.out ncurses oniguruma cacert iana-etc
  tzdata busybox coreutils bashInteractive nano moreutils jq
  dotnetCorePackages.runtime_10_0 dotnetCorePackages.aspnetcore_10_0 widedag"
for a in $attrs; do
  p="$(build "$a")"
  printf '%-34s %-60s %4s paths %s\n' "$a" "${p#/nix/store/*-}" \
    "$(nix-store -q --requisites "$p" | wc -l)" \
    "$(nix --extra-experimental-features nix-command path-info -Sh "$p" | awk '{print $2}')"
done

bb="$(build busybox)" rt="$(build dotnetCorePackages.runtime_10_0)"
asp="$(build dotnetCorePackages.aspnetcore_10_0)"
glibc="$(build glibc)" gcclib="$(build stdenv.cc.cc.lib)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT

# only the store (and $work/app as /app) is visible
run() {
  bwrap --ro-bind /nix/store /nix/store --ro-bind "$work/app" /app --proc /proc \
    --dev /dev --tmpfs /tmp --clearenv --setenv PATH "$bb/bin" "$@"
}
mkdir "$work/app"
set -x
run "$(build jq)/bin/jq" --version
run "$(build bashInteractive)/bin/bash" --version | head -1
run "$(build nano)/bin/nano" --version | head -1
run sh -c "echo sponged | $(build moreutils)/bin/sponge /tmp/f && cat /tmp/f"
run "$bb/bin/busybox" ls /
run "$(build coreutils)/bin/env"
run "$(build openssl)/bin/openssl" version
run "$(build sqlite)/bin/sqlite3" :memory: "select sqlite_version()"
# nixpkgs' shapes: several outputs, the first (bin) without the libraries; wrapped .NET runtimes
[ ! -e "$(build openssl)/lib" ] && [ -e "$(build openssl.out)/lib/libssl.so.3" ] \
  || { echo "error: openssl's first output must be bin, without lib/" >&2; exit 1; }
[ -L "$(build dotnetCorePackages.runtime_10_0)/share/dotnet" ] \
  || { echo "error: runtime_10_0 must be a wrapper whose share/dotnet links into the unwrapped runtime" >&2; exit 1; }
run "$rt/bin/dotnet" --list-runtimes
run "$asp/bin/dotnet" --list-runtimes
set +x

# a framework-dependent console app, built with the host SDK
( cd "$work" && mkdir src && cd src
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 dotnet new console -n hello -o . >/dev/null
  cat > Program.cs <<'CS'
using System.Globalization;
using System.Security.Cryptography;
Console.WriteLine(new CultureInfo("de-DE").DateTimeFormat.MonthNames[2]);
Console.WriteLine(Convert.ToHexString(SHA256.HashData("abc"u8)));
using var rsa = RSA.Create(2048);
Console.WriteLine($"RSA {rsa.KeySize}");
CS
  DOTNET_CLI_TELEMETRY_OPTOUT=1 dotnet build -c Release -r linux-x64 --self-contained false \
    -o "$work/app" >/dev/null )
set -x
run "$rt/bin/dotnet" /app/hello.dll
run "$asp/bin/dotnet" /app/hello.dll
set +x

# The loader searches no default directories, as nixpkgs' does not search the host's: the host-built
# apphost (interpreter /lib64/ld-linux-x86-64.so.2, no RUNPATH) must NOT start in a root that links
# the store loader at /lib64 and has the libraries only in the store. (Nixery.Build patches such files.)
root="$work/root"
mkdir -p "$root/lib64" "$root/nix/store" "$root/app" "$root/proc" "$root/dev" "$root/tmp"
ln -s "$glibc/lib/ld-linux-x86-64.so.2" "$root/lib64/"
set -x
if bwrap --ro-bind "$root" / --ro-bind /nix/store /nix/store --ro-bind "$work/app" /app \
  --proc /proc --dev /dev --tmpfs /tmp --clearenv \
  --setenv DOTNET_ROOT "$rt/share/dotnet" /app/hello; then
  echo "error: the unpatched apphost started: the loader is friendlier than nixpkgs'" >&2
  exit 1
fi
set +x
echo "verified"
