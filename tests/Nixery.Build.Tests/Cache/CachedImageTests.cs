using Nixery.Build.Cache;
using Nixery.Build.Oci;
using Nixery.Build.Streams;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Cache;

public sealed class CachedImageTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly BlobStore _store;
    private readonly Descriptor[] _layers;
    private readonly Descriptor _config;
    private readonly Descriptor _manifest;

    public CachedImageTests()
    {
        _store = new BlobStore(_temp.Path);
        _layers = [_store.AddBytes(MediaTypes.OciLayerGzip, [1, 2, 3]), _store.AddBytes(MediaTypes.OciLayerGzip, [4, 5])];
        _config = _store.AddBytes(MediaTypes.OciConfig, OciJson.Serialize(new ImageConfig
        {
            Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
            Platform = Platform.FromNixSystem("x86_64-linux"),
            Settings = new ContainerSettings(),
            DiffIds = [Digest.Of("tar one"u8), Digest.Of("tar two"u8)],
            History = [new HistoryEntry("nix: jq"), new HistoryEntry("app")],
        }));
        _manifest = _store.AddBytes(MediaTypes.OciManifest, OciJson.Serialize(new ImageManifest(MediaTypes.OciManifest, _config, _layers)));
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ReadsTheImageBackWithEveryDescriptorAndDiffId()
    {
        var image = CachedImage.Read(_store, _manifest.Digest);

        Assert.NotNull(image);
        Assert.Equal(_manifest, image.Manifest.Descriptor);
        Assert.Equal(_config, image.Config.Descriptor);
        Assert.Equal(_layers, image.Layers.Select(l => l.Blob.Descriptor));
        Assert.Equal([Digest.Of("tar one"u8), Digest.Of("tar two"u8)], image.Layers.Select(l => l.DiffId));
        Assert.Equal(["nix: jq", "app"], image.Layers.Select(l => l.Description));
        using var layer = image.Layers[1].Blob.Open();
        using var bytes = new MemoryStream();
        layer.CopyTo(bytes);
        Assert.Equal([4, 5], bytes.ToArray());
    }

    [Fact]
    public void AMissingLayerConfigOrManifestMeansTheImageIsNotThere()
    {
        File.Delete(_store.PathOf(_layers[0].Digest));
        Assert.Null(CachedImage.Read(_store, _manifest.Digest));

        Assert.Null(CachedImage.Read(new BlobStore(_temp.Combine("elsewhere")), _manifest.Digest));
    }

    [Fact]
    public void ADamagedManifestOrATruncatedLayerIsNotTakenForTheImage()
    {
        File.WriteAllBytes(_store.PathOf(_layers[1].Digest), [4]);
        Assert.Null(CachedImage.Read(_store, _manifest.Digest));

        // Same size, other bytes: layers are looked up by size only; the sink that copies the blob checks its digest.
        File.WriteAllBytes(_store.PathOf(_layers[1].Digest), [0, 0]);
        var image = CachedImage.Read(_store, _manifest.Digest);
        Assert.NotNull(image);
        Assert.Throws<DamagedBlobException>(() => BlobCheck.Verify(image.Layers[1].Blob));

        File.WriteAllBytes(_store.PathOf(_layers[1].Digest), [4, 5]);
        Assert.NotNull(CachedImage.Read(_store, _manifest.Digest));

        File.WriteAllText(_store.PathOf(_manifest.Digest), "{ not the manifest");
        Assert.Null(CachedImage.Read(_store, _manifest.Digest));
    }
}
