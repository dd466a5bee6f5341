using Xunit.Abstractions;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>An anonymous registry with a fault-injecting proxy in front of it.</summary>
public sealed class FaultyRegistry : IDisposable
{
    public FaultyRegistry()
    {
        Registry = new TestRegistry();
        Proxy = new FaultProxy(Registry.Port);
    }

    public TestRegistry Registry { get; }

    public FaultProxy Proxy { get; }

    public void Dispose()
    {
        Proxy.Dispose();
        Registry.Dispose();
    }
}

/// <summary>
/// What the network does to pushes: refused and reset connections, a chunk broken halfway, delays, 503 and 429 with
/// Retry-After. Each is survived with the image intact; a registry that keeps failing gives a coded error after a
/// bounded number of tries, and no tag is left pointing at an incomplete image.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class FaultProxyRegistryTests : IClassFixture<FaultyRegistry>, IDisposable
{
    private readonly PackageFeed _feed;
    private readonly FaultyRegistry _fixture;
    private readonly ITestOutputHelper _output;

    public FaultProxyRegistryTests(PackageFeed feed, FaultyRegistry fixture, ITestOutputHelper output)
    {
        _feed = feed;
        _fixture = fixture;
        _output = output;
        _fixture.Proxy.Clear();
    }

    private FaultProxy Proxy => _fixture.Proxy;

    private TestRegistry Registry => _fixture.Registry;

    public void Dispose() => _fixture.Proxy.Clear();

    [Fact]
    public void RefusedResetDelayedAndThrottledRequestsAreSurvivedWithTheImageIntact()
    {
        using var project = SampleProject.Copy(_feed);
        Proxy.Add(new FaultRule("GET", "/v2/", Fault.Refuse));
        Proxy.Add(new FaultRule("HEAD", "/blobs/", Fault.Refuse) { Skip = 2 });
        Proxy.Add(new FaultRule("HEAD", "/manifests/", Fault.Delay) { Delay = TimeSpan.FromSeconds(2) });
        Proxy.Add(new FaultRule("POST", "/blobs/uploads/", Fault.Status) { Status = 429, Skip = 1 });
        // The large layer's second chunk is broken after 1 MB, before the registry sees any of it: the upload resumes from the registry's Range.
        Proxy.Add(new FaultRule("PATCH", "/blobs/uploads/", Fault.ResetBeforeForwarding) { Skip = 1, AfterBytes = 1 << 20 });
        // The third chunk is cut while the registry receives it: the registry drops that upload, which starts again.
        Proxy.Add(new FaultRule("PATCH", "/blobs/uploads/", Fault.ResetWhileForwarding) { Skip = 3, AfterBytes = 1 << 20 });
        Proxy.Add(new FaultRule("PUT", "/blobs/uploads/", Fault.ResetWhileForwarding) { Skip = 1, AfterBytes = 100 });
        Proxy.Add(new FaultRule("PUT", "/manifests/", Fault.Status) { Status = 503 });

        var mark = Registry.Mark();
        var publish = RegistryPush.Publish(project, Proxy.Name, "faults/survived", ["-v:detailed"]);
        _output.WriteLine(string.Join('\n', Proxy.Applied));
        _output.WriteLine(Registry.AccessLogSince(mark).Summary());
        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.Equal(8, Proxy.Applied.Count);
        Assert.Contains("resuming at byte", publish.Output, StringComparison.Ordinal);

        // Read back past the proxy: the registry holds exactly the image that was built, and it runs.
        var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(project.DefaultArchive().Replace("hellonix.tar", "faults-survived.json", StringComparison.Ordinal))).RootElement;
        using var pulled = ImageReader.FromRegistry($"{Registry.Name}/faults/survived:latest", "--src-tls-verify=false");
        Assert.Equal(summary.GetProperty("manifestDigest").GetString(), pulled.Inspect().GetProperty("Digest").GetString());
        var run = pulled.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void RegistryThatKeepsFailingGivesNIXIMG035AfterBoundedTriesAndNoTag()
    {
        using var project = SampleProject.Copy(_feed);
        Proxy.Add(new FaultRule("PATCH", "/blobs/uploads/", Fault.Status) { Status = 500, Times = int.MaxValue });

        var mark = Registry.Mark();
        var publish = RegistryPush.Publish(project, Proxy.Name, "faults/failing");
        var log = Registry.AccessLogSince(mark);
        _output.WriteLine(log.Summary());

        Assert.NotEqual(0, publish.ExitCode);
        var error = publish.Output.Split('\n').First(l => l.Contains("error NIXIMG035", StringComparison.Ordinal));
        Assert.Contains(Proxy.Name, error, StringComparison.Ordinal);
        Assert.Contains("upload chunk", error, StringComparison.Ordinal);
        Assert.Contains("500", error, StringComparison.Ordinal);
        Assert.Contains("after 5 tries", error, StringComparison.Ordinal);
        Assert.Equal(5, Proxy.Applied.Count);
        Assert.Equal(0, log.ManifestPuts());
        var inspect = Support.Command.Run("skopeo", ["inspect", "--tls-verify=false", $"docker://{Registry.Name}/faults/failing:latest"]);
        Assert.NotEqual(0, inspect.ExitCode);
    }

    [Fact]
    public void RegistryThatNeverAnswersGivesNIXIMG033()
    {
        using var project = SampleProject.Copy(_feed);
        Proxy.Add(new FaultRule("GET", "/v2/", Fault.Refuse) { Times = int.MaxValue });

        var publish = RegistryPush.Publish(project, Proxy.Name, "faults/unreachable");

        Assert.NotEqual(0, publish.ExitCode);
        var error = publish.Output.Split('\n').First(l => l.Contains("error NIXIMG033", StringComparison.Ordinal));
        Assert.Contains(Proxy.Name, error, StringComparison.Ordinal);
        Assert.Contains("after 5 tries", error, StringComparison.Ordinal);
    }
}
