using System.Text.Json;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Pipeline;
using Nixery.Build.Settings;
using Nixery.Build.Sinks;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Pipeline;

/// <summary>
/// A multi-platform publish without Nix or sockets: each platform's image built into the layer cache by the pipeline
/// with no sink (as an inner publish does), then joined into one index that every sink writes. Shared blobs go once,
/// platform manifests before the index, every tag names the index.
/// </summary>
public sealed class ImageIndexPipelineTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("nixery-index-").FullName;
    private readonly InMemoryRegistry _registry = new();
    private readonly RecordingLog _log = new();

    public void Dispose()
    {
        _registry.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task TwoPlatformsBecomeOneIndexUnderEveryTagWithSharedBlobsSentOnce()
    {
        var platforms = await BuildPlatforms(("linux-x64", "x86_64-linux"), ("linux-arm64", "aarch64-linux"));

        var result = await RunIndex(Request("x86_64-linux", "outer"), platforms, withRegistry: true);

        Assert.True(result.Artifact.IsIndex);
        Assert.Equal(MediaTypes.OciIndex, result.Artifact.Root.Descriptor.MediaType);
        Assert.Equal(result.Digest.Value, _registry.TagDigest("demo/app", "1.0"));
        Assert.Equal(result.Digest.Value, _registry.TagDigest("demo/app", "latest"));

        using var index = JsonDocument.Parse(ReadAll(result.Artifact.Root));
        var entries = index.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        Assert.Equal(["amd64", "arm64"], entries.Select(e => e.GetProperty("platform").GetProperty("architecture").GetString()));
        Assert.Equal("v8", entries[1].GetProperty("platform").GetProperty("variant").GetString());
        Assert.False(entries[0].GetProperty("platform").TryGetProperty("variant", out _));
        Assert.Equal(platforms.Select(p => p.ManifestDigest.Value), entries.Select(e => e.GetProperty("digest").GetString()));

        // The images share their store-path layers and the app layer here: each distinct blob was uploaded once.
        var log = _registry.Log.ToList();
        var uploads = log.Where(e => e.Method == "PUT" && e.Path.Contains("/blobs/uploads/", StringComparison.Ordinal)).ToList();
        var distinct = result.Artifact.ContentBlobs.Count;
        Assert.True(distinct < result.Artifact.Images.Sum(i => i.Layers.Count + 1), "the test images should share blobs");
        Assert.Equal(distinct, uploads.Count);
        Assert.Equal(distinct, uploads.Select(u => u.Path.Split("digest=")[1]).Distinct().Count());

        // Platform manifests by digest, after every blob; then the index under each tag.
        var manifestPuts = log.Select((e, i) => (e, i)).Where(x => x.e.Method == "PUT" && x.e.Path.Contains("/manifests/", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, manifestPuts.Count);
        Assert.True(manifestPuts[0].i > log.FindLastIndex(e => e.Path.Contains("/blobs/", StringComparison.Ordinal)));
        Assert.EndsWith(platforms[0].ManifestDigest.Value, manifestPuts[0].e.Path, StringComparison.Ordinal);
        Assert.EndsWith(platforms[1].ManifestDigest.Value, manifestPuts[1].e.Path, StringComparison.Ordinal);
        Assert.EndsWith("/manifests/1.0", manifestPuts[2].e.Path, StringComparison.Ordinal);

        // The archive: index.json names the index for each tag; Docker's manifest.json lists both images, tags on the first.
        var archive = result.ArchivePath!;
        var tar = TarFiles(archive);
        using var ociIndex = JsonDocument.Parse(tar["index.json"]);
        Assert.All(ociIndex.RootElement.GetProperty("manifests").EnumerateArray(), m => Assert.Equal(result.Digest.Value, m.GetProperty("digest").GetString()));
        using var docker = JsonDocument.Parse(tar["manifest.json"]);
        var images = docker.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, images.Count);
        Assert.Equal(2, images[0].GetProperty("RepoTags").GetArrayLength());
        Assert.Equal(0, images[1].GetProperty("RepoTags").GetArrayLength());
        Assert.Contains($"blobs/sha256/{result.Digest.Hex}", tar.Keys);
        Assert.Contains($"blobs/sha256/{platforms[1].ManifestDigest.Hex}", tar.Keys);
    }

    [Fact]
    public async Task EachPlatformsSbomsAreAttachedToItsOwnImageAndWrittenUnderItsName()
    {
        var platforms = await BuildPlatforms([("linux-x64", "x86_64-linux"), ("linux-arm64", "aarch64-linux")], format: null, sbom: "CycloneDX;SPDX");

        var result = await RunIndex(Request("x86_64-linux", "outer", sbom: "CycloneDX;SPDX"), platforms, withRegistry: true);

        Assert.Equal(4, result.Sboms.Count);
        var outer = Path.Combine(_root, "outer", "out");
        Assert.Equal(
            [Path.Combine(outer, "app.linux-amd64.cdx.json"), Path.Combine(outer, "app.linux-amd64.spdx.json"), Path.Combine(outer, "app.linux-arm64-v8.cdx.json"), Path.Combine(outer, "app.linux-arm64-v8.spdx.json")],
            result.Sboms.Select(f => f.Path).Order(StringComparer.Ordinal));
        foreach (var platform in platforms)
        {
            var mine = result.Sboms.Where(f => f.Subject == platform.ManifestDigest).ToList();
            Assert.Equal(2, mine.Count);
            var tagged = _registry.ManifestJson("demo/app", "sha256-" + platform.ManifestDigest.Hex)!.Value;
            Assert.Equal(mine.Select(f => f.Referrer.Value).Order(StringComparer.Ordinal), tagged.GetProperty("manifests").EnumerateArray().Select(e => e.GetProperty("digest").GetString()!).Order(StringComparer.Ordinal));
            using var bom = JsonDocument.Parse(File.ReadAllBytes(mine.Single(f => f.Format == "CycloneDX").Path));
            Assert.Contains(platform.ManifestDigest.Hex, bom.RootElement.GetProperty("metadata").GetRawText(), StringComparison.Ordinal);
        }

        // Nothing for the index itself: the documents describe images, and the index is not one.
        Assert.Null(_registry.ManifestJson("demo/app", "sha256-" + result.Digest.Hex));
    }

    [Fact]
    public async Task AnUnchangedIndexIsUpToDateAndPushesNothing()
    {
        var platforms = await BuildPlatforms(("linux-x64", "x86_64-linux"), ("linux-arm64", "aarch64-linux"));
        var first = await RunIndex(Request("x86_64-linux", "outer"), platforms, withRegistry: true);
        var archiveTime = File.GetLastWriteTimeUtc(first.ArchivePath!);
        _registry.ClearLog();

        var again = await RunIndex(Request("x86_64-linux", "outer"), platforms, withRegistry: true);

        Assert.True(again.UpToDate);
        Assert.Equal(first.Digest, again.Digest);
        Assert.DoesNotContain(_registry.Log, e => e.Method is "PUT" or "POST" or "PATCH");
        Assert.Equal(archiveTime, File.GetLastWriteTimeUtc(again.ArchivePath!));
    }

    [Fact]
    public async Task ABlobTheRegistryLostSinceAnEarlierPushIsSentAgainBeforeThePlatformManifests()
    {
        var platforms = await BuildPlatforms(("linux-x64", "x86_64-linux"), ("linux-arm64", "aarch64-linux"));
        var first = await RunIndex(Request("x86_64-linux", "outer"), platforms, withRegistry: true);
        // Garbage collected: the push records still say the repository holds it, so the next push does not ask.
        var lost = first.Artifact.Images[1].Layers[^1].Blob.Descriptor.Digest.Value;
        _registry.Lose(lost);
        _registry.ClearLog();

        var retagged = await RunIndex(Request("x86_64-linux", "outer", tags: "2.0"), platforms, withRegistry: true);

        Assert.Equal(retagged.Digest.Value, _registry.TagDigest("demo/app", "2.0"));
        Assert.Contains(_registry.Log, e => e.Method == "PUT" && e.Path.Contains("/blobs/uploads/", StringComparison.Ordinal) && e.Path.Contains(lost["sha256:".Length..], StringComparison.Ordinal));
    }

    [Fact]
    public async Task DockerFormatImagesAreJoinedByADockerManifestList()
    {
        var platforms = await BuildPlatforms([("linux-x64", "x86_64-linux"), ("linux-arm64", "aarch64-linux")], format: "Docker");

        var result = await RunIndex(Request("x86_64-linux", "outer", format: "Docker"), platforms, withRegistry: false);

        Assert.Equal(MediaTypes.DockerManifestList, result.Artifact.Root.Descriptor.MediaType);
        using var index = JsonDocument.Parse(ReadAll(result.Artifact.Root));
        Assert.Equal(MediaTypes.DockerManifestList, index.RootElement.GetProperty("mediaType").GetString());
        Assert.All(index.RootElement.GetProperty("manifests").EnumerateArray(), m => Assert.Equal(MediaTypes.DockerManifest, m.GetProperty("mediaType").GetString()));
    }

    [Fact]
    public async Task OnePlatformIsThatImageWithoutAnIndex()
    {
        var platforms = await BuildPlatforms(("linux-arm64", "aarch64-linux"));

        var result = await RunIndex(Request("x86_64-linux", "outer"), platforms, withRegistry: false);

        Assert.False(result.Artifact.IsIndex);
        Assert.Equal(platforms[0].ManifestDigest, result.Digest);
    }

    [Fact]
    public async Task TwoRuntimeIdentifiersOfOnePlatformAreACodedError()
    {
        var platforms = await BuildPlatforms(("linux-x64", "x86_64-linux"));
        var twice = new[] { platforms[0], platforms[0] with { RuntimeIdentifier = "linux-musl-x64" } };

        var error = await Assert.ThrowsAsync<NixImageException>(() => RunIndex(Request("x86_64-linux", "outer"), twice, withRegistry: false));

        Assert.Equal(ErrorCodes.PlatformImageUnusable, error.Code);
        Assert.Contains("linux-x64 and linux-musl-x64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APlatformImageGoneFromTheCacheIsACodedErrorAndNothingIsWritten()
    {
        var platforms = await BuildPlatforms(("linux-x64", "x86_64-linux"), ("linux-arm64", "aarch64-linux"));
        var request = Request("x86_64-linux", "outer");
        File.Delete(Path.Combine(request.LayerCacheDirectory, "blobs", "sha256", platforms[1].ManifestDigest.Hex));

        var error = await Assert.ThrowsAsync<NixImageException>(() => RunIndex(request, platforms, withRegistry: false));

        Assert.Equal(ErrorCodes.PlatformImageUnusable, error.Code);
        Assert.Contains("linux-arm64", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(request.ArchivePath));
    }

    [Fact]
    public async Task PlatformBuildsLeavePruningToTheIndexWhichKeepsEveryPlatformsBlobs()
    {
        // A cache limit of one byte, and every blob older than the prune grace: a platform build that pruned would
        // drop the other platform's image.
        var x64 = await BuildPlatforms([("linux-x64", "x86_64-linux")], format: null, cacheMaxSize: "1");
        var request = Request("x86_64-linux", "outer", cacheMaxSize: "1");
        var blobs = Path.Combine(request.LayerCacheDirectory, "blobs", "sha256");
        Age(blobs);
        var arm64 = await BuildPlatforms([("linux-arm64", "aarch64-linux")], format: null, cacheMaxSize: "1");
        Assert.True(File.Exists(Path.Combine(blobs, x64[0].ManifestDigest.Hex)));

        var stale = Path.Combine(blobs, new string('f', 64));
        File.WriteAllText(stale, "a blob of an earlier image");
        Age(blobs);
        var result = await RunIndex(request, [.. x64, .. arm64], withRegistry: false);

        Assert.False(File.Exists(stale));
        Assert.All(result.Artifact.AllBlobs, b => Assert.True(File.Exists(Path.Combine(blobs, b.Descriptor.Digest.Hex)), b.Descriptor.Digest.Value));

        static void Age(string folder)
        {
            foreach (var file in Directory.GetFiles(folder))
            {
                File.SetLastAccessTimeUtc(file, DateTime.UtcNow.AddDays(-30));
            }
        }
    }

    [Fact]
    public async Task APlatformBuildWritesNothingWhereItsRequestsArchiveAndSummaryWouldGo()
    {
        // With ContainerArchiveOutputPath set, every inner build's request names the multi-platform publish's archive.
        var request = Request("aarch64-linux", "linux-arm64");
        Directory.CreateDirectory(Path.GetDirectoryName(request.SummaryPath)!);
        File.WriteAllText(request.SummaryPath, "the outer publish's summary");

        var platform = ImageJob.PlatformOnly(request);
        await new ImagePipeline(_log, new FakeClosure(Closure("linux-arm64")), pruneCache: false).RunAsync(platform, [], CancellationToken.None);

        Assert.Equal("the outer publish's summary", File.ReadAllText(request.SummaryPath));
        Assert.False(File.Exists(request.ArchivePath));
        Assert.StartsWith(request.IntermediateDirectory, platform.SummaryPath, StringComparison.Ordinal);
        Assert.True(File.Exists(platform.SummaryPath));
        Assert.False(platform.WriteArchive);
    }

    [Fact]
    public void APlatformImageReportIsParsedOrRefusedWithACode()
    {
        var digest = "sha256:" + new string('a', 64);
        var parsed = PlatformImage.Parse("linux-arm64", "aarch64-linux", digest);
        Assert.Equal(new Platform("aarch64-linux", "linux", "arm64", "v8"), parsed.Platform);
        Assert.Equal(ErrorCodes.PlatformImageUnusable, Assert.Throws<NixImageException>(() => PlatformImage.Parse("linux-arm64", "aarch64-linux", string.Empty)).Code);
        Assert.Equal(ErrorCodes.UnsupportedPlatform, Assert.Throws<NixImageException>(() => PlatformImage.Parse("win-x64", "x86_64-windows", digest)).Code);
    }

    private Task<List<PlatformImage>> BuildPlatforms(params (string Rid, string System)[] platforms) => BuildPlatforms(platforms, format: null);

    /// <summary>Each platform's image into the shared layer cache, with no sink and no pruning: what an inner publish does.</summary>
    private async Task<List<PlatformImage>> BuildPlatforms((string Rid, string System)[] platforms, string? format, string? cacheMaxSize = null, string sbom = "none")
    {
        var built = new List<PlatformImage>();
        foreach (var (rid, system) in platforms)
        {
            var pipeline = new ImagePipeline(_log, new FakeClosure(Closure(rid)), pruneCache: false);
            var result = await pipeline.RunAsync(Request(system, rid, format, cacheMaxSize, sbom: sbom), [], CancellationToken.None);
            built.Add(new PlatformImage(rid, Platform.FromNixSystem(system), result.Digest));
        }

        return built;
    }

    private async Task<ImageBuildResult> RunIndex(ImageRequest request, IReadOnlyList<PlatformImage> platforms, bool withRegistry)
    {
        using var registry = withRegistry
            ? RegistrySink.Connect(new RegistrySettings("demo.test", null, null), request.Repository, request.Tags, request.LayerCacheDirectory, _log, _ => null, _registry, CancellationToken.None)
            : null;
        var sinks = ImageJob.Sinks(request, registry, _log, path: null);

        return await new ImageIndexPipeline(_log).RunAsync(request, platforms, sinks, CancellationToken.None);
    }

    /// <summary>A platform's request (each its own publish and obj folders, as per-RID publishes have); one layer cache.</summary>
    private ImageRequest Request(string system, string name, string? format = null, string? cacheMaxSize = null, string tags = "1.0;latest", string sbom = "none")
    {
        var publish = Path.Combine(_root, name, "publish");
        Directory.CreateDirectory(publish);
        File.WriteAllText(Path.Combine(publish, "App.dll"), "app version 1");
        Directory.CreateDirectory(Path.Combine(_root, "pkgs"));
        return ImageRequestFactory.Create(new ImageInputs
        {
            ProjectDirectory = _root,
            PublishDirectory = publish,
            IntermediateDirectory = Path.Combine(_root, name, "obj"),
            DefaultArchiveDirectory = Path.Combine(_root, name, "out"),
            AssemblyName = "App",
            Packages = ["tool"],
            NixPkgsPath = Path.Combine(_root, "pkgs"),
            NixSystem = system,
            Repository = "demo/app",
            ImageTags = tags,
            ImageFormat = format,
            ArchiveOutputPath = Path.Combine(_root, name, "out", "app.tar"),
            AppCommand = ["/app/App"],
            CacheDirectory = Path.Combine(_root, "cache"),
            CacheMaxSize = cacheMaxSize,
            HomeDirectory = _root,
            Sbom = sbom,
        }) with
        { NixSourceIdentity = "fake-package-set-1" };
    }

    /// <summary>A closure of one store path shared by every platform, plus one of the platform's own (as another system's paths are).</summary>
    private RuntimeClosure Closure(string platform)
    {
        var tool = Path.Combine(_root, "store", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-tool-1.0");
        Directory.CreateDirectory(Path.Combine(tool, "bin"));
        File.WriteAllText(Path.Combine(tool, "bin", "tool"), "#!/bin/sh\necho tool\n");
        var own = Path.Combine(_root, "store", $"{platform.Replace("-", string.Empty, StringComparison.Ordinal).PadRight(32, 'b')[..32]}-lib-1.0");
        Directory.CreateDirectory(Path.Combine(own, "lib"));
        File.WriteAllText(Path.Combine(own, "lib", "data"), platform);
        return new RuntimeClosure(
            [new ResolvedPackage("tool", "tool", tool, "NixPackage"), new ResolvedPackage("lib", "lib", own, "NixPackage")],
            new Dictionary<string, StorePathInfo>(StringComparer.Ordinal) { [tool] = new(tool, 1000, [tool]), [own] = new(own, 1000, [own]) });
    }

    private static Dictionary<string, byte[]> TarFiles(string path)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var reader = new System.Formats.Tar.TarReader(File.OpenRead(path));
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.DataStream is { } data)
            {
                using var buffer = new MemoryStream();
                data.CopyTo(buffer);
                files[entry.Name] = buffer.ToArray();
            }
        }

        return files;
    }

    private static byte[] ReadAll(ImageBlob blob)
    {
        using var stream = blob.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
