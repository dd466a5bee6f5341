using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Pipeline;
using Nixery.Build.Registry;
using Nixery.Build.Settings;
using Nixery.Build.Sources;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Pipeline;

/// <summary>
/// ContainerBaseImage through the pipeline, with the base pushed to the in-process registry: the base's layers first
/// and unchanged, the merged config, the base's <c>/etc/passwd</c> extended, what a warm build asks the registry (a
/// tag: one HEAD; a digest: nothing), the platform chosen from an index, and the coded errors. The end-to-end tests
/// do the same against the real registry and run the result.
/// </summary>
public sealed class BaseImagePipelineTests : IDisposable
{
    private const string Passwd = "root:x:0:0:root:/root:/bin/sh\nbase:x:1000:1000::/home/base:/bin/sh\n";

    private readonly string _root = Directory.CreateTempSubdirectory("nixery-base-").FullName;
    private readonly InMemoryRegistry _registry = new();
    private readonly RecordingLog _log = new();
    private readonly FakeClosure _closure;

    public BaseImagePipelineTests()
    {
        var tool = Path.Combine(_root, "store", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-tool-1.0");
        Directory.CreateDirectory(Path.Combine(tool, "bin"));
        File.WriteAllText(Path.Combine(tool, "bin", "tool"), "#!/bin/sh\necho tool\n");
        _closure = new FakeClosure(new RuntimeClosure(
            [new ResolvedPackage("tool", "tool", tool, "NixPackage")],
            new Dictionary<string, StorePathInfo>(StringComparer.Ordinal) { [tool] = new(tool, 1000, [tool]) }));
        Directory.CreateDirectory(Path.Combine(_root, "publish"));
        File.WriteAllText(Path.Combine(_root, "publish", "App.dll"), "app");
        Directory.CreateDirectory(Path.Combine(_root, "pkgs"));
    }

    public void Dispose()
    {
        _registry.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task BaseLayersComeFirstUnchangedAndTheConfigIsMergedAsTheSdkMergesIt()
    {
        var pushed = await PushBase("team/base", "1", Base("amd64"));

        var result = await Run(Request("base.test/team/base:1"));

        var image = result.Image;
        Assert.Equal(pushed.Layers[0].Blob.Descriptor.Digest, image.Layers[0].Blob.Descriptor.Digest);
        Assert.Equal(pushed.Layers[0].DiffId, image.Layers[0].DiffId);
        var config = Json(image.Config);
        var settings = config.GetProperty("config");
        var env = settings.GetProperty("Env").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal("PATH=/nix/var/nix/profiles/nixery-build/bin:/usr/bin:/bin", env[0]);
        Assert.Contains("BASE=1", env);
        Assert.Contains("SSL_CERT_FILE=/nix/var/nix/profiles/nixery-build/etc/ssl/certs/ca-bundle.crt", env);
        Assert.Contains("OVERRIDDEN=ours", env);
        Assert.DoesNotContain("OVERRIDDEN=base", env);
        Assert.Equal("base", settings.GetProperty("User").GetString());
        Assert.Equal("/app/App", settings.GetProperty("Entrypoint")[0].GetString());
        Assert.False(settings.TryGetProperty("Cmd", out _), "the project's entry point replaces the base's command");
        Assert.Equal("/app", settings.GetProperty("WorkingDir").GetString());
        Assert.Equal("SIGTERM", settings.GetProperty("StopSignal").GetString());
        Assert.True(settings.GetProperty("ExposedPorts").TryGetProperty("9000/tcp", out _));
        var labels = settings.GetProperty("Labels");
        Assert.Equal("yes", labels.GetProperty("base.label").GetString());
        Assert.Equal("base.test/team/base:1", labels.GetProperty("org.opencontainers.image.base.name").GetString());
        Assert.Equal(pushed.Digest.Value, labels.GetProperty("org.opencontainers.image.base.digest").GetString());

        // The base's history first, as it was; one entry without empty_layer per layer in all.
        var history = config.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal("base layer", history[0].GetProperty("created_by").GetString());
        Assert.True(history[1].GetProperty("empty_layer").GetBoolean());
        Assert.Equal(image.Layers.Count, history.Count(h => !h.TryGetProperty("empty_layer", out _)));

        // The base's passwd gains the app user; its /bin is not touched; the packages are in the profile.
        var symlinks = Entries(image.Layers.Single(l => l.Description.StartsWith("symlinks", StringComparison.Ordinal)).Blob);
        Assert.Equal(Passwd + "app:x:1654:1654:app:/home/app:/bin/sh\n", symlinks["etc/passwd"]);
        Assert.Contains("home/app", symlinks.Keys);
        Assert.Contains("nix/var/nix/profiles/nixery-build/bin/tool", symlinks.Keys);
        Assert.DoesNotContain(symlinks.Keys, k => k.StartsWith("bin", StringComparison.Ordinal) || k == "tmp" || k == "etc");
    }

    [Fact]
    public async Task AWarmBuildAsksATagOnceAndAPinnedDigestNothing()
    {
        var pushed = await PushBase("team/base", "1", Base("amd64"));
        await Run(Request("base.test/team/base:1"));
        _registry.ClearLog();

        var again = await Run(Request("base.test/team/base:1"));

        Assert.True(again.UpToDate);
        Assert.DoesNotContain(_registry.Log, e => e.Path.Contains("/blobs/", StringComparison.Ordinal));
        Assert.Single(_registry.Log, e => e.Method == "HEAD" && e.Path.EndsWith("/manifests/1", StringComparison.Ordinal));

        _registry.ClearLog();
        var pinned = await Run(Request($"base.test/team/base@{pushed.Digest}"));
        Assert.False(pinned.UpToDate, "another base reference is another request");
        Assert.Empty(_registry.Log);
        Assert.Equal(pushed.Layers[0].Blob.Descriptor.Digest, pinned.Image.Layers[0].Blob.Descriptor.Digest);
    }

    [Fact]
    public async Task AMovedTagGivesANewImage()
    {
        await PushBase("team/base", "1", Base("amd64"));
        var first = await Run(Request("base.test/team/base:1"));
        await PushBase("team/base", "1", Base("amd64", label: "moved"));

        var second = await Run(Request("base.test/team/base:1"));

        Assert.False(second.UpToDate);
        Assert.NotEqual(first.Digest, second.Digest);
        Assert.Equal("moved", Json(second.Image.Config).GetProperty("config").GetProperty("Labels").GetProperty("base.label").GetString());
    }

    [Fact]
    public async Task TheIndexEntryOfThePlatformIsChosen()
    {
        var amd64 = Base("amd64");
        var arm64 = Base("arm64", variant: "v8");
        var index = Blob(MediaTypes.OciIndex, OciJson.Serialize(new ImageIndex(
        [
            amd64.Manifest.Descriptor with { Platform = new Platform("x86_64-linux", "linux", "amd64") },
            arm64.Manifest.Descriptor with { Platform = new Platform("aarch64-linux", "linux", "arm64", "v8") },
        ])));
        await new RegistryPusher(_log, _registry).PushAsync(new ImageArtifact(index, [amd64, arm64]), Push("team/multi", "1"), CancellationToken.None);

        var result = await Run(Request("base.test/team/multi:1", nixSystem: "aarch64-linux"));

        Assert.Equal(arm64.Layers[0].Blob.Descriptor.Digest, result.Image.Layers[0].Blob.Descriptor.Digest);
        var labels = Json(result.Image.Config).GetProperty("config").GetProperty("Labels");
        Assert.Equal(index.Descriptor.Digest.Value, labels.GetProperty("org.opencontainers.image.base.digest").GetString());
    }

    [Fact]
    public async Task ABaseForAnotherPlatformIsACodedError()
    {
        await PushBase("team/base", "1", Base("amd64"));

        var error = await Assert.ThrowsAsync<NixImageException>(() => Run(Request("base.test/team/base:1", nixSystem: "aarch64-linux")));

        Assert.Equal(ErrorCodes.BaseImagePlatformMissing, error.Code);
        Assert.Contains("linux/amd64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownBaseIsACodedErrorNamingIt()
    {
        var error = await Assert.ThrowsAsync<NixImageException>(() => Run(Request("base.test/team/missing:1")));

        Assert.Equal(ErrorCodes.BaseImageNotFound, error.Code);
        Assert.Contains("base.test/team/missing:1", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_root, "out", "app.tar")));
    }

    [Fact]
    public async Task ABaseWithTooManyLayersForAnyBudgetSaysSoInsteadOfANegativeBudget()
    {
        var one = Base("amd64");
        const int Count = 124;
        var configJson = Encoding.UTF8.GetString(Read(one.Config)).Replace(
            $"\"diff_ids\":[\"{one.Layers[0].DiffId}\"]",
            "\"diff_ids\":[" + string.Join(',', Enumerable.Repeat($"\"{one.Layers[0].DiffId}\"", Count)) + "]",
            StringComparison.Ordinal);
        var config = Blob(MediaTypes.OciConfig, Encoding.UTF8.GetBytes(configJson));
        var layers = Enumerable.Repeat(one.Layers[0], Count).ToList();
        var manifest = Blob(MediaTypes.OciManifest, OciJson.Serialize(new ImageManifest(MediaTypes.OciManifest, config.Descriptor, layers.Select(l => l.Blob.Descriptor).ToList())));
        await PushBase("team/deep", "1", new BuiltImage(config, manifest, layers));

        var error = await Assert.ThrowsAsync<NixImageException>(() => Run(Request("base.test/team/deep:1")));

        Assert.Equal(ErrorCodes.LayerLimit, error.Code);
        Assert.Contains("has 124 layers, too many to build on", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("at most -", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AZstdBaseIsKeptAsItIsAndReadThroughItsDecoder()
    {
        var pushed = await PushBase("team/zstd", "1", Base("amd64", compression: LayerCompression.Zstd));

        var result = await Run(Request("base.test/team/zstd:1"));

        var image = result.Image;
        Assert.Equal(pushed.Layers[0].Blob.Descriptor, image.Layers[0].Blob.Descriptor);
        Assert.Equal(MediaTypes.OciLayerZstd, image.Layers[0].Blob.Descriptor.MediaType);
        Assert.Equal(pushed.Layers[0].DiffId, image.Layers[0].DiffId);
        Assert.All(image.Layers.Skip(1), l => Assert.Equal(MediaTypes.OciLayerGzip, l.Blob.Descriptor.MediaType));
        // The base's passwd, read out of the zstd layer, gains the app user.
        var symlinks = Entries(image.Layers.Single(l => l.Description.StartsWith("symlinks", StringComparison.Ordinal)).Blob);
        Assert.Equal(Passwd + "app:x:1654:1654:app:/home/app:/bin/sh\n", symlinks["etc/passwd"]);
    }

    [Fact]
    public async Task OurZstdLayersGoOnAGzipBaseWhichStaysGzip()
    {
        var pushed = await PushBase("team/base", "1", Base("amd64"));

        var result = await Run(Request("base.test/team/base:1", layerCompression: "zstd"));

        var image = result.Image;
        Assert.Equal(pushed.Layers[0].Blob.Descriptor, image.Layers[0].Blob.Descriptor);
        Assert.All(image.Layers.Skip(1), l => Assert.Equal(MediaTypes.OciLayerZstd, l.Blob.Descriptor.MediaType));
        var symlinks = Entries(image.Layers.Single(l => l.Description.StartsWith("symlinks", StringComparison.Ordinal)).Blob);
        Assert.Contains("nix/var/nix/profiles/nixery-build/bin/tool", symlinks.Keys);
    }

    [Fact]
    public async Task AZstdBaseWhoseDiffIdIsWrongIsRefusedAfterDecompressingIt()
    {
        var good = Base("amd64", compression: LayerCompression.Zstd);
        var configJson = Encoding.UTF8.GetString(Read(good.Config)).Replace(good.Layers[0].DiffId.Value, Nixery.Build.Oci.Digest.Of("other"u8).Value, StringComparison.Ordinal);
        var config = Blob(MediaTypes.OciConfig, Encoding.UTF8.GetBytes(configJson));
        var manifest = Blob(MediaTypes.OciManifest, OciJson.Serialize(new ImageManifest(MediaTypes.OciManifest, config.Descriptor, [good.Layers[0].Blob.Descriptor])));
        await PushBase("team/wrong", "1", new BuiltImage(config, manifest, good.Layers));

        var error = await Assert.ThrowsAsync<NixImageException>(() => Run(Request("base.test/team/wrong:1")));

        Assert.Equal(ErrorCodes.BaseImageUnusable, error.Code);
        Assert.Contains("diff_ids do not match", error.Message, StringComparison.Ordinal);
        Assert.Contains(good.Layers[0].DiffId.Value, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACutShortZstdBaseLayerIsACodedError()
    {
        var good = Base("amd64", compression: LayerCompression.Zstd);
        var bytes = Read(good.Layers[0].Blob);
        var cut = Blob(MediaTypes.OciLayerZstd, bytes[..(bytes.Length / 2)]);
        var manifest = Blob(MediaTypes.OciManifest, OciJson.Serialize(new ImageManifest(MediaTypes.OciManifest, good.Config.Descriptor, [cut.Descriptor])));
        await PushBase("team/cut", "1", new BuiltImage(good.Config, manifest, [good.Layers[0] with { Blob = cut }]));

        var error = await Assert.ThrowsAsync<NixImageException>(() => Run(Request("base.test/team/cut:1")));

        Assert.Equal(ErrorCodes.BaseImageUnusable, error.Code);
        Assert.Contains("not a tar archive this package can read", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AZstdBaseInTheDockerFormatIsACodedError()
    {
        await PushBase("team/zstd", "1", Base("amd64", compression: LayerCompression.Zstd));

        var error = await Assert.ThrowsAsync<NixImageException>(() => Run(Request("base.test/team/zstd:1", format: "Docker")));

        Assert.Equal(ErrorCodes.LayerCompressionNotInFormat, error.Code);
        Assert.Contains("base.test/team/zstd:1", error.Message, StringComparison.Ordinal);
    }

    private static byte[] Read(ImageBlob blob)
    {
        using var stream = blob.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    private async Task<BuiltImage> PushBase(string repository, string tag, BuiltImage image)
    {
        await new RegistryPusher(_log, _registry).PushAsync(ImageArtifact.Of(image), Push(repository, tag), CancellationToken.None);
        return image;
    }

    private static RegistryPushRequest Push(string repository, string tag) =>
        new() { Registry = RegistryHost.Parse("base.test"), Repository = repository, Tags = [tag] };

    private Task<ImageBuildResult> Run(ImageRequest request) =>
        new ImagePipeline(_log, _closure, bases: new RegistryBaseImageSource(_log, new PullSettings(null, null), _ => null, _registry))
            .RunAsync(request, ImageJob.Sinks(request, push: null, _log, path: null), CancellationToken.None);

    private ImageRequest Request(string baseImage, string nixSystem = "x86_64-linux", string? layerCompression = null, string? format = null) => ImageRequestFactory.Create(new ImageInputs
    {
        ProjectDirectory = _root,
        PublishDirectory = Path.Combine(_root, "publish"),
        IntermediateDirectory = Path.Combine(_root, "obj"),
        DefaultArchiveDirectory = Path.Combine(_root, "out"),
        AssemblyName = "App",
        Packages = ["tool"],
        NixPkgsPath = Path.Combine(_root, "pkgs"),
        NixSystem = nixSystem,
        BaseImage = baseImage,
        ArchiveOutputPath = Path.Combine(_root, "out", "app.tar"),
        AppCommand = ["/app/App"],
        EnvironmentVariables = [new("OVERRIDDEN", "ours")],
        CacheDirectory = Path.Combine(_root, "cache"),
        HomeDirectory = _root,
        LayerCompression = layerCompression,
        ImageFormat = format,
    }) with
    { NixSourceIdentity = "fake-package-set-1" };

    /// <summary>A one-layer base: an /etc/passwd with a user of its own, a /bin, a config with what the merge must keep.</summary>
    /// <param name="compression">The layer's: gzip, or zstd (written by SharpCompress's stream encoder, not by our codec).</param>
    private static BuiltImage Base(string architecture, string? variant = null, string label = "yes", LayerCompression compression = LayerCompression.Gzip)
    {
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "etc/") { Mode = (UnixFileMode)0b111_101_101 });
            writer.WriteEntry(File("etc/passwd", Passwd));
            writer.WriteEntry(File("etc/group", "root:x:0:\nbase:x:1000:\n"));
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "bin/") { Mode = (UnixFileMode)0b111_101_101 });
            writer.WriteEntry(File("bin/hello", "#!/bin/sh\necho " + architecture + "\n"));
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "tmp/") { Mode = (UnixFileMode)0b1_111_111_111 });
        }

        using var compressed = new MemoryStream();
        using (Stream compressing = compression == LayerCompression.Zstd
            ? new SharpCompress.Compressors.ZStandard.CompressionStream(compressed, 3, leaveOpen: true)
            : new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            compressing.Write(tar.ToArray());
        }

        var layer = Blob(compression == LayerCompression.Zstd ? MediaTypes.OciLayerZstd : MediaTypes.OciLayerGzip, compressed.ToArray());
        var diffId = Nixery.Build.Oci.Digest.Of(tar.ToArray());
        var json = """
            {"architecture":"ARCH",VARIANT"os":"linux",
             "config":{"User":"base","Env":["PATH=/usr/bin:/bin","BASE=1","OVERRIDDEN=base"],"Cmd":["/bin/sh"],"ExposedPorts":{"9000/tcp":{}},
                       "Labels":{"base.label":"LABEL"},"StopSignal":"SIGTERM","Volumes":null},
             "rootfs":{"type":"layers","diff_ids":["DIFF"]},
             "history":[{"created_by":"base layer"},{"created_by":"ENV BASE=1","empty_layer":true}]}
            """
            .Replace("ARCH", architecture, StringComparison.Ordinal)
            .Replace("VARIANT", variant is null ? string.Empty : $"\"variant\":\"{variant}\",", StringComparison.Ordinal)
            .Replace("LABEL", label, StringComparison.Ordinal)
            .Replace("DIFF", diffId.Value, StringComparison.Ordinal);
        var config = Blob(MediaTypes.OciConfig, Encoding.UTF8.GetBytes(json));
        var manifest = Blob(MediaTypes.OciManifest, OciJson.Serialize(new ImageManifest(MediaTypes.OciManifest, config.Descriptor, [layer.Descriptor])));
        return new BuiltImage(config, manifest, [new LayerBlob(layer, diffId, "base layer")]);

        static PaxTarEntry File(string name, string content) =>
            new(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0b110_100_100, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };
    }

    private static ImageBlob Blob(string mediaType, byte[] bytes) => new(new Descriptor(mediaType, Nixery.Build.Oci.Digest.Of(bytes), bytes.Length), () => new MemoryStream(bytes));

    private static JsonElement Json(ImageBlob blob)
    {
        using var stream = blob.Open();
        return JsonDocument.Parse(stream).RootElement.Clone();
    }

    /// <summary>A layer's entries: path → file content (empty for other kinds).</summary>
    private static Dictionary<string, string> Entries(ImageBlob layer)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        using Stream tar = layer.Descriptor.MediaType == MediaTypes.OciLayerZstd
            ? new Nixery.Build.LayerFormat.ZstdReadStream(layer.Open())
            : new GZipStream(layer.Open(), CompressionMode.Decompress);
        using var reader = new TarReader(tar);
        while (reader.GetNextEntry() is { } entry)
        {
            using var content = new StreamReader(entry.DataStream ?? new MemoryStream());
            entries[entry.Name.TrimEnd('/')] = content.ReadToEnd();
        }

        return entries;
    }
}
