using Nixery.Build.Processes;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// The real tools the end-to-end tests drive. A missing one fails the test with what to run;
/// it is never a silent skip (scripts/install-prerequisites.sh installs them all).
/// </summary>
public static class Prerequisites
{
    private static readonly string[] Tools = ["nix-store", "nix-instantiate", "nix", "skopeo", "umoci", "bwrap", "setpriv", "podman", "git", "tar", "docker-registry", "htpasswd", "python3", "readelf", "patchelf", "chattr", "mount", "umount", "mkfifo"];

    public static void Require()
    {
        var missing = Tools.Where(t => ProcessRunner.FindOnPath(t, Environment.GetEnvironmentVariable("PATH")) is null).ToList();
        if (missing.Count > 0)
        {
            Assert.Fail($"End-to-end tests need {string.Join(", ", missing)} on PATH. Run scripts/install-prerequisites.sh (or scripts/test.sh, which does it).");
        }
    }
}
