using Nixery.Build.LayerFormat;

namespace Nixery.Build.Tests.LayerFormat;

public sealed class ChunkBuffersTests
{
    [Fact]
    public void ArraysHaveTheSizeAskedForNotTheNextPowerOfTwo()
    {
        var buffers = new ChunkBuffers(2);

        Assert.Equal((1 << 20) + (1 << 17) + 1024, buffers.Rent((1 << 20) + (1 << 17) + 1024).Length);
    }

    [Fact]
    public void AReturnedArrayIsLentAgainForTheSameSizeOnly()
    {
        var buffers = new ChunkBuffers(2);
        var first = buffers.Rent(4096);
        buffers.Return(first);

        Assert.NotSame(first, buffers.Rent(8192));
        Assert.Same(first, buffers.Rent(4096));
    }

    [Fact]
    public void AtMostKeptArraysOfOneSizeAreKept()
    {
        var buffers = new ChunkBuffers(2);
        var lent = Enumerable.Range(0, 3).Select(_ => buffers.Rent(4096)).ToList();
        lent.ForEach(buffers.Return);

        var again = Enumerable.Range(0, 3).Select(_ => buffers.Rent(4096)).ToList();

        Assert.Equal(2, again.Count(a => lent.Any(l => ReferenceEquals(l, a))));
    }
}
