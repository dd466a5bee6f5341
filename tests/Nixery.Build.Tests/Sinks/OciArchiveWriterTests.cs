using System.Text;
using System.Text.Json;
using Nixery.Build.Cache;
using Nixery.Build.LayerFormat;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Sinks;
using Nixery.Build.Streams;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Sinks;

public sealed class OciArchiveWriterTests : IDisposable
{
    private const string Repository = "shop/api";

    private static readonly string[] Tags = ["1.0", "latest"];

    private readonly TempDirectory _temp = new();
    private readonly BlobStore _store;
    private readonly BuiltImage _image;

    public OciArchiveWriterTests()
    {
        _temp.CreateFile("content/one/hello.txt", "hello");
        _temp.CreateFile("content/two/world.txt", "world");
        _store = new BlobStore(_temp.Combine("blobs"));
        _image = BuildImage(_temp.Combine("content/one"), _temp.Combine("content/two"));
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void MembersAreLayoutIndexDockerManifestThenSortedBlobs()
    {
        var archive = Write("out/image.tar");

        var headers = RawTar.Read(File.ReadAllBytes(archive));

        var blobHexes = _image.Layers.Select(l => l.Blob.Descriptor.Digest.Hex)
            .Append(_image.Config.Descriptor.Digest.Hex)
            .Append(_image.Manifest.Descriptor.Digest.Hex)
            .Order(StringComparer.Ordinal)
            .Select(hex => "blobs/sha256/" + hex);
        Assert.Equal(["oci-layout", "index.json", "manifest.json", "blobs/", "blobs/sha256/", .. blobHexes], headers.Select(h => h.Name));
        Assert.Equal("""{"imageLayoutVersion":"1.0.0"}""", Encoding.UTF8.GetString(headers[0].Data));
        Assert.All(headers, h => Assert.Equal(1, h.ModificationTime));
    }

    [Fact]
    public void BlobsHoldTheStoredBytes()
    {
        var headers = RawTar.Read(File.ReadAllBytes(Write("image.tar")));

        foreach (var header in headers.Where(h => h.Name.StartsWith("blobs/sha256/", StringComparison.Ordinal) && h.TypeFlag == '0'))
        {
            var hex = header.Name["blobs/sha256/".Length..];
            Assert.Equal(File.ReadAllBytes(_store.PathOf(Digest.Parse("sha256:" + hex))), header.Data);
            Assert.Equal("sha256:" + hex, Digest.Of(header.Data).Value);
        }
    }

    [Fact]
    public void IndexHasOneManifestEntryPerTagWithRefNameAndContainerdName()
    {
        var headers = RawTar.Read(File.ReadAllBytes(Write("image.tar")));

        using var index = JsonDocument.Parse(headers.Single(h => h.Name == "index.json").Data);
        Assert.Equal(2, index.RootElement.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(MediaTypes.OciIndex, index.RootElement.GetProperty("mediaType").GetString());
        var manifests = index.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        Assert.Equal(Tags.Length, manifests.Count);
        for (var i = 0; i < Tags.Length; i++)
        {
            Assert.Equal(MediaTypes.OciManifest, manifests[i].GetProperty("mediaType").GetString());
            Assert.Equal(_image.Digest.Value, manifests[i].GetProperty("digest").GetString());
            Assert.Equal(_image.Manifest.Descriptor.Size, manifests[i].GetProperty("size").GetInt64());
            var annotations = manifests[i].GetProperty("annotations");
            Assert.Equal(Tags[i], annotations.GetProperty("org.opencontainers.image.ref.name").GetString());
            Assert.Equal($"{Repository}:{Tags[i]}", annotations.GetProperty("io.containerd.image.name").GetString());
        }
    }

    [Fact]
    public void DockerManifestListsConfigRepoTagsAndLayersInOrder()
    {
        var headers = RawTar.Read(File.ReadAllBytes(Write("image.tar")));

        var json = Encoding.UTF8.GetString(headers.Single(h => h.Name == "manifest.json").Data);
        var layers = string.Join(',', _image.Layers.Select(l => $"\"blobs/sha256/{l.Blob.Descriptor.Digest.Hex}\""));
        Assert.Equal(
            $"[{{\"Config\":\"blobs/sha256/{_image.Config.Descriptor.Digest.Hex}\",\"RepoTags\":[\"shop/api:1.0\",\"shop/api:latest\"],\"Layers\":[{layers}]}}]",
            json);
    }

    [Fact]
    public void WritingTwiceGivesIdenticalBytes()
    {
        var first = File.ReadAllBytes(Write("first/image.tar"));
        var second = File.ReadAllBytes(Write("second/image.tar"));
        var overwritten = File.ReadAllBytes(Write("first/image.tar"));

        Assert.Equal(first, second);
        Assert.Equal(first, overwritten);
    }

    [Fact]
    public void NoTemporaryFileIsLeftBehind()
    {
        Write("out/image.tar");
        Write("out/image.tar");

        Assert.Equal([_temp.Combine("out/image.tar")], Directory.GetFileSystemEntries(_temp.Combine("out")));
    }

    [Fact]
    public void FailedWriteLeavesNoArchiveAndNoTemporaryFile()
    {
        var config = _image.Config with { Descriptor = _image.Config.Descriptor with { Size = _image.Config.Descriptor.Size + 1 } };
        var broken = _image with { Config = config };
        Directory.CreateDirectory(_temp.Combine("out"));

        Assert.Throws<DamagedBlobException>(() => OciArchiveWriter.Write(broken, Repository, Tags, _temp.Combine("out/image.tar"), ImageDefaults.Epoch, CancellationToken.None));

        Assert.Empty(Directory.GetFileSystemEntries(_temp.Combine("out")));
    }

    [Fact]
    public void FailedWriteKeepsThePreviousArchive()
    {
        var archive = Write("out/image.tar");
        var before = File.ReadAllBytes(archive);
        var config = _image.Config with { Descriptor = _image.Config.Descriptor with { Size = 1 } };

        Assert.Throws<DamagedBlobException>(() => OciArchiveWriter.Write(_image with { Config = config }, Repository, Tags, archive, ImageDefaults.Epoch, CancellationToken.None));

        Assert.Equal(before, File.ReadAllBytes(archive));
        Assert.Equal([archive], Directory.GetFileSystemEntries(_temp.Combine("out")));
    }

    [Fact]
    public void BlobUsedTwiceIsStoredOnce()
    {
        var image = _image with { Layers = [.. _image.Layers, _image.Layers[0]] };
        var archive = _temp.Combine("dup.tar");

        OciArchiveWriter.Write(image, Repository, Tags, archive, ImageDefaults.Epoch, CancellationToken.None);

        var names = RawTar.Read(File.ReadAllBytes(archive)).Select(h => h.Name).ToList();
        Assert.Equal(names.Distinct(StringComparer.Ordinal), names);
        Assert.Equal(4, names.Count(n => n.StartsWith("blobs/sha256/", StringComparison.Ordinal) && n.Length > "blobs/sha256/".Length));
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void ArchiveIsReadByGnuTar()
    {
        var members = TarTools.ListWithGnuTar(Write("image.tar"));

        Assert.Equal(["oci-layout", "index.json", "manifest.json", "blobs/", "blobs/sha256/"], members.Take(5).Select(m => m.Name));
        Assert.All(members, m => Assert.Equal("0/0", m.Owner));
    }

    private string Write(string relative)
    {
        var path = _temp.Combine(relative);
        OciArchiveWriter.Write(_image, Repository, Tags, path, ImageDefaults.Epoch, CancellationToken.None);
        return path;
    }

    /// <summary>A two-layer image whose blobs live in the temp blob store, as ImageBuilder makes it.</summary>
    private BuiltImage BuildImage(params string[] layerFolders)
    {
        var writer = new LayerWriter(ImageDefaults.Epoch, 6);
        var layers = layerFolders.Select(folder =>
        {
            var written = _store.Add(s => writer.Write(FileTree.Walk(folder, Path.GetFileName(folder), FileTree.NormalizedMode), s, CancellationToken.None), w => w.Digest);
            return new LayerBlob(Open(new Descriptor(MediaTypes.OciLayerGzip, written.Digest, written.Size)), written.DiffId, folder);
        }).ToList();
        var config = new ImageConfig
        {
            Created = ImageDefaults.Epoch,
            Platform = Platform.FromNixSystem("x86_64-linux"),
            Settings = new ContainerSettings { Entrypoint = ["/one/hello.txt"] },
            DiffIds = layers.Select(l => l.DiffId).ToList(),
            History = layers.Select(l => new HistoryEntry(l.Description)).ToList(),
        };
        var configDescriptor = _store.AddBytes(MediaTypes.OciConfig, OciJson.Serialize(config));
        var manifest = new ImageManifest(MediaTypes.OciManifest, configDescriptor, layers.Select(l => l.Blob.Descriptor).ToList());
        var manifestDescriptor = _store.AddBytes(MediaTypes.OciManifest, OciJson.Serialize(manifest));
        return new BuiltImage(Open(configDescriptor), Open(manifestDescriptor), layers);
    }

    private ImageBlob Open(Descriptor descriptor)
    {
        var path = _store.PathOf(descriptor.Digest);
        return new ImageBlob(descriptor, () => File.OpenRead(path));
    }
}
