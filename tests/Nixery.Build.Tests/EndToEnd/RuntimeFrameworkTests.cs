using System.Text.RegularExpressions;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// An app the image's runtime cannot start is an error of the publish, not of the container's first start: the
/// runtimeconfig.json the SDK writes, read against the runtime from the sample package set (10.0.x, x being the
/// host's patch). The default policy is what every other end-to-end test already builds and runs.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class RuntimeFrameworkTests
{
    private readonly PackageFeed _feed;

    public RuntimeFrameworkTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public void RollForwardDisableOnTheRuntimesPatchFailsNamingBothVersionsAndLatestMajorRuns()
    {
        using var project = SampleProject.Copy(_feed);
        var disabled = project.Publish("-p:RollForward=Disable");
        Assert.True(disabled.ExitCode != 0, disabled.Output);
        Assert.Contains($"error {ErrorCodes.RuntimeFrameworkMissing}", disabled.Output, StringComparison.Ordinal);
        Assert.Contains("it asks for Microsoft.NETCore.App 10.0.0 with roll-forward policy Disable (runtimeOptions.rollForward in HelloNix.runtimeconfig.json)", disabled.Output, StringComparison.Ordinal);
        Assert.Matches(new Regex("the runtime package 'dotnetCorePackages.runtime_10_0' has Microsoft.NETCore.App 10\\.0\\.[1-9][0-9]*\\. Set RollForward to LatestPatch"), disabled.Output);
        Assert.False(File.Exists(project.DefaultArchive(runtimeIdentifier: null)));

        // The same app with the most permissive policy builds, and its entry point runs on the runtime from Nix.
        var latestMajor = project.Publish("-p:RollForward=LatestMajor");
        Assert.True(latestMajor.ExitCode == 0, latestMajor.Output);
        using var image = new ImageReader(project.DefaultArchive(runtimeIdentifier: null));
        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Hello from Nix! .NET 10.0", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void ARuntimeFrameworkVersionAboveTheImagesFailsAskingForANewerRuntime()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = project.Publish("-p:UseAppHost=false", "-p:RuntimeFrameworkVersion=10.0.99");
        Assert.True(publish.ExitCode != 0, publish.Output);
        Assert.Contains($"error {ErrorCodes.RuntimeFrameworkMissing}", publish.Output, StringComparison.Ordinal);
        Assert.Contains("it asks for Microsoft.NETCore.App 10.0.99 with roll-forward policy Minor (the default)", publish.Output, StringComparison.Ordinal);
        Assert.Matches(new Regex("has Microsoft.NETCore.App 10\\.0\\.[0-9]+\\. It needs a newer runtime than the image has"), publish.Output);
    }

    [Fact]
    public void AnAspNetAppOnARuntimeWithoutAspNetCoreFailsNamingTheAspNetPackage()
    {
        using var project = SampleProject.Copy(_feed, "HelloWeb");
        var publish = project.Publish("-p:NixDotnetRuntimePackage=dotnetCorePackages.runtime_10_0");
        Assert.True(publish.ExitCode != 0, publish.Output);
        Assert.Contains($"error {ErrorCodes.RuntimeFrameworkMissing}", publish.Output, StringComparison.Ordinal);
        Assert.Contains("it asks for Microsoft.AspNetCore.App 10.0.0 with roll-forward policy Minor (the default), and the runtime package 'dotnetCorePackages.runtime_10_0' has no Microsoft.AspNetCore.App at all", publish.Output, StringComparison.Ordinal);
        Assert.Contains("Set NixDotnetRuntimePackage to an ASP.NET Core runtime (dotnetCorePackages.aspnetcore_10_0)", publish.Output, StringComparison.Ordinal);
    }
}
