using System.Runtime.Versioning;

// Images are built on Linux (Nix); the tests set Unix modes and make symlinks freely.
[assembly: UnsupportedOSPlatform("windows")]
