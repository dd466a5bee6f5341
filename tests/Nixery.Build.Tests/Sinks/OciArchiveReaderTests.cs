using System.Text;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Sinks;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Sinks;

/// <summary>The archive read back as a <see cref="BuiltImage"/>: what the registry push sends when the image target was up to date.</summary>
public sealed class OciArchiveReaderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static ImageBlob Blob(string mediaType, byte[] content) =>
        new(new Descriptor(mediaType, Digest.Of(content), content.Length), () => new MemoryStream(content, writable: false));

    /// <summary>Two layers (one of several MB, spanning many tar blocks), a config and a manifest.</summary>
    private static BuiltImage Image()
    {
        var small = Encoding.UTF8.GetBytes("a small layer");
        var large = new byte[3 * 1024 * 1024 + 17];
        new Random(7).NextBytes(large);
        var diffIds = new[] { Digest.Of("diff-1"u8), Digest.Of("diff-2"u8) };
        var config = Blob(MediaTypes.OciConfig, Encoding.UTF8.GetBytes($$"""{"rootfs":{"type":"layers","diff_ids":["{{diffIds[0]}}","{{diffIds[1]}}"]} }"""));
        var layers = new[] { Blob(MediaTypes.OciLayerGzip, small), Blob(MediaTypes.OciLayerGzip, large) };
        var manifest = Blob(MediaTypes.OciManifest, Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}",
             "config":{"mediaType":"{{MediaTypes.OciConfig}}","digest":"{{config.Descriptor.Digest}}","size":{{config.Descriptor.Size}}},
             "layers":[{"mediaType":"{{MediaTypes.OciLayerGzip}}","digest":"{{layers[0].Descriptor.Digest}}","size":{{layers[0].Descriptor.Size}}},
                       {"mediaType":"{{MediaTypes.OciLayerGzip}}","digest":"{{layers[1].Descriptor.Digest}}","size":{{layers[1].Descriptor.Size}}}]}
            """));
        return new BuiltImage(config, manifest, [new LayerBlob(layers[0], diffIds[0], "small"), new LayerBlob(layers[1], diffIds[1], "large")]);
    }

    private static byte[] Bytes(ImageBlob blob)
    {
        using var stream = blob.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    [Fact]
    public void EveryBlobReadsBackWithItsDescriptorAndBytesAsOftenAsAsked()
    {
        var image = Image();
        var archive = _temp.Combine("image.tar");
        OciArchiveWriter.Write(image, "shop/api", ["1.0", "latest"], archive, ImageDefaults.Epoch, CancellationToken.None);

        var read = OciArchiveReader.Read(archive);

        Assert.Equal(image.Digest, read.Digest);
        Assert.Equal(image.Manifest.Descriptor, read.Manifest.Descriptor);
        Assert.Equal(image.Config.Descriptor, read.Config.Descriptor);
        Assert.Equal(image.Layers.Select(l => (l.Blob.Descriptor, l.DiffId)), read.Layers.Select(l => (l.Blob.Descriptor, l.DiffId)));
        foreach (var (written, back) in image.Layers.Select(l => l.Blob).Append(image.Config).Append(image.Manifest).Zip(read.Layers.Select(l => l.Blob).Append(read.Config).Append(read.Manifest)))
        {
            Assert.Equal(Bytes(written), Bytes(back));
            Assert.Equal(Bytes(written), Bytes(back));
        }
    }

    [Fact]
    public void AWindowSeeksWithinItsBlobOnly()
    {
        var image = Image();
        var archive = _temp.Combine("image.tar");
        OciArchiveWriter.Write(image, "shop/api", ["latest"], archive, ImageDefaults.Epoch, CancellationToken.None);
        var layer = OciArchiveReader.Read(archive).Layers[1].Blob;
        var expected = Bytes(image.Layers[1].Blob);

        using var stream = layer.Open();
        Assert.True(stream.CanSeek);
        Assert.Equal(expected.Length, stream.Length);
        stream.Seek(1_000_000, SeekOrigin.Begin);
        var buffer = new byte[100];
        stream.ReadExactly(buffer);
        Assert.Equal(expected.AsSpan(1_000_000, 100).ToArray(), buffer);
        stream.Seek(-5, SeekOrigin.End);
        Assert.Equal(5, stream.Read(new byte[64]));
        Assert.Equal(0, stream.Read(new byte[64]));
    }

    [Fact]
    public void AMissingOrTruncatedArchiveIsNIXIMG037()
    {
        var missing = Assert.Throws<NixImageException>(() => OciArchiveReader.Read(_temp.Combine("absent.tar")));
        Assert.Equal(ErrorCodes.ImageArchiveUnreadable, missing.Code);

        var archive = _temp.Combine("image.tar");
        OciArchiveWriter.Write(Image(), "shop/api", ["latest"], archive, ImageDefaults.Epoch, CancellationToken.None);
        var bytes = File.ReadAllBytes(archive);
        File.WriteAllBytes(archive, bytes[..(bytes.Length / 2)]);
        var truncated = Assert.Throws<NixImageException>(() => OciArchiveReader.Read(archive));
        Assert.Equal(ErrorCodes.ImageArchiveUnreadable, truncated.Code);
        Assert.Contains("image.tar", truncated.Message, StringComparison.Ordinal);
    }
}
