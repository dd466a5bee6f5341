// The tests drive Linux tools (Nix, skopeo, umoci, bubblewrap) and Unix file modes.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
