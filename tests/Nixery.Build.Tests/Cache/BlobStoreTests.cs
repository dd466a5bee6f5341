using System.Text;
using Nixery.Build.Cache;
using Nixery.Build.Oci;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Cache;

public sealed class BlobStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly BlobStore _store;

    public BlobStoreTests()
    {
        _store = new BlobStore(_temp.Combine("blobs"));
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void AddBytesStoresTheBlobUnderItsDigest()
    {
        var content = Encoding.UTF8.GetBytes("""{"schemaVersion":2}""");

        var descriptor = _store.AddBytes(MediaTypes.OciManifest, content);

        Assert.Equal(new Descriptor(MediaTypes.OciManifest, Digest.Of(content), content.Length), descriptor);
        Assert.Equal(_temp.Combine("blobs/sha256/" + descriptor.Digest.Hex), _store.PathOf(descriptor.Digest));
        Assert.Equal(content, File.ReadAllBytes(_store.PathOf(descriptor.Digest)));
        Assert.True(_store.Contains(descriptor.Digest, content.Length));
    }

    [Fact]
    public void AddingTheSameBytesTwiceKeepsOneBlob()
    {
        var first = _store.AddBytes(MediaTypes.OciConfig, [1, 2, 3]);
        var second = _store.AddBytes(MediaTypes.OciConfig, [1, 2, 3]);

        Assert.Equal(first, second);
        Assert.Single(Directory.GetFiles(_temp.Combine("blobs/sha256")));
    }

    [Fact]
    public void ContainsChecksTheSize()
    {
        var descriptor = _store.AddBytes(MediaTypes.OciConfig, [1, 2, 3]);

        Assert.True(_store.Contains(descriptor.Digest, 3));
        Assert.False(_store.Contains(descriptor.Digest, 2));
        Assert.False(_store.Contains(descriptor.Digest, 4));
        Assert.False(_store.Contains(Digest.Of([9]), 1));
    }

    [Fact]
    public void TruncatedBlobIsNotContainedAndIsHealedByAddingItAgain()
    {
        var content = new byte[] { 1, 2, 3, 4 };
        var descriptor = _store.AddBytes(MediaTypes.OciConfig, content);
        File.WriteAllBytes(_store.PathOf(descriptor.Digest), [1, 2]);

        Assert.False(_store.Contains(descriptor.Digest, content.Length));
        _store.AddBytes(MediaTypes.OciConfig, content);

        Assert.Equal(content, File.ReadAllBytes(_store.PathOf(descriptor.Digest)));
    }

    [Fact]
    public void AddReturnsWhatTheWriterReturned()
    {
        var content = Encoding.UTF8.GetBytes("layer bytes");

        var (digest, size) = _store.Add(
            stream =>
            {
                stream.Write(content);
                return (Digest.Of(content), content.Length);
            },
            written => written.Item1);

        Assert.Equal(Digest.Of(content), digest);
        Assert.Equal(content.Length, size);
        Assert.Equal(content, File.ReadAllBytes(_store.PathOf(digest)));
    }

    [Fact]
    public void FailingWriterLeavesNoBlobAndNoTemporaryFile()
    {
        var content = Encoding.UTF8.GetBytes("half a layer");

        var error = Assert.Throws<IOException>(() => _store.Add<Digest>(
            stream =>
            {
                stream.Write(content);
                throw new IOException("disk full");
            },
            d => d));

        Assert.Equal("disk full", error.Message);
        Assert.False(_store.Contains(Digest.Of(content), content.Length));
        Assert.Empty(Directory.GetFileSystemEntries(_temp.Combine("blobs/sha256")));
        Assert.Empty(Directory.GetFileSystemEntries(_temp.Combine("blobs/tmp")));
    }

    [Fact]
    public void ConcurrentAddsOfTheSameContentEndWithOneCorrectBlob()
    {
        const int Writers = 16;
        var content = Enumerable.Range(0, 1 << 20).Select(i => (byte)(i * 31)).ToArray();
        var digest = Digest.Of(content);
        using var start = new Barrier(Writers);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();

        var threads = Enumerable.Range(0, Writers).Select(_ => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                _store.Add(
                    stream =>
                    {
                        // Several writes, so the writers interleave.
                        for (var offset = 0; offset < content.Length; offset += 64 * 1024)
                        {
                            stream.Write(content, offset, Math.Min(64 * 1024, content.Length - offset));
                        }

                        return digest;
                    },
                    d => d);
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Empty(failures);
        Assert.Equal([_store.PathOf(digest)], Directory.GetFiles(_temp.Combine("blobs/sha256")));
        Assert.Equal(content, File.ReadAllBytes(_store.PathOf(digest)));
        Assert.Empty(Directory.GetFileSystemEntries(_temp.Combine("blobs/tmp")));
    }

    [Fact]
    public void RootIsAbsolute()
    {
        Assert.True(Path.IsPathFullyQualified(new BlobStore("relative/blobs").Root));
    }
}
