using System.Security.Cryptography;
using Nixery.Build.LayerFormat;
using Nixery.Build.Oci;
using Nixery.Build.Tests.Support;
using SharpCompress.Compressors.ZStandard;

namespace Nixery.Build.Tests.LayerFormat;

public sealed class ParallelZstdStreamTests : IDisposable
{
    private const int Chunk = 64 << 10;

    private readonly CompressionWorkers _workers = new(3);

    public static TheoryData<int> Sizes => new() { 0, 1, Chunk - 1, Chunk, Chunk + 1, 3 * Chunk, (5 * Chunk) + 123 };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void FramesTogetherDecodeToExactlyTheInput(int size)
    {
        var input = LayerData.Mixed(size);

        var zstd = Compress(input, 3);

        Assert.Equal([0x28, 0xB5, 0x2F, 0xFD], zstd[..4]);
        Assert.Equal(input, Decompress(zstd));
    }

    [Fact]
    public void EachFullChunkIsAFrameOfItsOwn()
    {
        // | chunk 0 | chunk 1 | chunk 2 (3 bytes) |  →  three frames, each starting with zstd's magic number.
        var input = LayerData.Mixed((2 * Chunk) + 3);

        var zstd = Compress(input, 3);

        var frames = 0;
        for (var i = 0; i + 4 <= zstd.Length; i++)
        {
            if (zstd[i] == 0x28 && zstd[i + 1] == 0xB5 && zstd[i + 2] == 0x2F && zstd[i + 3] == 0xFD)
            {
                frames++;
            }
        }

        Assert.True(frames >= 3, $"{frames} frame starts found");
        Assert.Equal(input, Decompress(zstd));
    }

    [Fact]
    public void AFrameDependsOnlyOnItsChunkNotOnTheFramesBefore()
    {
        // | chunk A | chunk B | + | chunk B |: B's frame is the same bytes either way (compressors are reused across frames).
        var a = LayerData.Mixed(Chunk);
        var b = a.Select((x, i) => (byte)(x ^ (i % 7))).ToArray();

        var both = Compress([.. a, .. b], 3);
        var alone = Compress(b, 3);

        Assert.Equal(alone, both[^alone.Length..]);
    }

    [Fact]
    public void StreamThatNeverFillsAChunkStartsNoThread()
    {
        var input = LayerData.Mixed(Chunk - 1);
        using var fresh = new CompressionWorkers(2);
        using var inline = new MemoryStream();
        using (var zstd = new ParallelZstdStream(inline, fresh, 3, Chunk))
        {
            zstd.Write(input);
        }

        Assert.False(fresh.Started);
        Assert.Equal(input, Decompress(inline.ToArray()));
    }

    [Fact]
    public void RandomDataDecodesAndBarelyGrows()
    {
        var random = new byte[(4 * Chunk) + 9];
        new Random(3).NextBytes(random);

        var zstd = Compress(random, 3);

        Assert.True(zstd.Length < random.Length + 1024, $"{zstd.Length} bytes for {random.Length}");
        Assert.Equal(random, Decompress(zstd));
    }

    [Fact]
    public void HigherLevelIsNoLarger()
    {
        var input = LayerData.Mixed(8 * Chunk);

        Assert.True(Compress(input, 9).Length <= Compress(input, 1).Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    public void LevelsOutsideOneToNineteenAreRefused(int level) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParallelZstdStream(Stream.Null, _workers, level));

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void ZstdToolAcceptsTheFramesAndTheirChecksums()
    {
        using var temp = new TempDirectory();
        var input = LayerData.Mixed((7 * Chunk) + 5);
        var path = temp.Combine("layer.zst");
        File.WriteAllBytes(path, Compress(input, 3));

        var test = ExternalTool.Run("zstd", "-t", "-q", path);
        Assert.True(test.ExitCode == 0, test.StandardError);

        var decoded = ExternalTool.Run("zstd", "-d", "-q", "-f", path, "-o", temp.Combine("layer"));
        Assert.True(decoded.ExitCode == 0, decoded.StandardError);
        Assert.Equal(input, File.ReadAllBytes(temp.Combine("layer")));
    }

    /// <summary>The codecs as the layer writer uses them (default chunk sizes) on an input of many chunks of each.</summary>
    [Theory]
    [InlineData(LayerCompression.Gzip, 5)]
    [InlineData(LayerCompression.Zstd, 3)]
    public void BothCodecsGiveTheSameBytesOnOneTwoAndEightWorkers(LayerCompression compression, int level)
    {
        var input = LayerData.Mixed(11 * (1 << 20) + 4321);
        var codec = LayerCodecs.For(compression);

        var digests = new[] { 1, 2, 8 }.Select(count =>
        {
            using var workers = new CompressionWorkers(count);
            using var output = new MemoryStream();
            using (var compressing = codec.Compress(output, level, workers))
            {
                for (var offset = 0; offset < input.Length; offset += 65_521)
                {
                    compressing.Write(input, offset, Math.Min(65_521, input.Length - offset));
                }
            }

            return Convert.ToHexString(SHA256.HashData(output.ToArray()));
        }).ToList();

        Assert.Single(digests.Distinct());
    }

    public void Dispose() => _workers.Dispose();

    private byte[] Compress(byte[] input, int level)
    {
        using var output = new MemoryStream();
        using (var zstd = new ParallelZstdStream(output, _workers, level, Chunk))
        {
            // Odd write sizes, so writes straddle chunk boundaries.
            for (var offset = 0; offset < input.Length; offset += 10_007)
            {
                zstd.Write(input, offset, Math.Min(10_007, input.Length - offset));
            }
        }

        return output.ToArray();
    }

    internal static byte[] Decompress(byte[] zstd)
    {
        using var input = new DecompressionStream(new MemoryStream(zstd));
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}

/// <summary>Test data shaped like a layer: text-like runs with random stretches.</summary>
internal static class LayerData
{
    public static byte[] Mixed(int size)
    {
        var random = new Random(42);
        var data = new byte[size];
        var words = "the quick brown fox jumps over the lazy dog /nix/store/ lib bin share dotnet "u8.ToArray();
        for (var i = 0; i < size; i++)
        {
            data[i] = (i / 4096) % 5 == 4 ? (byte)random.Next(256) : words[(i * 7 + random.Next(3)) % words.Length];
        }

        return data;
    }
}
