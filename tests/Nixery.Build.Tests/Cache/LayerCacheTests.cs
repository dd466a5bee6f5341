using Nixery.Build.Cache;
using Nixery.Build.LayerFormat;
using Nixery.Build.Oci;
using Nixery.Build.Pipeline;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Cache;

public sealed class LayerCacheTests : IDisposable
{
    private static readonly LayerWriterSettings Settings = new(DateTimeOffset.FromUnixTimeSeconds(1), 6);

    private readonly TempDirectory _temp = new();
    private readonly List<string> _damage = [];

    [Fact]
    public void GzipAndZstdLayersOfTheSameEntriesHaveTheirOwnKeysAndBothStay()
    {
        var cache = new LayerCache(_temp.Combine("cache"));
        var content = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("the same content, twice over ", 2000)));
        var entries = () => new LayerEntry[] { new InlineFileEntry("app/a.txt", 0b110_100_100, content) };
        var gzip = new LayerWriter(Settings);
        var zstd = new LayerWriter(Settings with { Compression = LayerCompression.Zstd, CompressionLevel = 3 });
        var gzipKey = ImageFreshness.LayerKey("app", gzip.Settings, ["app/a.txt"]);
        var zstdKey = ImageFreshness.LayerKey("app", zstd.Settings, ["app/a.txt"]);

        Assert.NotEqual(gzipKey, zstdKey);
        // Even at the same level: the codec, not only its level, is in the key.
        Assert.NotEqual(ImageFreshness.LayerKey("app", Settings, ["x"]), ImageFreshness.LayerKey("app", Settings with { Compression = LayerCompression.Zstd }, ["x"]));
        foreach (var (key, writer) in new[] { (gzipKey, gzip), (zstdKey, zstd) })
        {
            var written = cache.Blobs.Add(stream => writer.Write(entries(), stream, CancellationToken.None), w => w.Digest);
            cache.Put(key, new CachedLayer(written.Digest, written.DiffId, written.Size, written.UncompressedSize));
        }

        var fromGzip = new LayerCache(cache.Root).TryGet(gzipKey, _damage.Add);
        var fromZstd = new LayerCache(cache.Root).TryGet(zstdKey, _damage.Add);
        Assert.NotNull(fromGzip);
        Assert.NotNull(fromZstd);
        Assert.NotEqual(fromGzip.Digest, fromZstd.Digest);
        Assert.Equal(fromGzip.DiffId, fromZstd.DiffId);
        Assert.Equal([0x1F, 0x8B], File.ReadAllBytes(cache.Blobs.PathOf(fromGzip.Digest))[..2]);
        Assert.Equal([0x28, 0xB5, 0x2F, 0xFD], File.ReadAllBytes(cache.Blobs.PathOf(fromZstd.Digest))[..4]);
        Assert.Empty(_damage);
    }

    [Fact]
    public void MissThenHitAfterPut()
    {
        var cache = new LayerCache(_temp.Path);
        Assert.Null(cache.TryGet("k", _damage.Add));

        var layer = Store(cache, "k", "layer bytes");

        Assert.Equal(layer, cache.TryGet("k", _damage.Add)! with { BlobModified = 0 });
        Assert.Equal((1, 1, 0), (cache.Counters.Hits, cache.Counters.Misses, cache.Counters.Repaired));
        Assert.Empty(_damage);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("corrupt")]
    [InlineData("missing")]
    [InlineData("garbled index")]
    public void DamagedEntriesAreDetectedRemovedAndMiss(string damage)
    {
        var cache = new LayerCache(_temp.Path);
        var layer = Store(cache, "k", "the bytes of a layer that will be damaged");
        var blob = cache.Blobs.PathOf(layer.Digest);
        switch (damage)
        {
            case "truncated":
                File.WriteAllText(blob, "the bytes");
                break;
            case "corrupt":
                File.WriteAllText(blob, "THE BYTES OF A LAYER THAT WILL BE DAMAGED");
                break;
            case "missing":
                File.Delete(blob);
                break;
            default:
                File.WriteAllText(_temp.Combine("layers", "k.json"), "{\"digest\":");
                break;
        }

        Assert.Null(cache.TryGet("k", _damage.Add));
        Assert.Single(_damage);
        Assert.Equal(1, cache.Counters.Repaired);
        Assert.False(File.Exists(_temp.Combine("layers", "k.json")));

        // Stored again, it is whole again.
        Store(cache, "k", "the bytes of a layer that will be damaged");
        Assert.NotNull(new LayerCache(_temp.Path).TryGet("k", _damage.Add));
    }

    [Fact]
    public void PruneDeletesLeastRecentlyUsedBlobsAndTheirEntriesButSparesRecentAndInUse()
    {
        var cache = new LayerCache(_temp.Path);
        var old = Store(cache, "old", new string('o', 1000));
        var older = Store(cache, "older", new string('p', 1000));
        var used = Store(cache, "used", new string('u', 1000));
        var recent = Store(cache, "recent", new string('r', 1000));
        File.SetLastAccessTimeUtc(cache.Blobs.PathOf(older.Digest), DateTime.UtcNow.AddDays(-3));
        File.SetLastAccessTimeUtc(cache.Blobs.PathOf(old.Digest), DateTime.UtcNow.AddDays(-2));
        File.SetLastAccessTimeUtc(cache.Blobs.PathOf(used.Digest), DateTime.UtcNow.AddDays(-4));

        var freed = cache.Prune(maxBytes: 1500, inUse: new HashSet<Digest> { used.Digest });

        Assert.Equal(2000, freed);
        Assert.Null(cache.TryGet("older", _damage.Add));
        Assert.Null(cache.TryGet("old", _damage.Add));
        Assert.NotNull(cache.TryGet("used", _damage.Add));
        Assert.NotNull(cache.TryGet("recent", _damage.Add));
        Assert.Empty(_damage);
    }

    [Fact]
    public void UsingAnEntryMakesItRecent()
    {
        var cache = new LayerCache(_temp.Path);
        var layer = Store(cache, "k", "bytes");
        File.SetLastAccessTimeUtc(cache.Blobs.PathOf(layer.Digest), DateTime.UtcNow.AddDays(-5));
        var written = File.GetLastWriteTimeUtc(cache.Blobs.PathOf(layer.Digest));

        cache.TryGet("k", _damage.Add);

        // Use is an access; the modification time keeps telling whether the blob was written to.
        Assert.True(File.GetLastAccessTimeUtc(cache.Blobs.PathOf(layer.Digest)) > DateTime.UtcNow.AddMinutes(-1));
        Assert.Equal(written, File.GetLastWriteTimeUtc(cache.Blobs.PathOf(layer.Digest)));
    }

    [Fact]
    public void LargeBlobWrittenToSinceItWasStoredIsCaughtByItsDigest()
    {
        var cache = new LayerCache(_temp.Path);
        var layer = Store(cache, "big", new string('x', 3 << 20));
        var blob = cache.Blobs.PathOf(layer.Digest);
        Assert.NotNull(cache.TryGet("big", _damage.Add));

        // Same size, other bytes: only the digest can tell, and the new modification time says to look.
        using (var stream = new FileStream(blob, FileMode.Open, FileAccess.Write))
        {
            stream.Position = 1 << 20;
            stream.Write("damage"u8);
        }

        File.SetLastWriteTimeUtc(blob, DateTime.UtcNow.AddSeconds(5));

        Assert.Null(cache.TryGet("big", _damage.Add));
        Assert.Contains("digest", Assert.Single(_damage), StringComparison.Ordinal);
    }

    [Fact]
    public void ABigBlobIsCheckedOnItsFirstReuseEvenWithItsSizeAndTimeKept()
    {
        // Blobs are not forced to disk when written: until a reuse has confirmed its digest, a big blob is not trusted
        // by its size and time (after a power loss it could hold anything under its name).
        var cache = new LayerCache(_temp.Path);
        var layer = Store(cache, "big", new string('x', 3 << 20));
        var blob = cache.Blobs.PathOf(layer.Digest);
        var written = File.GetLastWriteTimeUtc(blob);
        using (var stream = new FileStream(blob, FileMode.Open, FileAccess.Write))
        {
            stream.Position = 1 << 20;
            stream.Write("damage"u8);
        }

        File.SetLastWriteTimeUtc(blob, written);

        Assert.Null(cache.TryGet("big", _damage.Add));
        Assert.Contains("digest", Assert.Single(_damage), StringComparison.Ordinal);
    }

    [Fact]
    public void ConcurrentWritersOfTheSameLayerAllSucceedAndReadersNeverSeeHalfAnEntry()
    {
        var seen = new System.Collections.Concurrent.ConcurrentBag<CachedLayer?>();
        Parallel.For(0, 16, i =>
        {
            var cache = new LayerCache(_temp.Path);
            seen.Add(cache.TryGet("shared", _ => throw new InvalidOperationException("a reader saw a damaged entry")));
            Store(cache, "shared", "the same layer, written by everyone");
            seen.Add(cache.TryGet("shared", _ => throw new InvalidOperationException("a reader saw a damaged entry")));
        });

        // One layer, whoever wrote it (each writer records the time of its own rename of the same bytes).
        var layers = seen.OfType<CachedLayer>().Select(l => (l.Digest, l.DiffId, l.Size, l.UncompressedSize)).Distinct().ToList();
        Assert.Single(layers);
        Assert.Empty(Directory.EnumerateFiles(_temp.Path, "*.partial", SearchOption.AllDirectories));
    }

    [Fact]
    public void ClearRemovesEverything()
    {
        var cache = new LayerCache(_temp.Path);
        Store(cache, "k", "bytes");

        cache.Clear();

        Assert.Empty(cache.Blobs.Enumerate());
        Assert.Null(cache.TryGet("k", _damage.Add));
    }

    [Theory]
    [InlineData("10GB", 10_000_000_000L)]
    [InlineData("2GiB", 2L << 30)]
    [InlineData("500 MB", 500_000_000L)]
    [InlineData("1.5KiB", 1536L)]
    [InlineData("123", 123L)]
    public void SizesParse(string text, long bytes) => Assert.Equal(bytes, LayerCache.ParseSize(text));

    [Theory]
    [InlineData("lots")]
    [InlineData("-1GB")]
    [InlineData("10 parsecs")]
    public void BadSizesDoNot(string text) => Assert.Throws<FormatException>(() => LayerCache.ParseSize(text));

    public void Dispose() => _temp.Dispose();

    private static CachedLayer Store(LayerCache cache, string key, string content)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(content);
        var descriptor = cache.Blobs.AddBytes("application/octet-stream", bytes);
        var layer = new CachedLayer(descriptor.Digest, Digest.Of("uncompressed"u8), bytes.Length, 12);
        cache.Put(key, layer);
        return layer;
    }
}
