using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Nixery.Build.Layers;

namespace Nixery.Build.Tests.Layers;

/// <summary>
/// Reading what a base image's root holds at /etc/passwd, /etc/group, /etc, /tmp, /home and /home/app from tar layers
/// made in memory, stacked as a container runtime stacks them (top-most layer decides; whiteouts and opaque folders hide).
/// </summary>
public class BaseRootTests
{
    private const string RootLine = "root:x:0:0:root:/root:/bin/sh\n";
    private const string DaemonLine = "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n";

    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0777 = (UnixFileMode)0b111_111_111;
    private const UnixFileMode Mode0755 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    [Fact]
    public void NoLayersIsTheEmptyRoot() =>
        Assert.Equal(BaseRoot.Empty, BaseRoot.Read([]));

    [Fact]
    public void AllWantedPathsAreFoundInOneLayer()
    {
        var layer = Tar(TarEntryFormat.Pax, [
            Folder("./"),
            Folder("./etc/"),
            File("./etc/passwd", RootLine),
            File("./etc/group", "root:x:0:\n"),
            Folder("./tmp/"),
            Folder("./home/"),
            Folder("./home/app/"),
        ]);

        var root = BaseRoot.Read([Gzipped(layer)]);

        Assert.Equal(RootLine, Text(root.Passwd));
        Assert.Equal("root:x:0:\n", Text(root.Group));
        Assert.True(root.HasEtc);
        Assert.True(root.HasTmp);
        Assert.True(root.HasHome);
        Assert.True(root.HasHomeApp);
    }

    [Fact]
    public void PathsWithoutTheLeadingDotSlashCountToo()
    {
        var layer = Tar(TarEntryFormat.Gnu, [Folder("etc/"), File("etc/passwd", RootLine), Folder("tmp")]);

        var root = BaseRoot.Read([Gzipped(layer)]);

        Assert.Equal(RootLine, Text(root.Passwd));
        Assert.True(root.HasEtc);
        Assert.True(root.HasTmp);
        Assert.Null(root.Group);
        Assert.False(root.HasHome);
    }

    [Fact]
    public void PasswdFromTheTopMostLayerWins()
    {
        var bottom = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", RootLine), File("./etc/group", "root:x:0:\n")]);
        var top = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", RootLine + DaemonLine)]);

        var root = BaseRoot.Read([Gzipped(bottom), Gzipped(top)]);

        Assert.Equal(RootLine + DaemonLine, Text(root.Passwd));
        Assert.Equal("root:x:0:\n", Text(root.Group));

        var reversed = BaseRoot.Read([Gzipped(top), Gzipped(bottom)]);
        Assert.Equal(RootLine, Text(reversed.Passwd));
    }

    [Fact]
    public void AWhiteoutInAnUpperLayerHidesALowerPasswd()
    {
        var bottom = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", RootLine), File("./etc/group", "root:x:0:\n")]);
        var top = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/.wh.passwd", string.Empty)]);

        var root = BaseRoot.Read([Gzipped(bottom), Gzipped(top)]);

        Assert.Null(root.Passwd);
        Assert.Equal("root:x:0:\n", Text(root.Group));
        Assert.True(root.HasEtc);
    }

    [Fact]
    public void AWhiteoutOfAFolderHidesWhatIsInIt()
    {
        var bottom = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", RootLine), Folder("./home/"), Folder("./home/app/")]);
        var top = Tar(TarEntryFormat.Pax, [File("./.wh.etc", string.Empty), File("./.wh.home", string.Empty)]);

        var root = BaseRoot.Read([Gzipped(bottom), Gzipped(top)]);

        Assert.Null(root.Passwd);
        Assert.False(root.HasEtc);
        Assert.False(root.HasHome);
        Assert.False(root.HasHomeApp);
    }

    [Fact]
    public void ALayerAboveAWhiteoutCanAddThePathBack()
    {
        var bottom = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", RootLine)]);
        var middle = Tar(TarEntryFormat.Pax, [File("./etc/.wh.passwd", string.Empty)]);
        var top = Tar(TarEntryFormat.Pax, [File("./etc/passwd", DaemonLine)]);

        var root = BaseRoot.Read([Gzipped(bottom), Gzipped(middle), Gzipped(top)]);

        Assert.Equal(DaemonLine, Text(root.Passwd));
    }

    [Fact]
    public void AnOpaqueEtcHidesLowerFilesButKeepsItsOwnLayers()
    {
        var bottom = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", RootLine), File("./etc/group", "root:x:0:\n")]);
        var top = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/.wh..wh..opq", string.Empty), File("./etc/passwd", DaemonLine)]);

        var root = BaseRoot.Read([Gzipped(bottom), Gzipped(top)]);

        Assert.Equal(DaemonLine, Text(root.Passwd));
        Assert.Null(root.Group);
        Assert.True(root.HasEtc);
    }

    [Fact]
    public void AnOpaqueFolderHidesOnlyWhatIsInsideIt()
    {
        var bottom = Tar(TarEntryFormat.Pax, [Folder("./home/"), Folder("./home/app/"), Folder("./tmp/")]);
        var top = Tar(TarEntryFormat.Pax, [File("./home/.wh..wh..opq", string.Empty)]);

        var root = BaseRoot.Read([Gzipped(bottom), Gzipped(top)]);

        Assert.True(root.HasHome);
        Assert.False(root.HasHomeApp);
        Assert.True(root.HasTmp);
    }

    [Fact]
    public void ASymlinkedPasswdIsABaseFileWithoutContent()
    {
        var layer = Tar(TarEntryFormat.Pax, [
            Folder("./etc/"),
            new PaxTarEntry(TarEntryType.SymbolicLink, "./etc/passwd") { LinkName = "../usr/share/passwd", Mode = Mode0777 },
        ]);

        var root = BaseRoot.Read([Gzipped(layer)]);

        Assert.NotNull(root.Passwd);
        Assert.Null(root.Passwd.Content);
    }

    [Fact]
    public void ASymlinkOnTopHidesARegularPasswdBelow()
    {
        var bottom = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", RootLine)]);
        var top = Tar(TarEntryFormat.Pax, [new PaxTarEntry(TarEntryType.SymbolicLink, "./etc/passwd") { LinkName = "/usr/share/passwd" }]);

        var root = BaseRoot.Read([Gzipped(bottom), Gzipped(top)]);

        Assert.NotNull(root.Passwd);
        Assert.Null(root.Passwd.Content);
    }

    [Fact]
    public void PlainTarLayersAreReadToo()
    {
        var bottom = Tar(TarEntryFormat.Gnu, [Folder("./etc/"), File("./etc/group", "root:x:0:\n")]);
        var top = Tar(TarEntryFormat.Pax, [File("./etc/passwd", RootLine)]);

        var root = BaseRoot.Read([Plain(bottom), Gzipped(top)]);

        Assert.Equal(RootLine, Text(root.Passwd));
        Assert.Equal("root:x:0:\n", Text(root.Group));
        Assert.True(root.HasEtc);
    }

    [Fact]
    public void TheFilesModeIsRead()
    {
        var layer = Tar(TarEntryFormat.Pax, [
            Folder("./etc/"),
            File("./etc/passwd", RootLine, Mode0600),
            File("./etc/group", "root:x:0:\n", Mode0644),
        ]);

        var root = BaseRoot.Read([Plain(layer)]);

        Assert.Equal(Convert.ToInt32("600", 8), root.Passwd?.Mode);
        Assert.Equal(Convert.ToInt32("644", 8), root.Group?.Mode);
    }

    [Fact]
    public void LowerLayersAreNotOpenedOnceEveryPathIsDecided()
    {
        var top = Tar(TarEntryFormat.Pax, [
            Folder("./etc/"),
            File("./etc/passwd", RootLine),
            File("./etc/group", "root:x:0:\n"),
            File("./.wh.tmp", string.Empty),
            Folder("./home/"),
            Folder("./home/app/"),
        ]);

        var root = BaseRoot.Read([(() => throw new InvalidOperationException("the bottom layer was opened"), true), Gzipped(top)]);

        Assert.Equal(RootLine, Text(root.Passwd));
        Assert.False(root.HasTmp);
    }

    [Fact]
    public void GarbageThatIsNotGzipIsInvalidData()
    {
        var garbage = Encoding.ASCII.GetBytes("this is not a gzip stream, nor a tar archive");

        Assert.Throws<InvalidDataException>(() => BaseRoot.Read([(() => new MemoryStream(garbage), true)]));
    }

    [Fact]
    public void GzipOfSomethingThatIsNotATarIsInvalidData()
    {
        var notATar = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray();

        Assert.Throws<InvalidDataException>(() => BaseRoot.Read([Gzipped(notATar)]));
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(100)]
    public void APlainLayerThatIsNotATarIsInvalidData(int length)
    {
        var notATar = Encoding.ASCII.GetBytes(new string('x', length));

        Assert.Throws<InvalidDataException>(() => BaseRoot.Read([Plain(notATar)]));
    }

    [Fact]
    public void ATarCutShortIsInvalidData()
    {
        var whole = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", new string('r', 2000))]);
        var cut = whole[..(whole.Length / 2)];

        Assert.Throws<InvalidDataException>(() => BaseRoot.Read([Plain(cut)]));
        Assert.Throws<InvalidDataException>(() => BaseRoot.Read([Gzipped(cut)]));
    }

    [Theory]
    [InlineData("./.wh..wh..opq")]
    [InlineData(".wh..wh..opq")]
    [InlineData("/.wh..wh..opq")]
    public void AnOpaqueWhiteoutAtTheRootHidesEveryLowerPath(string opaque)
    {
        var bottom = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", RootLine), File("./etc/group", "root:x:0:\n"), Folder("./tmp/"), Folder("./home/")]);
        var top = Tar(TarEntryFormat.Pax, [File(opaque, string.Empty), Folder("./srv/")]);

        var root = BaseRoot.Read([Gzipped(bottom), Gzipped(top)]);

        Assert.Equal(BaseRoot.Empty, root);
    }

    [Theory]
    [InlineData("./etc/.wh.passwd")]
    [InlineData("etc/.wh.passwd")]
    [InlineData("/etc/.wh.passwd")]
    [InlineData(".//etc/.wh.passwd")]
    [InlineData("././etc/.wh.passwd")]
    public void AWhiteoutHidesThePathInEverySpelling(string whiteout)
    {
        var bottom = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", RootLine)]);
        var top = Tar(TarEntryFormat.Pax, [File(whiteout, string.Empty)]);

        var root = BaseRoot.Read([Gzipped(bottom), Gzipped(top)]);

        Assert.Null(root.Passwd);
        Assert.True(root.HasEtc);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("./etc/passwd")]
    [InlineData("etc//passwd/")]
    public void AnOpaqueEtcWrittenWithALeadingSlashHidesTheLowerPasswd(string passwdSpelling)
    {
        var bottom = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File(passwdSpelling, RootLine)]);
        var top = Tar(TarEntryFormat.Pax, [Folder("/etc/"), File("/etc/.wh..wh..opq", string.Empty)]);

        var root = BaseRoot.Read([Gzipped(bottom), Gzipped(top)]);

        Assert.Null(root.Passwd);
        Assert.True(root.HasEtc);
    }

    [Fact]
    public void DiffIdsThatMatchAreAcceptedAndEveryLayerIsRead()
    {
        var bottom = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", RootLine)]);
        var top = Tar(TarEntryFormat.Pax, [Folder("./tmp/")]);

        var root = BaseRoot.Read([Gzipped(bottom), Plain(top)], [DiffId(bottom), DiffId(top)]);

        Assert.Equal(RootLine, Text(root.Passwd));
    }

    [Fact]
    public void ADiffIdThatDoesNotMatchItsLayerIsRefused()
    {
        var bottom = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", RootLine)]);
        var top = Tar(TarEntryFormat.Pax, [Folder("./tmp/"), Folder("./etc/"), File("./etc/passwd", RootLine), File("./etc/group", "g\n"), Folder("./home/"), Folder("./home/app/")]);

        // The bottom layer would not be read without diff IDs (the top decides every path): with them it is, and checked.
        var error = Assert.Throws<DiffIdMismatchException>(() => BaseRoot.Read([Gzipped(bottom), Gzipped(top)], [DiffId(top), DiffId(top)]));

        Assert.Equal(1, error.Layer);
        Assert.Contains(DiffId(top), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BytesAfterTheEndOfTheArchiveCountTowardsTheDiffId()
    {
        var layer = Tar(TarEntryFormat.Pax, [Folder("./etc/")]);
        byte[] padded = [.. layer, .. new byte[4096]];

        Assert.Throws<DiffIdMismatchException>(() => BaseRoot.Read([Plain(padded)], [DiffId(layer)]));
        BaseRoot.Read([Plain(padded)], [DiffId(padded)]);
    }

    [Fact]
    public void APasswdOverOneMebibyteIsTooLargeNotAbsent()
    {
        var layer = Tar(TarEntryFormat.Pax, [Folder("./etc/"), File("./etc/passwd", RootLine + new string('#', BaseRoot.MaxFileSize))]);

        var root = BaseRoot.Read([Plain(layer)]);

        Assert.NotNull(root.Passwd);
        Assert.Null(root.Passwd.Content);
        Assert.True(root.Passwd.TooLarge);
        Assert.NotNull(UserDatabase.WhyAppCannotBeAdded(root));
    }

    private static string DiffId(byte[] tar) => "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(tar));

    private static string? Text(BaseFile? file) => file?.Content is { } content ? Encoding.UTF8.GetString(content) : null;

    private static PaxTarEntry Folder(string name) => new PaxTarEntry(TarEntryType.Directory, name) { Mode = Mode0755 };

    private static PaxTarEntry File(string name, string content, UnixFileMode mode = Mode0644) =>
        new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = mode, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };

    /// <summary>A tar of <paramref name="entries"/>, in <paramref name="format"/> (PAX entries are converted to it).</summary>
    private static byte[] Tar(TarEntryFormat format, IEnumerable<TarEntry> entries)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, format, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                writer.WriteEntry(format == TarEntryFormat.Gnu ? new GnuTarEntry(entry) : entry);
            }
        }

        return buffer.ToArray();
    }

    private static (Func<Stream> Open, bool Gzip) Plain(byte[] tar) => (() => new MemoryStream(tar), false);

    private static (Func<Stream> Open, bool Gzip) Gzipped(byte[] tar)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(tar);
        }

        var bytes = buffer.ToArray();
        return (() => new MemoryStream(bytes), true);
    }
}
