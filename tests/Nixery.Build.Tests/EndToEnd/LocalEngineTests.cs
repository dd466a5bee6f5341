using System.Text.Json;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// LocalRegistry (the SDK's property): the image loaded into a local engine through its CLI. Podman runs here without
/// a daemon, with a storage of the test's own (CONTAINERS_STORAGE_CONF); Docker's CLI may be here, its daemon is not.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class LocalEngineTests
{
    private readonly PackageFeed _feed;

    public LocalEngineTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public void PodmanGetsTheImageUnderEveryTagAndAnUnchangedPublishDoesNotLoadItAgain()
    {
        using var project = SampleProject.Copy(_feed);
        using var storage = new TempDirectory("nixery-podman");
        var environment = PodmanStorage(storage, "vfs");
        string[] arguments = ["-r", "linux-x64", "-p:LocalRegistry=Podman", "-p:ContainerRepository=samples/hello-local", "-p:ContainerImageTags=1.0%3Blatest"];

        var publish = project.Publish(arguments, environment);

        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.Contains("Loaded into Podman: samples/hello-local:1.0, samples/hello-local:latest", publish.Output, StringComparison.Ordinal);
        // The engine is the destination instead of the archive, as in the SDK; the summary says what was built.
        var summaryPath = project.DefaultArchive().Replace("hellonix.tar", "samples-hello-local.json", StringComparison.Ordinal);
        Assert.False(File.Exists(Path.ChangeExtension(summaryPath, ".tar")));
        var summary = JsonDocument.Parse(File.ReadAllText(summaryPath)).RootElement;
        var configDigest = summary.GetProperty("configDigest").GetString()!;

        // podman holds it under both tags, as exactly this image (its ID is the config's digest), with its entry point.
        var inspect = Command.Run("podman", ["image", "inspect", "localhost/samples/hello-local:1.0"], environment: environment).EnsureSuccess().Output;
        var image = JsonDocument.Parse(inspect).RootElement[0];
        Assert.Equal(configDigest, "sha256:" + image.GetProperty("Id").GetString());
        Assert.Equal(["localhost/samples/hello-local:1.0", "localhost/samples/hello-local:latest"], image.GetProperty("RepoTags").EnumerateArray().Select(t => t.GetString()).Order(StringComparer.Ordinal));
        Assert.Equal(["/app/HelloNix"], image.GetProperty("Config").GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("1654", image.GetProperty("Config").GetProperty("User").GetString());

        var again = project.Publish(arguments, environment);
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("Podman already holds samples/hello-local:1.0, samples/hello-local:latest", again.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Loaded into Podman", again.Output, StringComparison.Ordinal);

        // Without LocalRegistry the archive is the destination, and the build says how to load it into podman.
        var archived = project.Publish(["-r", "linux-x64", "-p:ContainerRepository=samples/hello-local"], environment);
        Assert.True(archived.ExitCode == 0, archived.Output);
        var archive = Path.ChangeExtension(summaryPath, ".tar");
        Assert.True(File.Exists(archive));
        Assert.Contains($"'podman load -i {archive}', or set LocalRegistry=Podman", archived.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEngineThatIsMissingOrDoesNotAnswerIsACodedError()
    {
        using var project = SampleProject.Copy(_feed);
        using var storage = new TempDirectory("nixery-podman");

        // podman whose storage cannot be opened: 'podman info' fails.
        var broken = project.Publish(["-r", "linux-x64", "-p:LocalRegistry=Podman"], PodmanStorage(storage, "nosuchdriver"));
        Assert.NotEqual(0, broken.ExitCode);
        Assert.Contains("error NIXIMG042", broken.Output, StringComparison.Ordinal);
        Assert.Contains("does not answer", broken.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("MSB4018", broken.Output, StringComparison.Ordinal);

        // No podman on PATH (Nix and dotnet still are): the engine is not installed, which is found before anything is built.
        var bin = storage.Combine("bin");
        Directory.CreateDirectory(bin);
        foreach (var tool in new[] { "nix", "nix-store", "nix-instantiate" })
        {
            File.CreateSymbolicLink(Path.Combine(bin, tool), OnPath(tool));
        }

        var missing = project.Publish(["-r", "linux-x64", "-p:LocalRegistry=Podman"], new Dictionary<string, string?> { ["PATH"] = bin + ":" + Path.GetDirectoryName(RealPath(OnPath("dotnet"))) });
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("error NIXIMG042", missing.Output, StringComparison.Ordinal);
        Assert.Contains("'podman' is not on PATH", missing.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Nix: realising", missing.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownEngineIsACodedError()
    {
        using var project = SampleProject.Copy(_feed);

        var publish = project.Publish("-r", "linux-x64", "-p:LocalRegistry=Containerd");

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG015", publish.Output, StringComparison.Ordinal);
        Assert.Contains("LocalRegistry 'Containerd'", publish.Output, StringComparison.Ordinal);
    }

    private static string OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists) ?? throw new InvalidOperationException($"{tool} is not on PATH");

    private static string RealPath(string path) => new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;

    /// <summary>podman with a storage of the test's own (CONTAINERS_STORAGE_CONF), never the machine's.</summary>
    internal static Dictionary<string, string?> PodmanStorage(TempDirectory folder, string driver)
    {
        var conf = folder.Combine($"storage-{driver}.conf");
        File.WriteAllText(conf, $"""
            [storage]
            driver = "{driver}"
            graphroot = "{folder.Combine("root-" + driver)}"
            runroot = "{folder.Combine("run-" + driver)}"
            """);
        return new Dictionary<string, string?> { ["CONTAINERS_STORAGE_CONF"] = conf };
    }
}
