using Nixery.Build.Oci;
using Nixery.Build.Streams;

namespace Nixery.Build.Tests.Streams;

public class BlobCheckTests
{
    private static readonly byte[] Content = [.. Enumerable.Range(0, 4000).Select(i => (byte)(i * 7))];
    private static readonly Descriptor Descriptor = new(MediaTypes.OciLayerGzip, Digest.Of(Content), Content.Length);

    private static ImageBlob Blob(byte[] bytes) => new(Descriptor, () => new MemoryStream(bytes, writable: false));

    [Fact]
    public void IntactBlobReadsThroughUnchanged()
    {
        using var stream = BlobCheck.Reading(new MemoryStream(Content), Descriptor);
        var copy = new MemoryStream();
        stream.CopyTo(copy, 333);

        Assert.Equal(Content, copy.ToArray());
        BlobCheck.Verify(Blob(Content));
    }

    [Fact]
    public void ChangedByteIsFoundAtTheEnd()
    {
        var damaged = Content.ToArray();
        damaged[2000] ^= 1;

        var error = Assert.Throws<DamagedBlobException>(() => BlobCheck.Verify(Blob(damaged)));

        Assert.Equal(Descriptor, error.Descriptor);
        Assert.Contains("hashing to sha256:", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public void DifferentLengthIsFound(int change)
    {
        var other = new byte[Content.Length + change];
        Content.AsSpan(0, Math.Min(Content.Length, other.Length)).CopyTo(other);

        Assert.Throws<DamagedBlobException>(() => BlobCheck.Verify(Blob(other)));
    }
}
