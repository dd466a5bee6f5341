using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Processes;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Nix;

public class NixClientTests
{
    [Fact]
    public void NixMissingFromPathIsNiximg001SayingHowToInstallIt()
    {
        using var empty = new TempDirectory();

        var error = Assert.Throws<NixImageException>(() => NixClient.Locate(empty.Path, NullBuildLog.Instance));

        Assert.Equal(ErrorCodes.NixNotFound, error.Code);
        Assert.Contains("Install Nix", error.Message, StringComparison.Ordinal);
        Assert.Contains("nix-bin", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NixFoundOnPathIsUsed()
    {
        using var bin = new TempDirectory();
        bin.CreateFile("nix-store", "#!/bin/sh\n", UnixFileMode.UserRead | UnixFileMode.UserExecute);

        var client = NixClient.Locate("/nonexistent:" + bin.Path, NullBuildLog.Instance);

        Assert.NotNull(client);
    }

    [Fact]
    public void FailedBuilderErrorCarriesTheLogLinesNix28PrintedBeforeIt()
    {
        var result = new ProcessResult(100, string.Empty,
        [
            "this derivation will be built:",
            "  /nix/store/3wb7wd4iwq4r9jv4c6r0nx9mx4pldd4p-broken-1.0.drv",
            "building '/nix/store/3wb7wd4iwq4r9jv4c6r0nx9mx4pldd4p-broken-1.0.drv'...",
            "compiling foo.c",
            "boom: this package is broken on purpose",
            "error: builder for '/nix/store/3wb7wd4iwq4r9jv4c6r0nx9mx4pldd4p-broken-1.0.drv' failed with exit code 3",
        ]);

        var message = NixClient.NixError(result);

        Assert.Equal(
            "error: builder for '/nix/store/3wb7wd4iwq4r9jv4c6r0nx9mx4pldd4p-broken-1.0.drv' failed with exit code 3 | last log lines: compiling foo.c | boom: this package is broken on purpose.",
            message);
    }

    [Fact]
    public void EvaluationErrorIsTakenFromItsFirstErrorLineOnAndAnsiColoursAreRemoved()
    {
        var result = new ProcessResult(1, string.Empty,
        [
            "warning: something unrelated",
            "\u001b[31;1merror:\u001b[0m undefined variable 'foo'",
            "       at /tmp/x.nix:1:1:",
        ]);

        Assert.Equal("error: undefined variable 'foo' | at /tmp/x.nix:1:1:.", NixClient.NixError(result));
    }

    [Fact]
    public void SilentFailureSaysSo()
    {
        Assert.Equal("the command exited with code 7 and printed no error.", NixClient.NixError(new ProcessResult(7, string.Empty, [])));
    }

    [Fact]
    public void AnotherSystemsDerivationIsRecognisedInBothOfNixsWordings()
    {
        // Nix 2.4 to 2.18 (this machine's 2.8), with the colours Nix writes to a terminal.
        string[] old = ["error: a \u001b[35;1m'aarch64-linux'\u001b[0m with features {} is required to build '/nix/store/aaaa-jq-1.6.drv', but I am a 'x86_64-linux' with features {benchmark, big-parallel, kvm, nixos-test}"];
        Assert.True(NixClient.IsPlatformUnavailable(old, "aarch64-linux"));

        // Nix 2.19 and later.
        string[] current =
        [
            "error: Cannot build '/nix/store/aaaa-jq-1.6.drv'.",
            "       Reason: required system or feature not available",
            "       Required system: 'aarch64-linux' with features {}",
            "       Current system: 'x86_64-linux' with features {benchmark, big-parallel, kvm, nixos-test, uid-range}",
        ];
        Assert.True(NixClient.IsPlatformUnavailable(current, "aarch64-linux"));

        // A missing feature on the machine's own system is another failure, and so is any other build error.
        string[] feature = ["error: a 'x86_64-linux' with features {kvm} is required to build '/nix/store/aaaa-vm.drv', but I am a 'x86_64-linux' with features {benchmark}"];
        Assert.False(NixClient.IsPlatformUnavailable(feature, "x86_64-linux"));
        Assert.False(NixClient.IsPlatformUnavailable(["error: builder for '/nix/store/aaaa-jq-1.6.drv' failed with exit code 1"], "aarch64-linux"));
    }
}
