using System.Diagnostics;
using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Oci;

namespace Nixery.Build.BinaryCache;

/// <summary>Where NARs come from, and whom to believe: the caches in the order they are tried, and the keys a narinfo must be signed by.</summary>
public sealed record BinaryCacheSettings(IReadOnlyList<Uri> Caches, IReadOnlyList<TrustedKey> TrustedKeys, TimeSpan Timeout);

/// <summary>
/// Brings the NAR of every store path of a locked closure into the layer cache, under its NAR hash (the SHA-256 of
/// its bytes, so the cache's own check on writing is the hash check): a warm build asks no cache anything. For each
/// missing NAR the caches are tried in order: its narinfo must name the same store path, NAR hash and size as the
/// lock, and carry a signature of a trusted key; the NAR is then streamed through its decompressor into the cache,
/// hashed on the way, and kept only when the hash is the locked one. Several downloads run at once.
/// </summary>
public sealed class NarFetcher
{
    private const int Parallel = 8;

    /// <summary>What a NAR is called where a descriptor needs a media type (it never reaches an image).</summary>
    private const string NarMediaType = "application/x-nix-nar";

    private readonly BinaryCacheSettings _settings;
    private readonly BlobStore _blobs;
    private readonly IBuildLog _log;
    private readonly HttpMessageHandler? _handler;

    // What each download in progress waits for: store path → cache.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _waiting = new(StringComparer.Ordinal);

    public NarFetcher(BinaryCacheSettings settings, BlobStore blobs, IBuildLog log, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        _blobs = blobs;
        _log = log;
        _handler = handler;
    }

    /// <summary>Every path's NAR in the layer cache, then a store view over them.</summary>
    public async Task<NarStore> FetchAsync(IReadOnlyCollection<StorePathInfo> paths, CancellationToken cancellationToken)
    {
        var missing = paths.Where(p => !_blobs.Contains(DigestOf(p), p.NarSize)).OrderBy(p => p.Path, StringComparer.Ordinal).ToList();
        Touch(paths.Except(missing));
        if (missing.Count > 0)
        {
            await DownloadAsync(missing, cancellationToken);
        }
        else
        {
            _log.Info($"binary cache: the NARs of all {paths.Count} store paths are in the layer cache; nothing to download");
        }

        return new NarStore(paths.ToDictionary(p => p.Path, p => _blobs.PathOf(DigestOf(p)), StringComparer.Ordinal));
    }

    /// <summary>NARs in use are recent for the cache's least-recently-used pruning (reads alone may not update access times).</summary>
    private void Touch(IEnumerable<StorePathInfo> reused)
    {
        var now = DateTime.UtcNow;
        foreach (var path in reused)
        {
            try
            {
                File.SetLastAccessTimeUtc(_blobs.PathOf(DigestOf(path)), now);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A shared cache this user may only read: it is pruned by its owner.
            }
        }
    }

    private static Digest DigestOf(StorePathInfo path) =>
        Digest.Parse((path.NarHash ?? throw new InvalidOperationException($"{path.Path} has no NAR hash in the lock.")).Digest);

    private async Task DownloadAsync(List<StorePathInfo> missing, CancellationToken cancellationToken)
    {
        var total = missing.Sum(p => p.NarSize);
        _log.Info($"binary cache: fetching {missing.Count} NAR(s), {NixClient.FormatSize(total)} unpacked, from {string.Join(", ", _settings.Caches.Select(Describe))}");
        var clock = Stopwatch.StartNew();
        long done = 0;
        var finished = 0;
        using var client = new BinaryCacheClient(_settings.Timeout, _handler);
        var lastReceived = 0L;
        var quiet = Stopwatch.StartNew();
        using var progress = new Timer(
            _ =>
            {
                _log.Info($"binary cache: {Volatile.Read(ref finished)} of {missing.Count} NARs, {NixClient.FormatSize(Interlocked.Read(ref done))} of {NixClient.FormatSize(total)}");
                var received = client.BytesReceived;
                if (received != Interlocked.Exchange(ref lastReceived, received))
                {
                    quiet.Restart();
                }
                else if (quiet.Elapsed >= TimeSpan.FromSeconds(1.5) && !_waiting.IsEmpty)
                {
                    var waits = _waiting.OrderBy(w => w.Key, StringComparer.Ordinal).Take(3).Select(w => $"{w.Key} from {w.Value}");
                    _log.Info($"binary cache: waiting for {string.Join(", ", waits)}{(_waiting.Count > 3 ? $" and {_waiting.Count - 3} more" : string.Empty)}: nothing received for {quiet.Elapsed.TotalSeconds:0} s (gives up after {_settings.Timeout.TotalSeconds:0} s, NixImageRegistryTimeout)");
                }
            },
            null,
            TimeSpan.FromSeconds(2),
            TimeSpan.FromSeconds(2));
        await System.Threading.Tasks.Parallel.ForEachAsync(
            missing,
            new ParallelOptions { MaxDegreeOfParallelism = Parallel, CancellationToken = cancellationToken },
            async (path, token) =>
            {
                await FetchOneAsync(client, path, token);
                Interlocked.Add(ref done, path.NarSize);
                Interlocked.Increment(ref finished);
            });
        _log.Info($"binary cache: fetched {missing.Count} NAR(s), {NixClient.FormatSize(total)}, in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    private async Task FetchOneAsync(BinaryCacheClient client, StorePathInfo path, CancellationToken cancellationToken)
    {
        var hashPart = Path.GetFileName(path.Path).Split('-', 2)[0];
        var reasons = new List<string>();
        NixImageException? rejected = null;
        foreach (var cache in _settings.Caches)
        {
            NarInfo info;
            _waiting[path.Path] = Describe(cache);
            try
            {
                await using var stream = await client.OpenAsync(cache, hashPart + ".narinfo", cancellationToken);
                info = NarInfo.Parse(await BinaryCacheClient.ReadNarInfoAsync(stream, cancellationToken), path.Path[..path.Path.LastIndexOf('/')]);
            }
            catch (CacheFileMissingException e)
            {
                reasons.Add($"{Describe(cache)}: {e.Message}");
                continue;
            }
            catch (IOException e)
            {
                // A stall (CacheStalledException), or a connection that broke off in the middle of the narinfo.
                reasons.Add($"{Describe(cache)}: {(e is CacheStalledException ? e.Message : $"its narinfo could not be read whole ({e.Message})")}");
                continue;
            }
            catch (CacheFileRefusedException e)
            {
                rejected ??= new NixImageException(
                    ErrorCodes.StorePathUntrusted,
                    $"{Describe(cache)} gives a narinfo of {path.Path} that is not a regular file inside the cache: {e.Message}. Nothing was read from it. Remove it from the cache, or use another cache.");
                reasons.Add($"{Describe(cache)}: rejected ({rejected.Code})");
                continue;
            }
            catch (FormatException e)
            {
                reasons.Add($"{Describe(cache)}: its narinfo cannot be read ({e.Message})");
                continue;
            }
            finally
            {
                _waiting.TryRemove(path.Path, out _);
            }

            try
            {
                Check(info, path, cache);
                _waiting[path.Path] = Describe(cache);
                await StoreAsync(client, cache, info, path, cancellationToken);
            }
            catch (NixImageException e) when (e.Code != ErrorCodes.WriteFailed)
            {
                // As Nix skips a substituter it does not trust: a later cache may have a good copy.
                rejected ??= e;
                reasons.Add($"{Describe(cache)}: rejected ({e.Code})");
                continue;
            }
            finally
            {
                _waiting.TryRemove(path.Path, out _);
            }

            _log.Detail($"binary cache: {path.Path} from {Describe(cache)} ({info.Compression}, {NixClient.FormatSize(path.NarSize)})");
            return;
        }

        if (rejected is not null)
        {
            throw _settings.Caches.Count == 1 ? rejected
                : new NixImageException(rejected.Code, $"{rejected.Message} (Each cache: {string.Join("; ", reasons)}.)", rejected);
        }

        throw new NixImageException(
            ErrorCodes.StorePathNotCached,
            $"No binary cache has {path.Path} - {string.Join("; ", reasons)}. "
            + "Add a cache that has it to NixBinaryCaches (on the machine that wrote the lock, 'nix copy --to <cache>' the closure), or write the lock again from a package set whose paths are cached.");
    }

    /// <summary>The narinfo must describe exactly the locked path, and be signed by a trusted key.</summary>
    private void Check(NarInfo info, StorePathInfo path, Uri cache)
    {
        var mismatch = info.StorePath != path.Path ? $"it names {info.StorePath}"
            : !NarHash.TryParse(info.NarHash, out var hash) || hash != path.NarHash ? $"its NAR hash is {info.NarHash}, the lock's {path.NarHash}"
            : info.NarSize != path.NarSize ? $"its NAR size is {info.NarSize}, the lock's {path.NarSize}"
            : !info.References.SequenceEqual(path.References.Order(StringComparer.Ordinal)) ? "its references are not the lock's"
            : null;
        if (mismatch is not null)
        {
            throw new NixImageException(
                ErrorCodes.StorePathUntrusted,
                $"The narinfo of {path.Path} in {Describe(cache)} does not match the lock file: {mismatch}. "
                + "Write the lock again on a machine with Nix ('dotnet build -t:NixLock') from the package set the cache was filled from.");
        }

        if (!NarSignatures.IsTrusted(info, _settings.TrustedKeys))
        {
            var signers = info.Signatures.Select(s => s.Split(':', 2)[0]).Distinct(StringComparer.Ordinal).ToList();
            throw new NixImageException(
                ErrorCodes.StorePathUntrusted,
                $"The narinfo of {path.Path} in {Describe(cache)} has no valid signature of a trusted key ({(signers.Count == 0 ? "it is not signed" : "signed by " + string.Join(", ", signers))}; trusted: {string.Join(", ", _settings.TrustedKeys.Select(k => k.Name))}). "
                + "Add the cache's public key to NixTrustedPublicKeys if you trust it, or use a cache whose key you trust.");
        }

        if (info.FileHash is not null && !NarHash.TryParse(info.FileHash, out _))
        {
            throw new NixImageException(
                ErrorCodes.NarUnusable,
                $"The narinfo of {path.Path} in {Describe(cache)} has FileHash '{CacheLocation.Shown(info.FileHash)}', which is not a SHA-256 as Nix writes one (sha256:<52 Nix base-32 characters>). "
                + "Fill the cache again with 'nix copy', or use another cache.");
        }

        if (!NarCompression.IsSupported(info.Compression))
        {
            throw new NixImageException(
                ErrorCodes.NarUnusable,
                $"The NAR of {path.Path} in {Describe(cache)} is compressed with '{info.Compression}', which this package cannot read (it reads xz, zstd, bzip2, gzip and none). "
                + "Use a cache that serves one of those.");
        }
    }

    /// <summary>
    /// Streams the NAR into the layer cache: the compressed file no larger than its FileSize (and checked against its
    /// FileHash), the NAR no larger than its NarSize, kept only when its hash is the lock's. A failure to write is the
    /// layer cache's (NIXIMG012), not the binary cache's.
    /// </summary>
    private async Task StoreAsync(BinaryCacheClient client, Uri cache, NarInfo info, StorePathInfo path, CancellationToken cancellationToken)
    {
        var expected = new Descriptor(NarMediaType, DigestOf(path), path.NarSize);
        try
        {
            await _blobs.AddAsync(
                expected,
                async (target, token) =>
                {
                    Stream opened;
                    try
                    {
                        opened = await client.OpenAsync(cache, info.Url, token);
                    }
                    catch (CacheFileMissingException e)
                    {
                        throw new NixImageException(
                            ErrorCodes.StorePathNotCached,
                            $"{Describe(cache)} has the narinfo of {path.Path} but not its NAR: {e.Message}. Remove the broken entry from the cache, or use another cache.");
                    }
                    catch (CacheFileRefusedException e)
                    {
                        throw new NixImageException(
                            ErrorCodes.StorePathUntrusted,
                            $"The narinfo of {path.Path} in {Describe(cache)} names a NAR file that is not one inside the cache: its URL {e.Message}. Nothing was read from it. "
                            + "A narinfo's URL is not signed: remove the entry from the cache, or use another cache.");
                    }

                    var file = new DeclaredFileStream(opened, info.FileSize, info.FileHash is null ? null : NarHash.Parse(info.FileHash), path.NarSize);
                    await using var nar = NarCompression.Decompress(file, info.Compression);
                    await CopyAsync(nar, target, path, token);
                    await ReadFromCacheAsync(() => file.FinishAsync(token));
                    return true;
                },
                cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not CacheStalledException)
        {
            throw WriteFailed(path, e);
        }
        catch (Exception e) when (e is not (NixImageException or OperationCanceledException))
        {
            var cause = e is CacheReadException read ? read.InnerException! : e;
            var stalled = cause is CacheStalledException;
            throw new NixImageException(
                ErrorCodes.NarUnusable,
                $"The NAR of {path.Path} from {Describe(cache)} could not be read whole, or is not the one the lock file names ({cause.Message}); nothing of it was kept. "
                + (stalled
                    ? "The cache stopped sending: build again, or raise NixImageRegistryTimeout on a slow link."
                    : "If the cache's copy is damaged or was replaced, remove it from the cache or use another cache; if the connection broke, build again."));
        }
    }

    /// <summary>The NAR into the layer cache's temporary file, stopping at the first byte past its NarSize.</summary>
    private static async Task CopyAsync(Stream nar, Stream target, StorePathInfo path, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        long copied = 0;
        while (true)
        {
            var read = await ReadFromCacheAsync(() => nar.ReadAsync(buffer, cancellationToken).AsTask());
            if (read == 0)
            {
                return;
            }

            copied += read;
            if (copied > path.NarSize)
            {
                throw new CacheReadException(new InvalidDataException($"it decompresses to more than its NarSize of {path.NarSize} bytes"));
            }

            try
            {
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw WriteFailed(path, e);
            }
        }
    }

    /// <summary>Runs a read of the binary cache's answer; its failures are the cache's, told apart from the layer cache's.</summary>
    private static async Task<T> ReadFromCacheAsync<T>(Func<Task<T>> read)
    {
        try
        {
            return await read();
        }
        catch (Exception e) when (e is not (NixImageException or OperationCanceledException))
        {
            throw new CacheReadException(e);
        }
    }

    private static async Task ReadFromCacheAsync(Func<Task> read)
    {
        try
        {
            await read();
        }
        catch (Exception e) when (e is not (NixImageException or OperationCanceledException))
        {
            throw new CacheReadException(e);
        }
    }

    private static NixImageException WriteFailed(StorePathInfo path, Exception e) => new(
        ErrorCodes.WriteFailed,
        $"The NAR of {path.Path} could not be written to the layer cache: {e.Message} Check free space and permissions of NixImageCacheDirectory's folder, then build again.",
        e);

    /// <summary>A failure of reading a binary cache's answer (not of writing the layer cache).</summary>
    private sealed class CacheReadException(Exception inner) : Exception(inner.Message, inner);

    /// <summary>A cache as the user wrote it, without any password in it.</summary>
    internal static string Describe(Uri cache) =>
        string.IsNullOrEmpty(cache.UserInfo) ? cache.AbsoluteUri.TrimEnd('/') : cache.AbsoluteUri.Replace(cache.UserInfo + "@", string.Empty, StringComparison.Ordinal).TrimEnd('/');
}
