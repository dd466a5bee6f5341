using Nixery.Build.Oci;

namespace Nixery.Build.LayerFormat;

/// <summary>
/// How a layer's tar is compressed: the one seam between the layer writer and a codec. A codec is one class here,
/// one arm in <see cref="LayerCodecs.For"/>, and its media types in <see cref="ImageMediaTypes"/>.
/// </summary>
public interface ILayerCodec
{
    LayerCompression Compression { get; }

    /// <summary>The highest level this codec takes (the lowest is 1, the fastest).</summary>
    int MaxLevel { get; }

    /// <summary>What decides the codec's bytes besides its input (name, level, library), for layer cache keys.</summary>
    string Describe(int level);

    /// <summary>A stream that compresses what is written to it into <paramref name="destination"/> (left open), whole once disposed.</summary>
    Stream Compress(Stream destination, int level, CompressionWorkers workers);
}

/// <summary>gzip in independent 1 MiB members compressed in parallel (<see cref="ParallelGzipStream"/>, .NET's zlib-ng).</summary>
public sealed class GzipLayerCodec : ILayerCodec
{
    public static readonly GzipLayerCodec Instance = new();

    public LayerCompression Compression => LayerCompression.Gzip;

    public int MaxLevel => 9;

    public string Describe(int level) => $"gzip level {level}, .NET {Environment.Version} (its zlib-ng)";

    public Stream Compress(Stream destination, int level, CompressionWorkers workers) => new ParallelGzipStream(destination, workers, level);
}

/// <summary>
/// zstd as independent frames of 2 MiB compressed in parallel (<see cref="ParallelZstdStream"/>, ZstdSharp's managed
/// port of zstd). The library's version is part of the description: another version may compress to other bytes.
/// </summary>
public sealed class ZstdLayerCodec : ILayerCodec
{
    public static readonly ZstdLayerCodec Instance = new();

    public LayerCompression Compression => LayerCompression.Zstd;

    public int MaxLevel => ParallelZstdStream.MaxLevel;

    public string Describe(int level) =>
        $"zstd level {level}, {ParallelZstdStream.DefaultChunkSize >> 20} MiB frames, {typeof(SharpCompress.Compressors.ZStandard.Compressor).Assembly.GetName().Name} {typeof(SharpCompress.Compressors.ZStandard.Compressor).Assembly.GetName().Version}";

    public Stream Compress(Stream destination, int level, CompressionWorkers workers) => new ParallelZstdStream(destination, workers, level);
}

public static class LayerCodecs
{
    /// <summary>The codec of a compression this package writes.</summary>
    public static ILayerCodec For(LayerCompression compression) => compression switch
    {
        LayerCompression.Gzip => GzipLayerCodec.Instance,
        LayerCompression.Zstd => ZstdLayerCodec.Instance,
        _ => throw new NotSupportedException($"Layers compressed as {compression} are not written by this version."),
    };
}
