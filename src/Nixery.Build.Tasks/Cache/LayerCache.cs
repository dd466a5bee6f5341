using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Nixery.Build.LayerFormat;
using Nixery.Build.Oci;
using Nixery.Build.Streams;

namespace Nixery.Build.Cache;

/// <summary>A cached layer: both digests and both sizes.</summary>
public sealed record CachedLayer(Digest Digest, Digest DiffId, long Size, long UncompressedSize)
{
    /// <summary>The blob's modification time (ticks) when its digest was last confirmed; 0 when unknown.</summary>
    public long BlobModified { get; init; }
}

/// <summary>What one build did with the cache, for the build summary and the tests.</summary>
public sealed class CacheCounters
{
    private int _hits;
    private int _misses;
    private int _repaired;

    public int Hits => _hits;

    public int Misses => _misses;

    /// <summary>Entries whose blob was missing, truncated or corrupt, and were rebuilt.</summary>
    public int Repaired => _repaired;

    internal void Hit() => Interlocked.Increment(ref _hits);

    internal void Miss() => Interlocked.Increment(ref _misses);

    internal void Repair() => Interlocked.Increment(ref _repaired);
}

/// <summary>
/// The layer cache shared by every project of the user: compressed blobs stored once by digest
/// (<see cref="BlobStore"/>), and an index from a layer's key to its descriptor in <c>layers/&lt;key&gt;.json</c>.
/// A key is derived from what decides a layer's bytes — for a Nix layer its ordered store paths, which Nix never
/// changes — plus the writer's format version and settings, so a hit skips tar and compression altogether.
/// Every write is atomic (temporary file, rename), not forced to disk; a reused blob is checked before it is used
/// — its size always, its digest when that is cheap (small blobs), on its first reuse (which then forces it to
/// disk), or when the blob was modified since its digest was last confirmed — and a damaged one is rebuilt, never
/// shipped. Use is recorded in the files' access times (least recently used
/// go first when pruning), so the modification time keeps telling whether a blob was written to.
/// </summary>
public sealed class LayerCache
{
    /// <summary>Blobs used in the last minutes are never pruned: another build may be about to read them.</summary>
    private static readonly TimeSpan PruneGrace = TimeSpan.FromMinutes(10);

    private readonly string _index;
    private readonly string _referrers;
    private readonly TimeProvider _clock;

    /// <param name="clock">What "now" is for use times and pruning's grace period; null: the system clock.</param>
    public LayerCache(string root, TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
        Root = Path.GetFullPath(root);
        Blobs = new BlobStore(Path.Combine(Root, "blobs"));
        _index = Path.Combine(Root, "layers");
        _referrers = Path.Combine(Root, "referrers");
    }

    public string Root { get; }

    public BlobStore Blobs { get; }

    public CacheCounters Counters { get; } = new();

    /// <summary>
    /// The cached layer for <paramref name="key"/> when its blob is present and intact; otherwise null
    /// (and a damaged entry is removed, with <paramref name="onDamaged"/> told why).
    /// </summary>
    public CachedLayer? TryGet(string key, Action<string> onDamaged)
    {
        var entryPath = EntryPath(key);
        CachedLayer? entry;
        try
        {
            entry = ReadEntry(File.ReadAllBytes(entryPath));
        }
        catch (FileNotFoundException)
        {
            Counters.Miss();
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            Counters.Miss();
            return null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            entry = null;
        }

        var (problem, confirmed) = entry is null ? ("its index entry is unreadable", null) : Check(entry);
        if (problem is not null)
        {
            onDamaged(problem);
            File.Delete(entryPath);
            if (entry is not null)
            {
                File.Delete(Blobs.PathOf(entry.Digest));
            }

            Counters.Repair();
            Counters.Miss();
            return null;
        }

        if (confirmed is not null)
        {
            // The digest was confirmed for the blob as it is now: no need to hash it again until it changes.
            entry = entry! with { BlobModified = confirmed.Value };
            Put(key, entry);
        }

        // Least-recently-used pruning goes by these times.
        var now = _clock.GetUtcNow().UtcDateTime;
        TryTouch(entryPath, now);
        TryTouch(Blobs.PathOf(entry!.Digest), now);
        Counters.Hit();
        return entry;
    }

    /// <summary>
    /// Records a layer whose blob is already in <see cref="Blobs"/>. A layer just written has no confirmed time
    /// (<see cref="CachedLayer.BlobModified"/> 0): its first reuse checks its digest and forces it to disk.
    /// </summary>
    public void Put(string key, CachedLayer layer)
    {
        Directory.CreateDirectory(_index);
        var json = OciJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("digest", layer.Digest.Value);
            w.WriteString("diffId", layer.DiffId.Value);
            w.WriteNumber("size", layer.Size);
            w.WriteNumber("uncompressedSize", layer.UncompressedSize);
            w.WriteNumber("blobModified", layer.BlobModified);
            w.WriteEndObject();
        });
        var temporary = Path.Combine(_index, $".{key}.{Guid.NewGuid():N}.partial");
        try
        {
            using (var stream = PartialFiles.Create(temporary))
            {
                // Not flushed to disk: after a crash an entry is whole, or unreadable and rebuilt, never a wrong layer
                // (the blob it names is checked on every use).
                stream.Write(json);
            }

            File.Move(temporary, EntryPath(key), overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>
    /// Deletes least-recently-used blobs (and the index entries that lead to them) until the blobs take at most
    /// <paramref name="maxBytes"/>; blobs used by this build or in the last minutes stay. Returns the bytes freed.
    /// </summary>
    public long Prune(long maxBytes, IReadOnlySet<Digest> inUse)
    {
        var blobs = Blobs.Enumerate().ToList();
        var keep = inUse.Select(d => d.Hex).ToHashSet(StringComparer.Ordinal);
        var total = blobs.Sum(b => b.Length);
        long freed = 0;
        var graceLimit = _clock.GetUtcNow().UtcDateTime - PruneGrace;
        var deleted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var blob in blobs.OrderBy(b => b.LastAccessTimeUtc).ThenBy(b => b.Name, StringComparer.Ordinal))
        {
            if (total - freed <= maxBytes)
            {
                break;
            }

            if (blob.LastAccessTimeUtc > graceLimit || keep.Contains(blob.Name))
            {
                continue;
            }

            freed += blob.Length;
            deleted.Add("sha256:" + blob.Name);
            blob.Delete();
        }

        if (deleted.Count > 0 && Directory.Exists(_index))
        {
            foreach (var entry in Directory.EnumerateFiles(_index, "*.json"))
            {
                try
                {
                    if (deleted.Contains(ReadEntry(File.ReadAllBytes(entry)).Digest.Value))
                    {
                        File.Delete(entry);
                    }
                }
                catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
                {
                    File.Delete(entry);
                }
            }
        }

        return freed;
    }

    /// <summary>
    /// Records the referrers (SBOM artifacts) last built for the image <paramref name="subject"/>, whose blobs are in
    /// <see cref="Blobs"/>: with the image, what an up-to-date build and the index step read back
    /// (<c>referrers/&lt;hex&gt;.json</c>, an OCI index as a registry's referrers API answers it).
    /// </summary>
    public void RecordReferrers(Digest subject, IReadOnlyList<Descriptor> referrers)
    {
        Directory.CreateDirectory(_referrers);
        PartialFiles.WriteIfChanged(Path.Combine(_referrers, subject.Hex + ".json"), OciJson.Serialize(new ImageIndex(referrers)));
    }

    /// <summary>The referrers last recorded for <paramref name="subject"/>; null when none were, or the record cannot be read.</summary>
    public IReadOnlyList<Descriptor>? RecordedReferrers(Digest subject)
    {
        var path = Path.Combine(_referrers, subject.Hex + ".json");
        try
        {
            if (!File.Exists(path) || new FileInfo(path).Length > 1 << 20)
            {
                return null;
            }

            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return OciDocuments.IndexEntries(document.RootElement);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Deletes what killed builds left (temporary blobs and index entries nobody holds); returns their bytes.</summary>
    public long RemoveAbandonedWrites() =>
        Blobs.RemoveAbandonedWrites() + PartialFiles.RemoveAbandoned(_index, ".*.partial") + PartialFiles.RemoveAbandoned(_referrers, ".*.partial");

    /// <summary>Removes a blob found damaged, and every index entry that leads to it: its layer is built again.</summary>
    public void Forget(Digest digest)
    {
        File.Delete(Blobs.PathOf(digest));
        if (!Directory.Exists(_index))
        {
            return;
        }

        foreach (var entry in Directory.EnumerateFiles(_index, "*.json"))
        {
            try
            {
                if (ReadEntry(File.ReadAllBytes(entry)).Digest == digest)
                {
                    File.Delete(entry);
                }
            }
            catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                File.Delete(entry);
            }
        }
    }

    /// <summary>Removes every blob and index entry.</summary>
    public void Clear()
    {
        foreach (var folder in new[] { _index, _referrers, Path.Combine(Root, "blobs") })
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    /// <summary>
    /// Why a cached layer cannot be used (null when it can), and the blob's modification time when its digest was
    /// confirmed just now. Size always; digest when the blob is small, was never confirmed (just written), or was
    /// written to since it was last confirmed.
    /// </summary>
    private (string? Problem, long? Confirmed) Check(CachedLayer entry)
    {
        var path = Blobs.PathOf(entry.Digest);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            return ("its blob is missing", null);
        }

        if (file.Length != entry.Size)
        {
            return ($"its blob has {file.Length} bytes instead of {entry.Size}", null);
        }

        var modified = file.LastWriteTimeUtc.Ticks;
        if (file.Length > BlobStore.VerifiedOnReuseSize && modified == entry.BlobModified)
        {
            return (null, null);
        }

        var actual = Blobs.DigestOf(entry.Digest);

        if (actual != entry.Digest)
        {
            return ($"its blob's digest is {actual} instead of {entry.Digest}", null);
        }

        if (modified == entry.BlobModified)
        {
            return (null, null);
        }

        // From now on only its size and time are checked: make what was just confirmed survive a power loss.
        if (file.Length > BlobStore.VerifiedOnReuseSize)
        {
            Blobs.FlushToDisk(entry.Digest);
        }

        return (null, modified);
    }

    private static CachedLayer ReadEntry(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new CachedLayer(
            Digest.Parse(root.GetProperty("digest").GetString()!),
            Digest.Parse(root.GetProperty("diffId").GetString()!),
            root.GetProperty("size").GetInt64(),
            root.GetProperty("uncompressedSize").GetInt64())
        {
            BlobModified = root.TryGetProperty("blobModified", out var modified) ? modified.GetInt64() : 0,
        };
    }

    private string EntryPath(string key) => Path.Combine(_index, key + ".json");

    private static void TryTouch(string path, DateTime time)
    {
        try
        {
            File.SetLastAccessTimeUtc(path, time);
        }
        catch (IOException)
        {
            // Another build may have pruned it this instant; the next lookup will see that.
        }
        catch (UnauthorizedAccessException)
        {
            // A shared read-only cache still works; it just is not pruned by use.
        }
    }

    /// <summary>Bytes from a size such as 500MB, 10GB, 1GiB or a plain number of bytes.</summary>
    public static long ParseSize(string text)
    {
        var value = text.Trim();
        var units = new (string Suffix, long Factor)[]
        {
            ("TiB", 1L << 40), ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10),
            ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("B", 1),
        };
        foreach (var (suffix, factor) in units)
        {
            if (value.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(value[..^suffix.Length].Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount) && amount >= 0)
            {
                return (long)(amount * factor);
            }
        }

        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)
            ? bytes
            : throw new FormatException($"'{text}' is not a size such as 500MB or 10GiB.");
    }
}
