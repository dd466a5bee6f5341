using Nixery.Build.Oci;
using Nixery.Build.Streams;

namespace Nixery.Build.LayerFormat;

/// <summary>What writing a layer produced: both digests named, never confused.</summary>
/// <param name="Digest">SHA-256 of the compressed blob: what manifests and registries address.</param>
/// <param name="DiffId">SHA-256 of the uncompressed tar: what the image config lists.</param>
/// <param name="Size">Bytes of the compressed blob.</param>
/// <param name="UncompressedSize">Bytes of the tar.</param>
public sealed record WrittenLayer(Digest Digest, Digest DiffId, long Size, long UncompressedSize);

/// <summary>
/// Everything besides the entries that decides a layer's bytes; part of every layer cache key.
/// </summary>
/// <param name="ModificationTime">The mtime of every entry.</param>
/// <param name="CompressionLevel">The codec's level, 1 (fastest) up to its <see cref="ILayerCodec.MaxLevel"/> (gzip 9, zstd 19).</param>
/// <param name="Compression">The codec (<see cref="LayerCodecs"/>).</param>
public sealed record LayerWriterSettings(DateTimeOffset ModificationTime, int CompressionLevel, LayerCompression Compression = LayerCompression.Gzip)
{
    public ILayerCodec Codec => LayerCodecs.For(Compression);

    public override string ToString() =>
        $"format {LayerWriter.FormatVersion}, mtime {ModificationTime.ToUnixTimeSeconds()}, {Codec.Describe(CompressionLevel)}";
}

/// <summary>
/// Streams layer entries through tar → SHA-256 (diffID) → the codec (gzip or zstd) → SHA-256 (digest) → destination,
/// in one pass: no layer is ever held in memory.
/// </summary>
public sealed class LayerWriter
{
    /// <summary>Bumped whenever the bytes written for the same entries change (it is part of cache keys).</summary>
    /// <remarks>2: gzip in independent 1 MiB chunks (<see cref="ParallelGzipStream"/>).</remarks>
    public const int FormatVersion = 2;

    private readonly CompressionWorkers? _workers;

    /// <param name="settings">The mtime, the codec and its level.</param>
    /// <param name="workers">Threads that compress chunks, shared by all layers of a build; null to use one of its own per layer.</param>
    public LayerWriter(LayerWriterSettings settings, CompressionWorkers? workers = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.CompressionLevel, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(settings.CompressionLevel, settings.Codec.MaxLevel);
        Settings = settings;
        _workers = workers;
    }

    /// <param name="modificationTime">The mtime of every entry.</param>
    /// <param name="compressionLevel">zlib level 1 (fastest) to 9 (smallest).</param>
    public LayerWriter(DateTimeOffset modificationTime, int compressionLevel)
        : this(new LayerWriterSettings(modificationTime, compressionLevel))
    {
    }

    public LayerWriterSettings Settings { get; }

    public WrittenLayer Write(IEnumerable<LayerEntry> entries, Stream destination, CancellationToken cancellationToken)
    {
        var ownWorkers = _workers is null ? new CompressionWorkers(Environment.ProcessorCount) : null;
        try
        {
            using var compressed = new HashingStream(destination, leaveOpen: true);
            Digest diffId;
            long uncompressedSize;
            using (var compressing = Settings.Codec.Compress(compressed, Settings.CompressionLevel, _workers ?? ownWorkers!))
            using (var uncompressed = new HashingStream(compressing, leaveOpen: true))
            {
                using (var tar = new DeterministicTarWriter(uncompressed, Settings.ModificationTime))
                {
                    foreach (var entry in entries)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        tar.Write(entry);
                    }

                    tar.Finish();
                }

                diffId = uncompressed.CurrentDigest();
                uncompressedSize = uncompressed.BytesWritten;
            }

            return new WrittenLayer(compressed.CurrentDigest(), diffId, compressed.BytesWritten, uncompressedSize);
        }
        finally
        {
            ownWorkers?.Dispose();
        }
    }
}
