using System.IO.Compression;
using System.Security.Cryptography;
using Nixery.Build.LayerFormat;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.LayerFormat;

public sealed class ParallelGzipStreamTests : IDisposable
{
    private const int Chunk = 64 << 10;

    private readonly CompressionWorkers _workers = new(3);

    public static TheoryData<int> Sizes => new() { 0, 1, Chunk - 1, Chunk, Chunk + 1, (5 * Chunk) + 123, 20 * Chunk };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void OutputIsOneGzipMemberHoldingExactlyTheInput(int size)
    {
        var input = MixedData(size);

        var gzip = Compress(input, 6);

        Assert.Equal(input, Decompress(gzip));
    }

    [Fact]
    public void StreamThatNeverFillsAChunkStartsNoThread()
    {
        var input = MixedData(Chunk - 1);
        using var fresh = new CompressionWorkers(2);
        using var inline = new MemoryStream();
        using (var gzip = new ParallelGzipStream(inline, fresh, 6, Chunk))
        {
            gzip.Write(input);
        }

        Assert.False(fresh.Started);
        Assert.Equal(input, Decompress(inline.ToArray()));
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void GnuGzipAcceptsItsCrcAndSize()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("layer.gz");
        File.WriteAllBytes(path, Compress(MixedData((7 * Chunk) + 5), 6));

        var test = ExternalTool.Run("gzip", "-t", "-v", path);

        Assert.True(test.ExitCode == 0, test.StandardError);
    }

    [Fact]
    public void SameInputGivesSameBytesWhateverTheThreadCount()
    {
        var input = MixedData(9 * Chunk);
        using var one = new CompressionWorkers(1);

        var many = Compress(input, 6);
        var single = Compress(input, 6, one);

        Assert.Equal(SHA256.HashData(many), SHA256.HashData(single));
    }

    [Fact]
    public void IncompressibleChunksAreStoredNotExpanded()
    {
        var random = new byte[8 * Chunk];
        new Random(7).NextBytes(random);

        var gzip = Compress(random, 6);

        // Stored blocks cost 5 bytes per 64 KiB; deflate would spend time and still not win.
        Assert.True(gzip.Length < random.Length + 1024, $"{gzip.Length} bytes for {random.Length}");
        Assert.Equal(random, Decompress(gzip));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    public void RandomDataAtAnyLevelFitsItsBuffers(int level)
    {
        // The fastest level can grow random data by up to an eighth; the stream must cope at every level.
        var random = new byte[(3 * Chunk) + 77];
        new Random(level).NextBytes(random);

        Assert.Equal(random, Decompress(Compress(random, level)));
    }

    [Fact]
    public void CompressibleDataShrinksAboutAsMuchAsOneStream()
    {
        var input = MixedData(16 * Chunk);
        using var whole = new MemoryStream();
        using (var gzip = new GZipStream(whole, new ZLibCompressionOptions { CompressionLevel = 6 }, leaveOpen: true))
        {
            gzip.Write(input);
        }

        var chunked = Compress(input, 6);

        Assert.True(chunked.Length < whole.Length * 1.05, $"chunked {chunked.Length} vs one stream {whole.Length}");
    }

    [Fact]
    public async Task LayersWrittenAtOnceShareOneBoundOnChunksInFlight()
    {
        // Two layers, each written by its own thread, into outputs that hold every write until released: the
        // producers must stop at the workers' limit in all, not at a limit each.
        using var workers = new CompressionWorkers(2);
        using var release = new ManualResetEventSlim();
        var outputs = new[] { new HeldStream(release), new HeldStream(release) };
        var input = MixedData(40 * Chunk);
        var writers = outputs.Select(output => Task.Factory.StartNew(
            () =>
            {
                using var gzip = new ParallelGzipStream(output, workers, 6, Chunk);
                gzip.Write(input);
            },
            TaskCreationOptions.LongRunning)).ToArray();

        // The producers reach the limit (slowly, on a busy machine) and then stay there: never above it, however long
        // they are left.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (workers.InFlight < workers.InFlightLimit && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var highest = 0;
        for (var i = 0; i < 30; i++)
        {
            highest = Math.Max(highest, workers.InFlight);
            await Task.Delay(10);
        }

        Assert.Equal(workers.InFlightLimit, highest);
        Assert.All(writers, w => Assert.False(w.IsCompleted));

        release.Set();
        await Task.WhenAll(writers);
        Assert.Equal(0, workers.InFlight);
        Assert.All(outputs, o => Assert.Equal(input, Decompress(o.ToArray())));
    }

    public void Dispose() => _workers.Dispose();

    private byte[] Compress(byte[] input, int level, CompressionWorkers? workers = null)
    {
        using var output = new MemoryStream();
        using (var gzip = new ParallelGzipStream(output, workers ?? _workers, level, Chunk))
        {
            // Odd write sizes, so writes straddle chunk boundaries.
            for (var offset = 0; offset < input.Length; offset += 10_007)
            {
                gzip.Write(input, offset, Math.Min(10_007, input.Length - offset));
            }
        }

        return output.ToArray();
    }

    private static byte[] Decompress(byte[] gzip)
    {
        using var input = new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>Text-like data with some random stretches, as a layer has.</summary>
    private static byte[] MixedData(int size)
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

    /// <summary>A memory stream whose writes of compressed chunks wait until <paramref name="release"/> is set (the gzip header goes through).</summary>
    private sealed class HeldStream(ManualResetEventSlim release) : MemoryStream
    {
        public override void Write(byte[] buffer, int offset, int count)
        {
            if (count > 64)
            {
                release.Wait();
            }

            base.Write(buffer, offset, count);
        }

        // MemoryStream's span overload of a derived type calls the array one, so this one must not call the base.
        public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer.ToArray(), 0, buffer.Length);
    }
}
