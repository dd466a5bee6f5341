using Nixery.Build.LayerFormat;

namespace Nixery.Build.Tests.LayerFormat;

public class FilePatchTests
{
    private static byte[] Read(Stream stream, int chunk)
    {
        var output = new MemoryStream();
        var buffer = new byte[chunk];
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            output.Write(buffer, 0, read);
        }

        return output.ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(4096)]
    public void EditsAreOverlaidAndTheTailAppendedWhateverTheReadSize(int chunk)
    {
        //  original: 0123456789
        //  edits:      ab   XYZ     (at 2 and 6)
        //  appended:             !!
        var original = "0123456789"u8.ToArray();
        var patch = new FilePatch([new FileEdit(6, "XYZ"u8.ToArray()), new FileEdit(2, "ab"u8.ToArray())], "!!"u8.ToArray());

        using var patched = patch.Apply(new MemoryStream(original), original.Length);

        Assert.Equal("01ab45XYZ9!!"u8.ToArray(), Read(patched, chunk));
        Assert.Equal(12, patched.Length);
    }

    [Fact]
    public void OverlappingEditsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => new FilePatch([new FileEdit(0, new byte[4]), new FileEdit(3, new byte[1])], default));
    }

    [Fact]
    public void EditPastTheEndIsRefused()
    {
        var patch = new FilePatch([new FileEdit(8, new byte[4])], default);

        Assert.Throws<ArgumentException>(() => patch.Apply(new MemoryStream(new byte[10]), 10));
    }

    [Fact]
    public void FingerprintChangesWithAnyByte()
    {
        var a = new FilePatch([new FileEdit(1, new byte[] { 1 })], new byte[] { 2 });
        var b = new FilePatch([new FileEdit(1, new byte[] { 1 })], new byte[] { 3 });
        var c = new FilePatch([new FileEdit(2, new byte[] { 1 })], new byte[] { 2 });

        Assert.Equal(a.Fingerprint(), new FilePatch([new FileEdit(1, new byte[] { 1 })], new byte[] { 2 }).Fingerprint());
        Assert.NotEqual(a.Fingerprint(), b.Fingerprint());
        Assert.NotEqual(a.Fingerprint(), c.Fingerprint());
    }
}
