using System.Diagnostics;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>
/// A registry that takes the connection and then never answers, or answers one byte a second: the publish ends with
/// a coded error in bounded time (NixImageRegistryTimeout per try, a handful of tries), saying on the way what it
/// waits for. Real sockets on 127.0.0.1.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class SilentRegistryTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private readonly PackageFeed _feed;

    public SilentRegistryTests(PackageFeed feed) => _feed = feed;

    private static CommandResult PushTo(StubbornServer server, SampleProject project)
    {
        var stopwatch = Stopwatch.StartNew();
        var publish = RegistryPush.Publish(project, server.Name, "silent/app", ["-p:NixImageRegistryTimeout=2", $"-p:ContainerInsecureRegistries={server.Name}"]);
        Assert.True(stopwatch.Elapsed < Bound, $"the publish took {stopwatch.Elapsed}:\n{publish.Output}");
        return publish;
    }

    [Fact]
    public void RegistryThatNeverAnswersEndsThePublishWithNiximg033InBoundedTime()
    {
        using var server = StubbornServer.Silent();
        using var project = SampleProject.Copy(_feed);

        var publish = PushTo(server, project);

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG033", publish.Output, StringComparison.Ordinal);
        Assert.Contains("no progress for 2 s", publish.Output, StringComparison.Ordinal);
        Assert.Contains("try 1 of 5; trying again in", publish.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void RegistryThatAnswersOneByteASecondEndsThePublishWithACodedErrorInBoundedTime()
    {
        using var server = StubbornServer.Trickling();
        using var project = SampleProject.Copy(_feed);

        var publish = PushTo(server, project);

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG033", publish.Output, StringComparison.Ordinal);
        Assert.Contains("no progress for 2 s", publish.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void TimeoutThatIsNotANumberOfSecondsIsNiximg039BeforeAnythingIsBuilt()
    {
        using var project = SampleProject.Copy(_feed);

        var publish = RegistryPush.Publish(project, "127.0.0.1:5999", "silent/app", ["-p:NixImageRegistryTimeout=forever"]);

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG039", publish.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Nix: resolving", publish.Output, StringComparison.Ordinal);
    }
}
