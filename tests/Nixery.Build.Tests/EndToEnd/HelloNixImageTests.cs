using System.Text.Json;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// The foundation's promise: dotnet publish -p:NixImage=true turns NixPackage items and the published app
/// into an archive that skopeo reads through both transports, and whose entry point runs on the .NET
/// runtime from Nix and can run the Nix packages it asked for.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class HelloNixImageTests
{
    private readonly PackageFeed _feed;

    public HelloNixImageTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public void RidSpecificPublishGivesAnImageWhoseApphostRunsWithNixRuntimeAndJq()
    {
        using var project = SampleProject.Copy(_feed);
        // -getProperty reports the task's outputs after the build, as JSON.
        var publish = project.Publish("-r", "linux-x64", "-getProperty:NixImageDigest", "-getProperty:NixImageArchivePath");
        Assert.True(publish.ExitCode == 0, publish.Output);
        var outputs = JsonDocument.Parse(publish.Output[publish.Output.IndexOf('{', StringComparison.Ordinal)..]).RootElement.GetProperty("Properties");
        Assert.Equal(project.DefaultArchive(), outputs.GetProperty("NixImageArchivePath").GetString());

        using var image = new ImageReader(project.DefaultArchive());
        var oci = image.Inspect("oci-archive");
        Assert.Equal(oci.GetProperty("Digest").GetString(), outputs.GetProperty("NixImageDigest").GetString());
        var docker = image.Inspect("docker-archive");
        Assert.Equal("amd64", oci.GetProperty("Architecture").GetString());
        Assert.Equal(oci.GetProperty("Layers").GetArrayLength(), docker.GetProperty("Layers").GetArrayLength());

        var config = image.Config().GetProperty("config");
        Assert.Equal(["/app/HelloNix"], config.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("/app", config.GetProperty("WorkingDir").GetString());
        var env = config.GetProperty("Env").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Contains("SSL_CERT_FILE=/etc/ssl/certs/ca-bundle.crt", env);
        // nixpkgs' runtime_10_0 is a wrapper: DOTNET_ROOT names its share/dotnet, a link into the unwrapped runtime.
        var dotnetRoot = env.Single(e => e.StartsWith("DOTNET_ROOT=", StringComparison.Ordinal))["DOTNET_ROOT=".Length..];
        Assert.Matches("^/nix/store/[a-z0-9]{32}-dotnet-runtime-wrapped-10\\.0\\.[0-9]+/share/dotnet$", dotnetRoot);
        Assert.Matches("^/nix/store/[a-z0-9]{32}-dotnet-runtime-10\\.0\\.[0-9]+/share/dotnet$", new FileInfo(image.RootFileSystem + dotnetRoot).LinkTarget);

        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Hello from Nix! .NET 10.0", run.Output, StringComparison.Ordinal);
        Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);

        // The runtime really is the one from Nix: the host's /usr/share/dotnet does not exist in the image.
        Assert.False(Directory.Exists(Path.Combine(image.RootFileSystem, "usr", "share", "dotnet")));
        var jq = image.Run(["/bin/jq", "--version"]);
        Assert.Equal("jq-1.6", jq.Output.Trim());

        var summary = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(project.DefaultArchive(), ".json"))).RootElement;
        Assert.Equal(oci.GetProperty("Digest").GetString(), summary.GetProperty("manifestDigest").GetString());
    }

    [Fact]
    public void PortablePublishStartsTheDllWithDotnetFromNix()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = project.Publish();
        Assert.True(publish.ExitCode == 0, publish.Output);

        using var image = new ImageReader(project.DefaultArchive(runtimeIdentifier: null));
        var config = image.Config().GetProperty("config");
        Assert.Equal(["/bin/dotnet", "/app/HelloNix.dll"], config.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));

        // Without an apphost the image needs no loader at /lib64: the Nix runtime finds its own.
        Assert.False(Directory.Exists(Path.Combine(image.RootFileSystem, "lib64")));
        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void PublishingTwiceFromCleanGivesTheSameManifestDigest()
    {
        using var project = SampleProject.Copy(_feed);
        var digests = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            project.Clean();
            var publish = project.Publish("-r", "linux-x64");
            Assert.True(publish.ExitCode == 0, publish.Output);
            using var image = new ImageReader(project.DefaultArchive());
            digests.Add(image.Inspect().GetProperty("Digest").GetString()!);
        }

        Assert.Equal(digests[0], digests[1]);
    }

    [Fact]
    public void ArchiveLayoutHoldsOciLayoutAndDockerManifestOverTheSameBlobs()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = project.Publish("-r", "linux-x64", "-p:ContainerRepository=samples/hello-nix", "-p:ContainerImageTags=1.2.3%3Blatest");
        Assert.True(publish.ExitCode == 0, publish.Output);

        var archive = Path.Combine(project.Directory, "bin", "Release", "net10.0", "linux-x64", "image", "samples-hello-nix.tar");
        var members = Command.Run("tar", ["-tf", archive]).EnsureSuccess().Output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["oci-layout", "index.json", "manifest.json", "blobs/", "blobs/sha256/"], members.Take(5));
        Assert.All(members.Skip(5), m => Assert.Matches("^blobs/sha256/[0-9a-f]{64}$", m));

        using var extract = new TempDirectory();
        Command.Run("tar", ["-xf", archive, "-C", extract.Path, "index.json", "manifest.json"]).EnsureSuccess();
        var index = JsonDocument.Parse(File.ReadAllText(extract.Combine("index.json"))).RootElement;
        var refs = index.GetProperty("manifests").EnumerateArray()
            .Select(m => m.GetProperty("annotations").GetProperty("io.containerd.image.name").GetString())
            .ToList();
        Assert.Equal(["samples/hello-nix:1.2.3", "samples/hello-nix:latest"], refs);
        var docker = JsonDocument.Parse(File.ReadAllText(extract.Combine("manifest.json"))).RootElement[0];
        Assert.Equal(["samples/hello-nix:1.2.3", "samples/hello-nix:latest"], docker.GetProperty("RepoTags").EnumerateArray().Select(t => t.GetString()));

        // skopeo picks one image of several by its tag.
        var inspect = Command.Run("skopeo", ["inspect", $"oci-archive:{archive}:1.2.3"]);
        Assert.True(inspect.ExitCode == 0, inspect.Output);
        var dockerInspect = Command.Run("skopeo", ["inspect", $"docker-archive:{archive}:samples/hello-nix:latest"]);
        Assert.True(dockerInspect.ExitCode == 0, dockerInspect.Output);

        // podman load takes the archive as it is, with every tag (in a private storage folder).
        using var storage = new TempDirectory("nixery-podman");
        string[] podman = ["--root", storage.Combine("root"), "--runroot", storage.Combine("run"), "--storage-driver", "vfs"];
        var load = Command.Run("podman", [.. podman, "load", "-i", archive]);
        Assert.True(load.ExitCode == 0, load.Output);
        var images = Command.Run("podman", [.. podman, "images", "--format", "{{.Repository}}:{{.Tag}}"]).EnsureSuccess().Output;
        Assert.Contains("samples/hello-nix:1.2.3", images, StringComparison.Ordinal);
        Assert.Contains("samples/hello-nix:latest", images, StringComparison.Ordinal);
    }
}
