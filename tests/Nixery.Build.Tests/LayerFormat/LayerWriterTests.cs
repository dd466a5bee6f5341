using System.IO.Compression;
using Nixery.Build.LayerFormat;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.LayerFormat;

public sealed class LayerWriterTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public LayerWriterTests()
    {
        _temp.CreateFile("app/App.dll", "not really an assembly");
        _temp.CreateFile("app/App", "#!/bin/sh\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _temp.CreateFile("app/wwwroot/index.html", "<p>hello</p>\n");
        _temp.CreateSymlink("app/current", "App.dll");
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void IdenticalInputsProduceIdenticalDigestsAndDiffIds()
    {
        var (first, firstBytes) = Write(compressionLevel: 6);
        var (second, secondBytes) = Write(compressionLevel: 6);

        Assert.Equal(first, second);
        Assert.Equal(firstBytes, secondBytes);
    }

    [Fact]
    public void DigestIsSha256OfTheCompressedBytes()
    {
        var (layer, bytes) = Write(compressionLevel: 6);

        Assert.Equal(Digest.Of(bytes), layer.Digest);
        Assert.Equal(bytes.Length, layer.Size);
        Assert.Equal(new byte[] { 0x1F, 0x8B }, bytes[..2]);
    }

    [Fact]
    public void DiffIdIsSha256OfTheUncompressedTar()
    {
        var (layer, bytes) = Write(compressionLevel: 6);

        var tar = Gunzip(bytes);
        Assert.Equal(Digest.Of(tar), layer.DiffId);
        Assert.Equal(tar.Length, layer.UncompressedSize);
        Assert.NotEqual(layer.Digest, layer.DiffId);
    }

    [Fact]
    public void UncompressedBytesAreExactlyTheDeterministicTar()
    {
        var (_, bytes) = Write(compressionLevel: 1);

        using var expected = new MemoryStream();
        using (var tar = new DeterministicTarWriter(expected, ImageDefaults.Epoch))
        {
            foreach (var entry in Entries())
            {
                tar.Write(entry);
            }

            tar.Finish();
        }

        Assert.Equal(expected.ToArray(), Gunzip(bytes));
        Assert.Equal(
            ["app/", "app/App", "app/App.dll", "app/current", "app/wwwroot/", "app/wwwroot/index.html"],
            RawTar.Read(Gunzip(bytes)).Select(h => h.Name));
    }

    [Fact]
    public void CompressionLevelChangesTheDigestButNotTheDiffId()
    {
        var (fast, _) = Write(compressionLevel: 1);
        var (small, _) = Write(compressionLevel: 9);

        Assert.Equal(fast.DiffId, small.DiffId);
        Assert.Equal(fast.UncompressedSize, small.UncompressedSize);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    public void CompressionLevelOutsideOneToNineIsRejected(int level)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerWriter(ImageDefaults.Epoch, level));
    }

    [Fact]
    public void FileThatChangedSizeFailsWithIOException()
    {
        var file = _temp.CreateFile("changing.txt", "0123456789");
        var writer = new LayerWriter(ImageDefaults.Epoch, 6);
        using var output = new MemoryStream();

        var error = Assert.Throws<IOException>(() => writer.Write([new FileEntry("changing.txt", 0x1A4, file, 20)], output, CancellationToken.None));
        Assert.Contains("changed while the layer was written", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CancelledWriteStops()
    {
        var writer = new LayerWriter(ImageDefaults.Epoch, 6);
        using var output = new MemoryStream();

        Assert.ThrowsAny<OperationCanceledException>(() => writer.Write(Entries(), output, new CancellationToken(canceled: true)));
    }

    private List<LayerEntry> Entries() => FileTree.Walk(_temp.Combine("app"), "app", FileTree.NormalizedMode).ToList();

    [Fact]
    public void ZstdLayerHasTheSameDiffIdAsGzipAndItsOwnDigest()
    {
        var (gzip, _) = Write(compressionLevel: 5);
        var (zstd, bytes) = Write(compressionLevel: 3, LayerCompression.Zstd);

        Assert.Equal([0x28, 0xB5, 0x2F, 0xFD], bytes[..4]);
        var tar = ParallelZstdStreamTests.Decompress(bytes);
        Assert.Equal(Digest.Of(tar), zstd.DiffId);
        Assert.Equal(gzip.DiffId, zstd.DiffId);
        Assert.Equal(Digest.Of(bytes), zstd.Digest);
        Assert.NotEqual(gzip.Digest, zstd.Digest);
    }

    [Theory]
    [InlineData(LayerCompression.Gzip, 10)]
    [InlineData(LayerCompression.Zstd, 20)]
    [InlineData(LayerCompression.Zstd, 0)]
    public void LevelsBeyondTheCodecsAreRefused(LayerCompression compression, int level) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerWriter(new LayerWriterSettings(ImageDefaults.Epoch, level, compression)));

    [Fact]
    public void ZstdLevelsUpToNineteenAreTaken() =>
        Assert.Equal(19, new LayerWriter(new LayerWriterSettings(ImageDefaults.Epoch, 19, LayerCompression.Zstd)).Settings.CompressionLevel);

    private (WrittenLayer Layer, byte[] Bytes) Write(int compressionLevel, LayerCompression compression = LayerCompression.Gzip)
    {
        var writer = new LayerWriter(new LayerWriterSettings(ImageDefaults.Epoch, compressionLevel, compression));
        using var output = new MemoryStream();
        var layer = writer.Write(Entries(), output, CancellationToken.None);
        return (layer, output.ToArray());
    }

    private static byte[] Gunzip(byte[] bytes)
    {
        using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var tar = new MemoryStream();
        gzip.CopyTo(tar);
        return tar.ToArray();
    }
}
