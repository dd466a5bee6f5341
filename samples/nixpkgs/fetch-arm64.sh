#!/usr/bin/env bash
# Fetches what the aarch64-linux package set is made of into samples/nixpkgs/.arm64 (gitignored):
#   root/          Debian bookworm's arm64 .debs of host-packages-arm64.txt, unpacked with dpkg-deb -x
#                  (nothing is installed; dpkg only learns the arm64 architecture to download them)
#   versions.json  Debian package -> upstream version of what was unpacked (the store names use it)
#   dotnet/        the linux-arm64 .NET runtime at the host runtime's version, from NuGet's runtime packs,
#                  laid out as a dotnet root: host/fxr/<v>, shared/Microsoft.{NETCore,AspNetCore}.App/<v>
#                  (NuGet ships no linux-arm64 `dotnet` muxer: arm64 apps start through their apphost)
# Idempotent: does nothing when .arm64/stamp matches the list, the .NET version and this script.
# Atomic: everything is made in a temporary folder, then renamed into place. Usage: bash fetch-arm64.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/.arm64"
list="$here/host-packages-arm64.txt"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# The .NET runtime version of the host (the x86_64 set's), as default.nix picks it: the highest 10.0.N.
latest() { ls "$1" 2>/dev/null | grep -E '^10\.0\.[0-9]+$' | sort -V | tail -1 || true; }
netcoreVersion="$(latest /usr/share/dotnet/shared/Microsoft.NETCore.App)"
aspnetVersion="$(latest /usr/share/dotnet/shared/Microsoft.AspNetCore.App)"
[ -n "$netcoreVersion" ] && [ -n "$aspnetVersion" ] || { echo "fetch-arm64: no .NET 10 runtime under /usr/share/dotnet" >&2; exit 1; }

key="$(cat "$list" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1) $netcoreVersion $aspnetVersion"
if [ -f "$dest/stamp" ] && [ "$(cat "$dest/stamp")" = "$key" ]; then
  exit 0
fi
echo "fetch-arm64: fetching Debian arm64 packages and the .NET $netcoreVersion linux-arm64 runtime into $dest" >&2

packages=()
while read -r line; do
  line="${line%%#*}"
  [ -n "${line// /}" ] && packages+=("${line// /}:arm64")
done < "$list"

# apt downloads arm64 packages only once dpkg knows the architecture and arm64 package lists exist.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $sudo dpkg --add-architecture arm64
fi
if ! ls /var/lib/apt/lists/*_binary-arm64_Packages* >/dev/null 2>&1; then
  $sudo apt-get update -qq
fi

tmp="$(mktemp -d "$here/.arm64.tmp.XXXXXX")"
restore="$(mktemp -d)"
trap 'rm -rf "$tmp" "$restore"' EXIT
# apt's download sandbox user (_apt) must be able to write there
chmod 755 "$tmp"
mkdir -m 777 "$tmp/debs"

(cd "$tmp/debs" && apt-get download -qq "${packages[@]}")

mkdir "$tmp/root"
{
  echo "{"
  first=1
  for deb in "$tmp"/debs/*.deb; do
    dpkg-deb -x "$deb" "$tmp/root"
    pkg="$(dpkg-deb -f "$deb" Package)"
    version="$(dpkg-deb -f "$deb" Version)"
    # upstream version: no epoch, no Debian revision, no repack suffix (1:1.2.13.dfsg-1 -> 1.2.13)
    upstream="${version#*:}"
    upstream="${upstream%-*}"
    upstream="${upstream%[.+~]dfsg*}"
    [ -n "$first" ] || echo ","
    first=""
    printf '  "%s": "%s"' "$pkg" "$upstream"
  done
  echo
  echo "}"
} > "$tmp/versions.json"
rm -rf "$tmp/debs"

# Debian 12's packages still ship files in /lib and /bin; an installed system (like the x86_64 host)
# has merged /usr. Merge the same way, so usr/lib/aarch64-linux-gnu and usr/bin hold everything.
for d in bin sbin lib; do
  [ -d "$tmp/root/$d" ] && [ ! -L "$tmp/root/$d" ] || continue
  mkdir -p "$tmp/root/usr/$d"
  cp -a "$tmp/root/$d/." "$tmp/root/usr/$d/"
  rm -rf "${tmp:?}/root/$d"
  ln -s "usr/$d" "$tmp/root/$d"
done

# The runtime packs, with a throwaway restore outside the repository (so none of its Directory.*.props
# apply) against nuget.org only (samples/nuget.config is for the samples: it adds this repository's
# local package folder, which need not exist here).
cat > "$restore/nuget.config" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
XML
cat > "$restore/fetch.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="Microsoft.NETCore.App.Runtime.linux-arm64" Version="[$netcoreVersion]" />
    <PackageDownload Include="Microsoft.AspNetCore.App.Runtime.linux-arm64" Version="[$aspnetVersion]" />
  </ItemGroup>
</Project>
XML
DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 dotnet restore "$restore/fetch.csproj" -v q --nologo >"$restore/log" 2>&1 \
  || { cat "$restore/log" >&2; exit 1; }
nugetPackages="$(DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 dotnet nuget locals global-packages --list | sed -n 's/^global-packages: *//p')"
netcorePack="${nugetPackages%/}/microsoft.netcore.app.runtime.linux-arm64/$netcoreVersion"
aspnetPack="${nugetPackages%/}/microsoft.aspnetcore.app.runtime.linux-arm64/$aspnetVersion"

# The layout of an installed dotnet root (as /usr/share/dotnet): the pack's lib/ and native/ files
# together form the shared framework folder; libhostfxr.so goes to host/fxr.
dn="$tmp/dotnet"
fx="$dn/shared/Microsoft.NETCore.App/$netcoreVersion"
mkdir -p "$fx" "$dn/host/fxr/$netcoreVersion" "$dn/shared/Microsoft.AspNetCore.App/$aspnetVersion"
cp "$netcorePack"/runtimes/linux-arm64/lib/net10.0/* "$fx/"
cp "$netcorePack"/runtimes/linux-arm64/native/* "$fx/"
mv "$fx/libhostfxr.so" "$dn/host/fxr/$netcoreVersion/"
cp "$aspnetPack"/runtimes/linux-arm64/lib/net10.0/* "$dn/shared/Microsoft.AspNetCore.App/$aspnetVersion/"
cp "$netcorePack/LICENSE.TXT" "$dn/LICENSE.txt"
cp "$netcorePack/THIRD-PARTY-NOTICES.TXT" "$dn/ThirdPartyNotices.txt"
chmod -R u+rwX,go+rX "$dn"

echo "$key" > "$tmp/stamp"
rm -rf "$dest.old"
[ ! -e "$dest" ] || mv "$dest" "$dest.old"
mv "$tmp" "$dest"
rm -rf "$dest.old"
