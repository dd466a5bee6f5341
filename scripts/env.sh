# Sourced by the scripts: settings for this offline machine.
# No Nix binary cache is reachable here, so don't let Nix try one on every call.
# extra-platforms: this x86_64 machine also builds the aarch64-linux package set of samples/nixpkgs
# (a test device: its builders are x86_64 programs; real users get arm64 closures from
# cache.nixos.org, an arm64 remote builder, or extra-platforms with a QEMU binfmt handler).
# NIX_CONFIG takes one setting per line.
export NIX_CONFIG="${NIX_CONFIG:-substituters =
extra-platforms = aarch64-linux}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
