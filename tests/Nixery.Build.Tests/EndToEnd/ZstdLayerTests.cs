using System.Formats.Tar;
using System.Text.Json;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// NixImageLayerCompression=zstd through <c>dotnet publish</c>, read by clients we did not write: every layer is
/// <c>tar+zstd</c> and <c>zstd -t</c> accepts it, skopeo reads and copies it (and converts it to gzip), podman loads it
/// (running it with podman is not possible here: crun may not set rlimits in this sandbox). umoci 0.4.7 (Debian 12's) refuses zstd layers ("blob is not correct mediatype"), so the entry point is
/// also run from skopeo's gzip copy with umoci and bubblewrap: the content is the same (the config, with its diff IDs,
/// is unchanged by the conversion). And the same digest on one core as on all, for both codecs.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class ZstdLayerTests
{
    private const string ZstdLayer = "application/vnd.oci.image.layer.v1.tar+zstd";

    private readonly PackageFeed _feed;

    public ZstdLayerTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public void AZstdImageIsReadCopiedConvertedUnpackedRunAndLoadedByRealClients()
    {
        using var project = SampleProject.Copy(_feed);
        using var work = new TempDirectory("nixery-zstd");

        var publish = project.Publish("-r", "linux-x64", "-p:NixImageLayerCompression=zstd", "-getProperty:NixImageDigest");

        Assert.True(publish.ExitCode == 0, publish.Output);
        var digest = publish.StandardOutput.Trim().Split('\n')[^1].Trim();
        using var image = new ImageReader(project.DefaultArchive());
        var manifest = image.Manifest();
        Assert.Equal(digest, image.Inspect().GetProperty("Digest").GetString());
        var layers = manifest.GetProperty("layers").EnumerateArray().ToList();
        Assert.True(layers.Count >= 3, $"{layers.Count} layers");
        Assert.All(layers, l => Assert.Equal(ZstdLayer, l.GetProperty("mediaType").GetString()));

        // zstd's own tool accepts every layer blob (frames, checksums, end).
        foreach (var (name, path) in ExtractBlobs(project.DefaultArchive(), layers.Select(l => l.GetProperty("digest").GetString()!), work))
        {
            var test = Command.Run("zstd", ["-t", "-q", path]);
            Assert.True(test.ExitCode == 0, $"zstd -t refused layer {name}: {test.Output}");
        }

        // skopeo copies it as it is (the same manifest digest), and converts it to gzip on request.
        var kept = work.Combine("kept");
        Command.Run("skopeo", ["copy", "--quiet", $"oci-archive:{project.DefaultArchive()}", $"oci:{kept}:image"]).EnsureSuccess();
        var keptManifest = Json(Command.Run("skopeo", ["inspect", "--raw", $"oci:{kept}:image"]).EnsureSuccess().StandardOutput);
        Assert.All(keptManifest.GetProperty("layers").EnumerateArray(), l => Assert.Equal(ZstdLayer, l.GetProperty("mediaType").GetString()));
        Assert.Equal(digest, Json(Command.Run("skopeo", ["inspect", $"oci:{kept}:image"]).EnsureSuccess().StandardOutput).GetProperty("Digest").GetString());
        var gzip = work.Combine("gzip");
        Command.Run("skopeo", ["copy", "--quiet", "--dest-compress-format", "gzip", $"oci-archive:{project.DefaultArchive()}", $"oci:{gzip}:image"]).EnsureSuccess();
        var converted = Json(Command.Run("skopeo", ["inspect", "--raw", $"oci:{gzip}:image"]).EnsureSuccess().StandardOutput);
        Assert.All(converted.GetProperty("layers").EnumerateArray(), l => Assert.Equal("application/vnd.oci.image.layer.v1.tar+gzip", l.GetProperty("mediaType").GetString()));
        // Converting changes the blobs, never the content: the config (its diff IDs) is the same, and the entry point runs.
        Assert.Equal(keptManifest.GetProperty("config").GetProperty("digest").GetString(), converted.GetProperty("config").GetProperty("digest").GetString());
        using (var gzipImage = ImageReader.FromLayout(gzip, "image"))
        {
            var run = gzipImage.Run();
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("Hello from Nix!", run.Output, StringComparison.Ordinal);
        }

        // podman loads it, with its own storage, as exactly this image.
        using var storage = new TempDirectory("nixery-podman");
        var environment = LocalEngineTests.PodmanStorage(storage, "vfs");
        var load = Command.Run("podman", ["load", "-i", project.DefaultArchive()], environment: environment);
        Assert.True(load.ExitCode == 0, load.Output);
        var inspect = Json(Command.Run("podman", ["image", "inspect", "localhost/hellonix:latest"], environment: environment).EnsureSuccess().StandardOutput)[0];
        Assert.Equal(keptManifest.GetProperty("config").GetProperty("digest").GetString(), "sha256:" + inspect.GetProperty("Id").GetString());
    }

    [Fact]
    public void ZstdInTheDockerFormatIsACodedErrorThroughPublish()
    {
        using var project = SampleProject.Copy(_feed);

        var publish = project.Publish("-r", "linux-x64", "-p:NixImageLayerCompression=zstd", "-p:ContainerImageFormat=Docker");

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG054", publish.Output, StringComparison.Ordinal);
        Assert.Contains("ContainerImageFormat=OCI", publish.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("MSB4018", publish.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Nix: realising", publish.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(project.DefaultArchive()));
    }

    [Fact]
    public void AnUnknownLayerCompressionIsACodedErrorNamingTheChoices()
    {
        using var project = SampleProject.Copy(_feed);

        var publish = project.Publish("-r", "linux-x64", "-p:NixImageLayerCompression=brotli");

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG026", publish.Output, StringComparison.Ordinal);
        Assert.Contains("NixImageLayerCompression 'brotli'", publish.Output, StringComparison.Ordinal);
        Assert.Contains("gzip (the default) or zstd", publish.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// One core (DOTNET_PROCESSOR_COUNT=1: one compression worker) and all of this machine's, each with an empty layer
    /// cache of its own: the same image digest, for each codec.
    /// </summary>
    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public void TheDigestIsTheSameOnOneCoreAndOnAll(string compression)
    {
        string Digest(string? processors)
        {
            using var project = SampleProject.Copy(_feed);
            var publish = project.Publish(
                ["-r", "linux-x64", $"-p:NixImageLayerCompression={compression}", "-getProperty:NixImageDigest"],
                new Dictionary<string, string?> { ["DOTNET_PROCESSOR_COUNT"] = processors });
            Assert.True(publish.ExitCode == 0, publish.Output);
            return publish.StandardOutput.Trim().Split('\n')[^1].Trim();
        }

        var one = Digest("1");
        var all = Digest(null);

        Assert.StartsWith("sha256:", one, StringComparison.Ordinal);
        Assert.Equal(one, all);
    }

    /// <summary>The layer blobs of an OCI archive, written to files: (digest, path).</summary>
    private static List<(string Digest, string Path)> ExtractBlobs(string archive, IEnumerable<string> digests, TempDirectory work)
    {
        var wanted = digests.ToHashSet(StringComparer.Ordinal);
        var found = new List<(string, string)>();
        using var reader = new TarReader(File.OpenRead(archive));
        while (reader.GetNextEntry() is { } entry)
        {
            var name = entry.Name.TrimStart('.', '/');
            if (name.StartsWith("blobs/sha256/", StringComparison.Ordinal) && wanted.Contains("sha256:" + name["blobs/sha256/".Length..]) && entry.DataStream is { } data)
            {
                var path = work.Combine(name["blobs/sha256/".Length..] + ".zst");
                using (var file = File.Create(path))
                {
                    data.CopyTo(file);
                }

                found.Add(("sha256:" + name["blobs/sha256/".Length..], path));
            }
        }

        Assert.Equal(wanted.Count, found.Count);
        return found;
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
