using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Pipeline;
using Nixery.Build.Settings;
using Nixery.Build.Sinks;
using Nixery.Build.Streams;

namespace Nixery.Build.Tests.Pipeline;

/// <summary>
/// The pipeline with a fake closure (store paths in a temporary folder) and the in-process registry: what is decided
/// up to date, what is built or reused, in which order a push sends, and how a damaged cache is recovered. No Nix,
/// no sockets; the end-to-end tests run the same pipeline against the real parts.
/// </summary>
public sealed partial class ImagePipelineTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("nixery-pipeline-").FullName;
    private readonly FakeClosure _closure;
    private readonly InMemoryRegistry _registry = new();
    private readonly RecordingLog _log = new();

    public ImagePipelineTests()
    {
        var store = Path.Combine(_root, "store");
        var library = StorePath(store, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-lib-1.0", ("lib/libdata.so", RandomBytes(3 << 20, 7)));
        var tool = StorePath(store, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-tool-1.0", ("bin/tool", "#!/bin/sh\necho tool\n"u8.ToArray()));
        _closure = new FakeClosure(new RuntimeClosure(
            [new ResolvedPackage("tool", "tool", tool, "NixPackage")],
            new Dictionary<string, StorePathInfo>(StringComparer.Ordinal)
            {
                [tool] = new(tool, 1000, [tool, library]),
                [library] = new(library, 3 << 20, [library]),
            }));
        Directory.CreateDirectory(Publish);
        File.WriteAllText(Path.Combine(Publish, "App.dll"), "app version 1");
    }

    private string Publish => Path.Combine(_root, "publish");

    public void Dispose()
    {
        _registry.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task FirstRunBuildsEveryLayerAndPushesEveryBlobBeforeAnyManifest()
    {
        var result = await Run(Request(), withRegistry: true);

        Assert.False(result.UpToDate);
        Assert.Equal(1, _closure.Calls);
        var log = _registry.Log;
        var firstManifest = log.ToList().FindIndex(e => e.Method == "PUT" && e.Path.Contains("/manifests/", StringComparison.Ordinal));
        var lastBlob = log.ToList().FindLastIndex(e => e.Path.Contains("/blobs/", StringComparison.Ordinal));
        Assert.True(firstManifest > lastBlob, string.Join('\n', log));
        Assert.Equal(2, log.Count(e => e.Method == "PUT" && e.Path.Contains("/manifests/", StringComparison.Ordinal)));
        Assert.Equal(result.Image.Digest.Value, _registry.TagDigest("demo/app", "1.0"));
        Assert.Equal(result.Image.Digest.Value, _registry.TagDigest("demo/app", "latest"));
        Assert.Equal(result.Image.Digest, OciArchiveReader.Read(result.ArchivePath!).Digest);
        Assert.Equal(["demo.test/demo/app:1.0", "demo.test/demo/app:latest"], result.PushedReferences);
    }

    [Fact]
    public async Task NothingChangedIsUpToDateWithoutNixOrLayerWorkAndEverySinkRunsFromTheCachedImage()
    {
        var first = await Run(Request(), withRegistry: true);
        var archiveTime = File.GetLastWriteTimeUtc(first.ArchivePath!);
        _registry.ClearLog();

        var again = await Run(Request(), withRegistry: true);

        Assert.True(again.UpToDate);
        Assert.Equal(first.Image.Digest, again.Image.Digest);
        Assert.Equal(1, _closure.Calls);
        Assert.Equal(archiveTime, File.GetLastWriteTimeUtc(again.ArchivePath!));
        Assert.Single(_log.Lines, l => l.Contains("is up to date (nothing that decides it changed)", StringComparison.Ordinal));
        Assert.DoesNotContain(_registry.Log, e => e.Method is "PUT" or "POST" or "PATCH");
    }

    [Fact]
    public async Task AnArchiveDeletedSinceIsWrittenAgainFromTheCacheWithoutBuilding()
    {
        var first = await Run(Request());
        File.Delete(first.ArchivePath!);

        var again = await Run(Request());

        Assert.True(again.UpToDate);
        Assert.Equal(first.Image.Digest, OciArchiveReader.Read(again.ArchivePath!).Digest);
        Assert.Equal(1, _closure.Calls);
    }

    [Fact]
    public async Task ALockFileDeletedSinceIsWrittenAgainThoughTheImageIsUpToDate()
    {
        var request = Request();
        var first = await Run(request);
        var lockBytes = File.ReadAllBytes(request.LockFile);
        File.Delete(request.LockFile);

        var again = await Run(Request());

        Assert.True(again.UpToDate);
        Assert.Equal(first.Image.Digest, again.Image.Digest);
        Assert.Equal(lockBytes, File.ReadAllBytes(request.LockFile));
        Assert.Equal(2, _closure.Calls); // the closure (remembered, in a real build: no Nix run), and no layer work
    }

    [Fact]
    public async Task AChangedAppFileRebuildsOnlyTheAppLayerAndPushesOnlyItAndTheDocuments()
    {
        await Run(Request(), withRegistry: true);
        File.WriteAllText(Path.Combine(Publish, "App.dll"), "app version 2");
        _registry.ClearLog();

        var changed = await Run(Request(), withRegistry: true);

        Assert.False(changed.UpToDate);
        var layers = _log.Lines.Where(l => l.StartsWith("  layer ", StringComparison.Ordinal) && l.Contains(" → ", StringComparison.Ordinal)).TakeLast(changed.Image.Layers.Count).ToList();
        Assert.Single(layers, l => l.EndsWith("built", StringComparison.Ordinal));
        Assert.EndsWith("built", layers[^1], StringComparison.Ordinal);
        // The app layer and the config: two uploads, each closed by one PUT.
        Assert.Equal(2, _registry.Log.Count(e => e.Method == "PUT" && e.Path.Contains("/blobs/uploads/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ABlobDamagedWithItsSizeAndTimeKeptIsRebuiltBeforeAnythingNamesIt()
    {
        var first = await Run(Request());
        File.WriteAllText(Path.Combine(Publish, "App.dll"), "app version 2");
        await Run(Request()); // the first reuse confirms the big layer's digest; from then on size and time are trusted

        var big = first.Image.Layers.OrderByDescending(l => l.Blob.Descriptor.Size).First().Blob.Descriptor;
        Assert.True(big.Size > BlobStore.VerifiedOnReuseSize);
        var blob = new BlobStore(Path.Combine(_root, "cache", "blobs")).PathOf(big.Digest);
        var time = File.GetLastWriteTimeUtc(blob);
        using (var stream = new FileStream(blob, FileMode.Open, FileAccess.Write))
        {
            stream.Position = stream.Length / 2;
            stream.Write("damage"u8);
        }

        File.SetLastWriteTimeUtc(blob, time);
        File.WriteAllText(Path.Combine(Publish, "App.dll"), "app version 3");
        _log.Lines.Clear();

        var repaired = await Run(Request(), withRegistry: true);

        Assert.Contains(_log.Warnings, w => w.Code == ErrorCodes.CacheEntryDamaged);
        foreach (var layer in OciArchiveReader.Read(repaired.ArchivePath!).Layers)
        {
            BlobCheck.Verify(layer.Blob);
        }

        Assert.Equal(repaired.Image.Digest.Value, _registry.TagDigest("demo/app", "1.0"));
    }

    [Fact]
    public async Task AnImageThatLostABlobFromTheCacheIsNotUpToDateAndIsBuiltAgain()
    {
        var first = await Run(Request());
        File.Delete(new BlobStore(Path.Combine(_root, "cache", "blobs")).PathOf(first.Image.Layers[^1].Blob.Descriptor.Digest));

        var again = await Run(Request());

        Assert.False(again.UpToDate);
        Assert.Equal(first.Image.Digest, again.Image.Digest);
    }

    [Fact]
    public async Task AnOciLayoutFolderGetsOnlyTheBlobsItLacksAndKeepsOtherTags()
    {
        var layout = Path.Combine(_root, "layout");
        var first = await Run(Request() with { OciLayoutPath = layout });
        var blobTimes = Directory.GetFiles(Path.Combine(layout, "blobs", "sha256")).ToDictionary(f => f, File.GetLastWriteTimeUtc);

        var retagged = await Run(Request() with { OciLayoutPath = layout, Tags = ["2.0"] });

        Assert.Equal(first.Image.Digest, retagged.Image.Digest);
        Assert.All(blobTimes, b => Assert.Equal(b.Value, File.GetLastWriteTimeUtc(b.Key)));
        var index = File.ReadAllText(Path.Combine(layout, "index.json"));
        Assert.Contains("\"org.opencontainers.image.ref.name\":\"1.0\"", index, StringComparison.Ordinal);
        Assert.Contains("\"org.opencontainers.image.ref.name\":\"2.0\"", index, StringComparison.Ordinal);
        Assert.Contains(_log.Lines, l => l.StartsWith("OCI layout ", StringComparison.Ordinal) && l.Contains("(0 blob(s) written", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PruningGoesByTheClockItIsGiven()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var first = await Run(Request(), clock: clock);
        File.WriteAllText(Path.Combine(Publish, "App.dll"), "app version 2");

        // An hour later, with room for nothing but this image: the old app layer is outside the grace period.
        clock.Advance(TimeSpan.FromHours(1));
        var second = await Run(Request() with { CacheMaxSize = 0 }, clock: clock);

        var store = new BlobStore(Path.Combine(_root, "cache", "blobs"));
        Assert.False(File.Exists(store.PathOf(first.Image.Layers[^1].Blob.Descriptor.Digest)));
        Assert.True(File.Exists(store.PathOf(second.Image.Layers[^1].Blob.Descriptor.Digest)));
    }

    /// <param name="registry">The registry to push to when <paramref name="withRegistry"/>; null: the test's own.</param>
    private async Task<ImageBuildResult> Run(ImageRequest request, bool withRegistry = false, TimeProvider? clock = null, InMemoryRegistry? registry = null)
    {
        using var sink = withRegistry
            ? RegistrySink.Connect(new RegistrySettings("demo.test", null, null), request.Repository, request.Tags, Path.Combine(_root, "cache"), _log, _ => null, registry ?? _registry, CancellationToken.None)
            : null;
        return await new ImagePipeline(_log, _closure, clock).RunAsync(request, ImageJob.Sinks(request, sink, _log, path: null), CancellationToken.None);
    }

    /// <summary>The request as the task makes it (the factory's defaults), from a fake package set that counts as pinned.</summary>
    /// <param name="sbom">NixImageSbom: none unless a test is about SBOMs (their requests are counted where they are).</param>
    private ImageRequest Request(string sbom = "none")
    {
        Directory.CreateDirectory(Path.Combine(_root, "pkgs"));
        return ImageRequestFactory.Create(new ImageInputs
        {
            ProjectDirectory = _root,
            PublishDirectory = Publish,
            IntermediateDirectory = Path.Combine(_root, "obj"),
            DefaultArchiveDirectory = Path.Combine(_root, "out"),
            AssemblyName = "App",
            Packages = ["tool"],
            DefaultPackages = "none", // the closure above is the one Nix gives for exactly this
            NixPkgsPath = Path.Combine(_root, "pkgs"),
            NixSystem = "x86_64-linux",
            Repository = "demo/app",
            ImageTags = "1.0;latest",
            ArchiveOutputPath = Path.Combine(_root, "out", "app.tar"),
            AppCommand = ["/app/App"],
            CacheDirectory = Path.Combine(_root, "cache"),
            HomeDirectory = _root,
            Sbom = sbom,
        }) with
        { NixSourceIdentity = "fake-package-set-1" };
    }

    private static string StorePath(string store, string name, params (string Path, byte[] Content)[] files)
    {
        var path = Path.Combine(store, name);
        foreach (var (relative, content) in files)
        {
            var file = Path.Combine(path, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllBytes(file, content);
        }

        return path;
    }

    private static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public void Advance(TimeSpan by) => _now += by;

        public override DateTimeOffset GetUtcNow() => _now;
    }

    private sealed class RecordingLog : IBuildLog
    {
        public List<string> Lines { get; } = [];

        public List<(string Code, string Message)> Warnings { get; } = [];

        public void Info(string message)
        {
            lock (Lines)
            {
                Lines.Add(message);
            }
        }

        public void Detail(string message)
        {
        }

        public void Warning(string code, string message)
        {
            lock (Lines)
            {
                Warnings.Add((code, message));
            }
        }
    }
}
