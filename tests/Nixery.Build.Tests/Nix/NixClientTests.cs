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
}
