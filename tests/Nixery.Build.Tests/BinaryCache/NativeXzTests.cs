using System.Diagnostics;
using Nixery.Build.BinaryCache;
using Nixery.Build.Tests.LayerFormat;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.BinaryCache;

/// <summary>
/// xz through the system's liblzma (<see cref="NativeXz"/>) against SharpCompress: the same bytes out of what the
/// <c>xz</c> tool writes, the same kind of failure on bad data, the memory limit, and native state freed on dispose.
/// </summary>
public class NativeXzTests
{
    // "first stream, " as `printf … | xz` writes it: its block header (from offset 12) has the LZMA2 dictionary byte at
    // offset 16 (0x16, 8 MiB; 0x28 is 4 GiB) and the header's CRC-32 at 20.
    private const string SmallXz = "/Td6WFoAAATm1rRGAgAhARYAAAB0L+WjAQANZmlyc3Qgc3RyZWFtLCAAAAB5rGgawrb0hgABJg4IG+AEH7bzfQEAAAAABFla";

    public static TheoryData<string[]> XzToolArguments => new()
    {
        new[] { "-6" },
        new[] { "-1", "--check=none" },
        new[] { "-6", "--check=crc32" },
        new[] { "-6", "--check=crc64" },
        new[] { "-6", "--check=sha256" },
        new[] { "-6", "-T2", "--block-size=1MiB" },
        new[] { "-9e", "-T1", "--block-size=2MiB", "--check=sha256" },
    };

    [Fact]
    public void TheLzmaStreamStructIsLiblzmasSize()
    {
        Assert.True(NativeXz.IsAvailable || !OperatingSystem.IsLinux(), "no liblzma.so.5 on this Linux");
        // lzma/base.h: 8 pointers and 4 size_t, 4 uint64_t and 2 enums; 136 bytes on a 64-bit system.
        Assert.Equal((12 * IntPtr.Size) + (4 * sizeof(ulong)) + (2 * sizeof(int)), NativeXz.StreamSize);
    }

    [Theory]
    [MemberData(nameof(XzToolArguments))]
    [Trait("Category", "EndToEnd")]
    public void WhatTheXzToolWritesDecodesToTheSameBytesThroughBoth(string[] arguments)
    {
        var input = LayerData.Mixed((5 << 20) + 12345);
        var compressed = XzTool(input, arguments);

        Assert.Equal(input, Decompress(compressed, nativeXz: true));
        Assert.Equal(input, Decompress(compressed, nativeXz: false));
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void ConcatenatedXzToolStreamsWithPaddingDecodeToTheSameBytesThroughBoth()
    {
        var first = LayerData.Mixed(3 << 20);
        var second = LayerData.Mixed(12345)[..1000];
        var third = LayerData.Mixed(700_000);
        byte[] compressed =
        [
            .. XzTool(first, "-6", "--check=crc64"), 0, 0, 0, 0,
            .. XzTool(second, "-1", "--check=crc32"), 0, 0, 0, 0, 0, 0, 0, 0,
            .. XzTool(third, "-6", "-T2", "--block-size=256KiB", "--check=sha256"), 0, 0, 0, 0,
        ];

        byte[] expected = [.. first, .. second, .. third];
        Assert.Equal(expected, Decompress(compressed, nativeXz: true));
        Assert.Equal(expected, Decompress(compressed, nativeXz: false));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    [Trait("Category", "EndToEnd")]
    public void CutShortAndCorruptXzToolOutputIsInvalidDataThroughBoth(bool nativeXz)
    {
        var compressed = XzTool(LayerData.Mixed(2 << 20), "-6", "-T2", "--block-size=512KiB");

        foreach (var length in new[] { 0, 5, 12, 40, compressed.Length / 3, compressed.Length - 13, compressed.Length - 1 })
        {
            var e = Assert.Throws<InvalidDataException>(() => Decompress(compressed[..length], nativeXz));
            Assert.StartsWith("The xz-compressed NAR ", e.Message, StringComparison.Ordinal);
        }

        // Flipped bits in the stream header, a block header, the middle of the data, the index and the footer. SharpCompress
        // reads past a corrupt index (the blocks decode as before); liblzma checks it against the blocks.
        int[] positions = nativeXz ? [7, 14, compressed.Length / 2, compressed.Length - 20, compressed.Length - 3] : [7, 14, compressed.Length / 2, compressed.Length - 3];
        foreach (var position in positions)
        {
            var corrupt = compressed.ToArray();
            corrupt[position] ^= 0x21;
            var e = Assert.Throws<InvalidDataException>(() => Decompress(corrupt, nativeXz));
            Assert.StartsWith("The xz-compressed NAR is corrupt or cut short: ", e.Message, StringComparison.Ordinal);
            Assert.NotNull(e.InnerException);
        }
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void AStreamAskingForADictionaryOverTheMemoryLimitIsRefusedAsBadData()
    {
        // xz stores the dictionary asked for (512 MiB) even for 100 KB: liblzma would need 513 MiB to decode it.
        var compressed = XzTool(LayerData.Mixed(100_000), "-T1", "--lzma2=dict=512MiB");

        var e = Assert.Throws<InvalidDataException>(() => Decompress(compressed, nativeXz: true));

        Assert.Equal(
            "The xz-compressed NAR is corrupt or cut short: the xz data needs 513 MiB to decode, over the 256 MiB allowed (xz -9 needs 65 MiB)",
            e.Message);
    }

    [Fact]
    public void AHeaderAskingForAFourGibibyteDictionaryIsRefused()
    {
        var compressed = Convert.FromBase64String(SmallXz);
        Assert.Equal(0x16, compressed[16]);
        compressed[16] = 0x28;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(compressed.AsSpan(20), Crc32(compressed.AsSpan(12, 8)));

        var e = Assert.Throws<InvalidDataException>(() => Decompress(compressed, nativeXz: true));

        Assert.Contains("needs 4097 MiB to decode, over the 256 MiB allowed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADisposedNarStreamFreesItsDecoderAndMayBeDisposedAgain()
    {
        var compressed = Convert.FromBase64String(SmallXz);
        var nar = NarCompression.Decompress(new MemoryStream(compressed), "xz", nativeXz: true);
        Assert.Equal((byte)'f', nar.ReadByte());

        nar.Dispose();
        nar.Dispose();

        Assert.Throws<ObjectDisposedException>(() => nar.ReadByte());
    }

    [Fact]
    public void ADecoderNeverDisposedIsFreedByTheFinalizer()
    {
        var compressed = Convert.FromBase64String(SmallXz);
        Leak();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        // Still working after the finalizers ran: a new decoder decodes.
        Assert.Equal("first stream, "u8.ToArray(), Decompress(compressed, nativeXz: true));

        void Leak()
        {
            for (var i = 0; i < 100; i++)
            {
                var nar = NarCompression.Decompress(new MemoryStream(compressed), "xz", nativeXz: true);
                nar.ReadByte();
            }
        }
    }


    private static byte[] Decompress(byte[] compressed, bool nativeXz)
    {
        using var nar = NarCompression.Decompress(new MemoryStream(compressed), "xz", nativeXz);
        using var copy = new MemoryStream();
        nar.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>The input as the <c>xz</c> tool compresses it with these arguments (from a file: no size hint matters).</summary>
    private static byte[] XzTool(byte[] input, params string[] arguments)
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("data");
        File.WriteAllBytes(path, input);
        ExternalTool.RunChecked("xz", [.. arguments, "-z", "-k", "-q", path]);
        return File.ReadAllBytes(path + ".xz");
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}

/// <summary>Reads the process's resident memory, so it runs alone: other tests running beside it would move the number.</summary>
[CollectionDefinition(nameof(NativeXzMemoryTests), DisableParallelization = true)]
[Collection(nameof(NativeXzMemoryTests))]
public class NativeXzMemoryTests
{
    [Fact]
    public void ThousandsOfDecodersOpenedAndDisposedDoNotGrowTheProcess()
    {
        // Each decoder holds about 100 KiB of liblzma state and dictionary pages once it has decoded 64 KiB:
        // 3000 of them left allocated would grow the process by some 300 MiB.
        var compressed = Convert.FromBase64String(NarCompressionTests.LargeXz);
        var buffer = new byte[64 * 1024];
        Cycle(200);
        var before = ResidentBytes();

        Cycle(3000);

        var grown = ResidentBytes() - before;
        Assert.True(grown < 64L << 20, $"the process grew by {grown >> 20} MiB over 3000 decoders");

        void Cycle(int count)
        {
            for (var i = 0; i < count; i++)
            {
                using var nar = NarCompression.Decompress(new MemoryStream(compressed), "xz", nativeXz: true);
                nar.ReadExactly(buffer);
            }
        }
    }

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return self.WorkingSet64;
    }
}
