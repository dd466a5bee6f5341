# Sourced by the scripts: settings for this offline machine.
# No Nix binary cache is reachable here, so don't let Nix try one on every call.
export NIX_CONFIG="${NIX_CONFIG:-substituters =}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
