using Nixery.Build.Diagnostics;
using Nixery.Build.LayerFormat;
using Nixery.Build.Layers;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Layers;

public sealed class SymlinkLayerTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly RecordingLog _log = new();
    private readonly string _coreutils;
    private readonly string _jq;

    public SymlinkLayerTests()
    {
        _coreutils = _temp.CreateDirectory("store/aaaa-coreutils");
        _temp.CreateFile("store/aaaa-coreutils/bin/ls", "ls");
        _temp.CreateFile("store/aaaa-coreutils/bin/env", "env");
        _temp.CreateFile("store/aaaa-coreutils/share/man/man1/ls.1", "ls(1)");
        _jq = _temp.CreateDirectory("store/bbbb-jq");
        _temp.CreateFile("store/bbbb-jq/bin/jq", "jq");
        _temp.CreateFile("store/bbbb-jq/lib/libjq.so", "libjq");
        _temp.CreateFile("store/bbbb-jq/share/man/man1/jq.1", "jq(1)");
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void JoinsPackagesIntoRealFoldersWithSymlinksToTheirFiles()
    {
        var entries = SymlinkLayer.Build([_coreutils, _jq], DiskStore.Instance, _log);

        Assert.Equal<LayerEntry>(
            [
                new DirectoryEntry("bin", UnixModes.Executable),
                new SymlinkEntry("bin/env", _coreutils + "/bin/env"),
                new SymlinkEntry("bin/jq", _jq + "/bin/jq"),
                new SymlinkEntry("bin/ls", _coreutils + "/bin/ls"),
                new DirectoryEntry("lib", UnixModes.Executable),
                new SymlinkEntry("lib/libjq.so", _jq + "/lib/libjq.so"),
                new DirectoryEntry("share", UnixModes.Executable),
                new DirectoryEntry("share/man", UnixModes.Executable),
                new DirectoryEntry("share/man/man1", UnixModes.Executable),
                new SymlinkEntry("share/man/man1/jq.1", _jq + "/share/man/man1/jq.1"),
                new SymlinkEntry("share/man/man1/ls.1", _coreutils + "/share/man/man1/ls.1"),
                new DirectoryEntry("tmp", UnixModes.StickyWorldWritable),
                new DirectoryEntry("usr", UnixModes.Executable),
                new DirectoryEntry("usr/bin", UnixModes.Executable),
                new SymlinkEntry("usr/bin/env", _coreutils + "/bin/env"),
            ],
            entries);
        Assert.Empty(_log.Warnings);
    }

    [Fact]
    public void SamePackageTwiceGivesIdenticalTargetsAndNoWarning()
    {
        var entries = SymlinkLayer.Build([_jq, _jq], DiskStore.Instance, _log);

        Assert.Equal(SymlinkLayer.Build([_jq], DiskStore.Instance, new RecordingLog()), entries);
        Assert.Empty(_log.Warnings);
    }

    [Fact]
    public void LinksThatLeadToTheSameFileDoNotCollide()
    {
        // busybox/bin/ls is the file; applets/bin/ls is a symlink to it (as coreutils-on-busybox is).
        var busybox = _temp.CreateDirectory("store/dddd-busybox");
        var binary = _temp.CreateFile("store/dddd-busybox/bin/ls", "busybox");
        var applets = _temp.CreateDirectory("store/eeee-applets");
        _temp.CreateSymlink("store/eeee-applets/bin/ls", binary);

        var entries = SymlinkLayer.Build([applets, busybox], DiskStore.Instance, _log);

        Assert.Empty(_log.Warnings);
        Assert.Contains(new SymlinkEntry("bin/ls", applets + "/bin/ls"), entries);
    }

    [Fact]
    public void CollisionWarnsAndTheFirstPackageWins()
    {
        var busybox = _temp.CreateDirectory("store/cccc-busybox");
        _temp.CreateFile("store/cccc-busybox/bin/ls", "busybox ls");

        var coreutilsFirst = SymlinkLayer.Build([_coreutils, busybox], DiskStore.Instance, _log);

        Assert.Contains(new SymlinkEntry("bin/ls", _coreutils + "/bin/ls"), coreutilsFirst);
        var (code, message) = Assert.Single(_log.Warnings);
        Assert.Equal(ErrorCodes.SymlinkCollision, code);
        Assert.Equal("NIXIMG014", code);
        Assert.Contains("/bin/ls", message, StringComparison.Ordinal);
        Assert.Contains(_coreutils, message, StringComparison.Ordinal);
        Assert.Contains(busybox, message, StringComparison.Ordinal);

        var busyboxFirst = SymlinkLayer.Build([busybox, _coreutils], DiskStore.Instance, new RecordingLog());
        Assert.Contains(new SymlinkEntry("bin/ls", busybox + "/bin/ls"), busyboxFirst);
    }

    [Fact]
    public void FileAgainstFolderIsACollisionToo()
    {
        var odd = _temp.CreateDirectory("store/dddd-odd");
        _temp.CreateFile("store/dddd-odd/share", "a file where others have a folder");

        var entries = SymlinkLayer.Build([_coreutils, odd], DiskStore.Instance, _log);

        Assert.Contains(new DirectoryEntry("share", UnixModes.Executable), entries);
        Assert.DoesNotContain(entries, e => e is SymlinkEntry { Path: "share" });
        Assert.Equal(ErrorCodes.SymlinkCollision, Assert.Single(_log.Warnings).Code);
    }

    [Fact]
    public void TmpIsAlwaysPresentWithMode1777()
    {
        var withTmp = _temp.CreateDirectory("store/eeee-with-tmp");
        _temp.CreateFile("store/eeee-with-tmp/tmp/.keep", string.Empty);

        var bare = SymlinkLayer.Build([], DiskStore.Instance, _log);
        var provided = SymlinkLayer.Build([withTmp], DiskStore.Instance, _log);

        Assert.Equal<LayerEntry>([new DirectoryEntry("tmp", UnixModes.StickyWorldWritable)], bare);
        Assert.Equal(0x3FF, UnixModes.StickyWorldWritable);
        Assert.Equal(new DirectoryEntry("tmp", UnixModes.StickyWorldWritable), Assert.Single(provided, e => e.Path == "tmp"));
    }

    [Fact]
    public void UsrBinEnvOnlyWhenSomePackageHasBinEnv()
    {
        var withEnv = SymlinkLayer.Build([_jq, _coreutils], DiskStore.Instance, _log);
        var withoutEnv = SymlinkLayer.Build([_jq], DiskStore.Instance, _log);

        Assert.Contains(new SymlinkEntry("usr/bin/env", _coreutils + "/bin/env"), withEnv);
        Assert.DoesNotContain(withoutEnv, e => e.Path.StartsWith("usr", StringComparison.Ordinal));
    }

    [Fact]
    public void UsrBinEnvJoinsAnExistingUsrBin()
    {
        var perl = _temp.CreateDirectory("store/ffff-perl");
        _temp.CreateFile("store/ffff-perl/usr/bin/perl", "perl");

        var entries = SymlinkLayer.Build([perl, _coreutils], DiskStore.Instance, _log);

        Assert.Contains(new SymlinkEntry("usr/bin/perl", perl + "/usr/bin/perl"), entries);
        Assert.Contains(new SymlinkEntry("usr/bin/env", _coreutils + "/bin/env"), entries);
        Assert.Single(entries, e => e.Path == "usr/bin");
    }

    [Fact]
    public void PackageThatIsASingleFileIsSkipped()
    {
        var script = _temp.CreateFile("store/gggg-script.sh", "#!/bin/sh");

        var entries = SymlinkLayer.Build([script, _jq], DiskStore.Instance, _log);

        Assert.Equal(SymlinkLayer.Build([_jq], DiskStore.Instance, new RecordingLog()), entries);
        Assert.Contains(_log.Lines, line => line.Contains(script, StringComparison.Ordinal));
        Assert.Empty(_log.Warnings);
    }

    [Fact]
    public void SymlinkedFolderInAPackageIsLinkedNotMerged()
    {
        var glibc = _temp.CreateDirectory("store/hhhh-glibc");
        _temp.CreateFile("store/hhhh-glibc/lib/ld-linux-x86-64.so.2", "ld");
        _temp.CreateSymlink("store/hhhh-glibc/lib64", "lib");

        var entries = SymlinkLayer.Build([glibc], DiskStore.Instance, _log);

        Assert.Contains(new SymlinkEntry("lib64", glibc + "/lib64"), entries);
        Assert.DoesNotContain(entries, e => e.Path.StartsWith("lib64/", StringComparison.Ordinal));
    }

    [Fact]
    public void EntriesAreInOrdinalPathOrder()
    {
        var entries = SymlinkLayer.Build([_coreutils, _jq], DiskStore.Instance, _log);

        Assert.Equal(entries.Select(e => e.Path).Order(StringComparer.Ordinal), entries.Select(e => e.Path));
    }

    [Fact]
    public void UserDatabaseAndHomeAreAddedWithTheirOwners()
    {
        var entries = SymlinkLayer.Build([_coreutils, _jq], UserDatabase.Entries(), DiskStore.Instance, _log);

        var passwd = Assert.IsType<InlineFileEntry>(Assert.Single(entries, e => e.Path == "etc/passwd"));
        Assert.Contains("app:x:1654:1654:app:/home/app:", System.Text.Encoding.ASCII.GetString(passwd.Content.Span), StringComparison.Ordinal);
        Assert.Equal(UnixModes.Regular, passwd.Mode);
        Assert.Single(entries, e => e.Path == "etc/group");
        var home = Assert.IsType<DirectoryEntry>(Assert.Single(entries, e => e.Path == "home/app"));
        Assert.Equal((1654, 1654), (home.Uid, home.Gid));
        Assert.All(entries.Where(e => e.Path != "home/app"), e => Assert.Equal((0, 0), (e.Uid, e.Gid)));
        Assert.Equal(entries.Select(e => e.Path).Order(StringComparer.Ordinal), entries.Select(e => e.Path));
        Assert.Empty(_log.Warnings);
    }

    [Fact]
    public void PackagePasswdIsReplacedWithAWarning()
    {
        var shadow = _temp.CreateDirectory("store/ffff-shadow");
        _temp.CreateFile("store/ffff-shadow/etc/passwd", "root:x:0:0::/:/bin/false\n");

        var entries = SymlinkLayer.Build([shadow], UserDatabase.Entries(), DiskStore.Instance, _log);

        Assert.IsType<InlineFileEntry>(Assert.Single(entries, e => e.Path == "etc/passwd"));
        var (code, message) = Assert.Single(_log.Warnings);
        Assert.Equal("NIXIMG023", code);
        Assert.Contains("/etc/passwd", message, StringComparison.Ordinal);
        Assert.Contains(shadow, message, StringComparison.Ordinal);
    }
}
