using Nixery.Build.Tests.Support;
using Xunit.Abstractions;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>
/// The documented entry points, called as the README writes them, each checked by its exit code and by what the
/// registry received (its own access log): <c>-t:PushNixImage</c> after a publish and on a project never
/// published, and <c>-t:PublishNixImage</c>. (<c>dotnet publish -p:NixImage=true -p:ContainerRegistry=…</c> is
/// AnonymousRegistryTests', <c>-t:CleanNixImageCache</c> IncrementalTests'.)
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class EntryPointTests : IClassFixture<AnonymousRegistry>
{
    private readonly PackageFeed _feed;
    private readonly TestRegistry _registry;
    private readonly ITestOutputHelper _output;

    public EntryPointTests(PackageFeed feed, AnonymousRegistry registry, ITestOutputHelper output)
    {
        _feed = feed;
        _registry = registry.Registry;
        _output = output;
    }

    /// <summary><c>dotnet msbuild -restore -t:&lt;target&gt;</c> with the publish's properties, isolated from the machine's credentials.</summary>
    private static CommandResult Msbuild(SampleProject project, string target, params string[] properties) =>
        project.Dotnet(
            ["msbuild", project.ProjectFile, "-restore", "-t:" + target, "-p:Configuration=Release", "-p:RuntimeIdentifier=linux-x64", "-p:NixImage=true", .. properties],
            RegistryPush.IsolatedEnvironment(project));

    private static bool Writes(AccessLogEntry e) => e.Method is "PUT" or "POST" or "PATCH" or "DELETE";

    [Fact]
    public void PushNixImageAfterAPublishPushesOnceThenNothingNew()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = project.Publish("-r", "linux-x64", RegistryPush.NoSbom);
        Assert.True(publish.ExitCode == 0, publish.Output);

        var mark = _registry.Mark();
        var push = Msbuild(project, "PushNixImage", RegistryPush.NoSbom, $"-p:ContainerRegistry={_registry.Name}", "-p:ContainerRepository=entry/after-publish");
        Assert.True(push.ExitCode == 0, push.Output);
        var first = _registry.AccessLogSince(mark);
        _output.WriteLine("-t:PushNixImage after a publish:\n" + first.Summary());
        Assert.Equal(1, first.ManifestPuts());
        Assert.True(first.BlobUploads() > 1);
        Assert.DoesNotContain("MSB4006", push.Output, StringComparison.Ordinal);

        mark = _registry.Mark();
        var again = Msbuild(project, "PushNixImage", RegistryPush.NoSbom, $"-p:ContainerRegistry={_registry.Name}", "-p:ContainerRepository=entry/after-publish");
        Assert.True(again.ExitCode == 0, again.Output);
        var second = _registry.AccessLogSince(mark);
        _output.WriteLine("The same -t:PushNixImage again:\n" + second.Summary());
        Assert.DoesNotContain(second, Writes);
        Assert.Contains("tag latest already points at", again.Output, StringComparison.Ordinal);

        using var pulled = ImageReader.FromRegistry($"{_registry.Name}/entry/after-publish:latest", "--src-tls-verify=false");
        var run = pulled.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Hello from Nix!", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void PushNixImageOnAProjectNeverPublishedPublishesAndPushesEachTagOnce()
    {
        using var project = SampleProject.Copy(_feed);

        var mark = _registry.Mark();
        var push = Msbuild(project, "PushNixImage", RegistryPush.NoSbom, $"-p:ContainerRegistry={_registry.Name}", "-p:ContainerRepository=entry/clean", "-p:ContainerImageTags=1.0%3Blatest");

        Assert.True(push.ExitCode == 0, push.Output);
        var log = _registry.AccessLogSince(mark);
        _output.WriteLine("-t:PushNixImage on a clean project:\n" + log.Summary());
        Assert.Equal(2, log.ManifestPuts());
        Assert.True(File.Exists(Path.Combine(project.Directory, "bin", "Release", "net10.0", "linux-x64", "publish", "HelloNix.dll")));
        using var pulled = ImageReader.FromRegistry($"{_registry.Name}/entry/clean:1.0", "--src-tls-verify=false");
        Assert.Contains("jq says: jq-1.6", pulled.Run().Output, StringComparison.Ordinal);
    }

    [Fact]
    public void PublishNixImageTargetPushesEachTagOnce()
    {
        using var project = SampleProject.Copy(_feed);

        var mark = _registry.Mark();
        var publish = Msbuild(project, "PublishNixImage", RegistryPush.NoSbom, $"-p:ContainerRegistry={_registry.Name}", "-p:ContainerRepository=entry/publish-target", "-p:ContainerImageTags=a%3Bb");

        Assert.True(publish.ExitCode == 0, publish.Output);
        var log = _registry.AccessLogSince(mark);
        Assert.Equal(2, log.ManifestPuts());
        Assert.Single(publish.Output.Split('\n'), l => l.Contains($"pushed {_registry.Name}/entry/publish-target:a@", StringComparison.Ordinal));
    }

    [Fact]
    public void PushNixImageWithoutARegistryIsNiximg030BeforeAnythingIsBuilt()
    {
        using var project = SampleProject.Copy(_feed);

        var push = Msbuild(project, "PushNixImage");

        Assert.NotEqual(0, push.ExitCode);
        Assert.Contains("error NIXIMG030", push.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Nix: resolving", push.Output, StringComparison.Ordinal);
    }
}
