using System.Text;
using Nixery.Build.LayerFormat;
using Nixery.Build.Layers;

namespace Nixery.Build.Tests.Layers;

/// <summary>
/// What an image built on a base image adds to the base's root: the app user and group appended to the base's
/// /etc/passwd and /etc/group (or this package's files where the base has none), /home/app, /tmp and /etc when missing.
/// </summary>
public class UserDatabaseOverBaseTests
{
    private const string BasePasswd = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n";
    private const string BaseGroup = "root:x:0:\ndaemon:x:1:\n";

    private static readonly int Mode0600 = Convert.ToInt32("600", 8);
    private static readonly int Mode0640 = Convert.ToInt32("640", 8);

    /// <summary>A base with /etc, /tmp and /home but no app user, as Debian's is.</summary>
    private static readonly BaseRoot Debian = new(
        new BaseFile(Encoding.ASCII.GetBytes(BasePasswd), UnixModes.Regular),
        new BaseFile(Encoding.ASCII.GetBytes(BaseGroup), UnixModes.Regular),
        HasEtc: true,
        HasTmp: true,
        HasHome: true,
        HasHomeApp: false);

    /// <summary>This package's own /etc/passwd, the one an image without a base gets.</summary>
    private static string PackagePasswd => Inline(UserDatabase.Entries(), "etc/passwd");

    private static string PackageGroup => Inline(UserDatabase.Entries(), "etc/group");

    /// <summary>The app user's line of this package's /etc/passwd.</summary>
    private static string AppPasswdLine => Line(PackagePasswd, "app:");

    private static string AppGroupLine => Line(PackageGroup, "app:");

    [Fact]
    public void TheAppLinesAreTheUserAndGroup1654()
    {
        Assert.Equal($"app:x:{UserDatabase.AppUid}:{UserDatabase.AppUid}:app:{UserDatabase.AppHome}:/bin/sh\n", AppPasswdLine);
        Assert.Equal($"app:x:{UserDatabase.AppUid}:\n", AppGroupLine);
    }

    [Fact]
    public void ABaseWithoutAppGainsItAtTheEndOfItsOwnFiles()
    {
        var entries = UserDatabase.EntriesOver(Debian);

        Assert.Equal(BasePasswd + AppPasswdLine, Inline(entries, "etc/passwd"));
        Assert.Equal(BaseGroup + AppGroupLine, Inline(entries, "etc/group"));
        Assert.Equal(
            new DirectoryEntry("home/app", UnixModes.Executable) { Uid = UserDatabase.AppUid, Gid = UserDatabase.AppUid },
            Assert.Single(entries, e => e.Path == "home/app"));
        Assert.DoesNotContain(entries, e => e.Path is "etc" or "home" or "tmp");
        Assert.Equal(["etc/passwd", "etc/group", "home/app"], entries.Select(e => e.Path));
    }

    [Fact]
    public void TheBasesModeIsKept()
    {
        var root = Debian with
        {
            Passwd = Debian.Passwd! with { Mode = Mode0600 },
            Group = Debian.Group! with { Mode = Mode0640 },
        };

        var entries = UserDatabase.EntriesOver(root);

        Assert.Equal(Mode0600, Assert.IsType<InlineFileEntry>(Assert.Single(entries, e => e.Path == "etc/passwd")).Mode);
        Assert.Equal(Mode0640, Assert.IsType<InlineFileEntry>(Assert.Single(entries, e => e.Path == "etc/group")).Mode);
    }

    [Fact]
    public void AMissingTrailingNewlineIsAddedBeforeTheAppLine()
    {
        var root = Debian with
        {
            Passwd = new BaseFile(Encoding.ASCII.GetBytes(BasePasswd.TrimEnd('\n')), UnixModes.Regular),
            Group = new BaseFile(Encoding.ASCII.GetBytes(BaseGroup.TrimEnd('\n')), UnixModes.Regular),
        };

        var entries = UserDatabase.EntriesOver(root);

        Assert.Equal(BasePasswd + AppPasswdLine, Inline(entries, "etc/passwd"));
        Assert.Equal(BaseGroup + AppGroupLine, Inline(entries, "etc/group"));
    }

    [Fact]
    public void AnEmptyBaseFileGetsJustTheAppLine()
    {
        var root = Debian with { Passwd = new BaseFile([], UnixModes.Regular) };

        Assert.Equal(AppPasswdLine, Inline(UserDatabase.EntriesOver(root), "etc/passwd"));
    }

    [Fact]
    public void TheBasesBytesAreKeptAsTheyAre()
    {
        // A gecos field in Latin-1 (é is 0xE9), as older systems wrote it: not UTF-8, yet the file must only grow.
        var latin1 = Encoding.Latin1.GetBytes("root:x:0:0:root:/root:/bin/sh\njose:x:1000:1000:Jos\u00e9:/home/jose:/bin/sh\n");
        var root = Debian with { Passwd = new BaseFile(latin1, UnixModes.Regular) };

        var passwd = Assert.IsType<InlineFileEntry>(Assert.Single(UserDatabase.EntriesOver(root), e => e.Path == "etc/passwd"));

        Assert.Equal([.. latin1, .. Encoding.ASCII.GetBytes(AppPasswdLine)], passwd.Content.ToArray());
    }

    [Theory]
    [InlineData("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n")]
    [InlineData("root:x:0:0:root:/root:/bin/sh\ndotnet:x:1654:1654::/home/dotnet:/bin/sh\n")]
    [InlineData("app:x:1654:1654:app:/home/app:/bin/sh")]
    public void ABaseWithAnAppUserByNameOrUidGetsNoPasswdAndNoHome(string passwd)
    {
        var root = Debian with { Passwd = new BaseFile(Encoding.ASCII.GetBytes(passwd), UnixModes.Regular) };

        var entries = UserDatabase.EntriesOver(root);

        Assert.DoesNotContain(entries, e => e.Path == "etc/passwd");
        Assert.DoesNotContain(entries, e => e.Path.StartsWith("home", StringComparison.Ordinal));
        Assert.Equal(BaseGroup + AppGroupLine, Inline(entries, "etc/group"));
    }

    [Theory]
    [InlineData("root:x:0:\napp:x:1000:\n")]
    [InlineData("root:x:0:\ndotnet:x:1654:\n")]
    public void ABaseWithAnAppGroupByNameOrGidGetsNoGroup(string group)
    {
        var root = Debian with { Group = new BaseFile(Encoding.ASCII.GetBytes(group), UnixModes.Regular) };

        var entries = UserDatabase.EntriesOver(root);

        Assert.DoesNotContain(entries, e => e.Path == "etc/group");
        Assert.Equal(BasePasswd + AppPasswdLine, Inline(entries, "etc/passwd"));
    }

    [Theory]
    [InlineData("application:x:1000:1000::/home/application:/bin/sh\n")]
    [InlineData("svc:x:1000:1654::/home/svc:/bin/sh\n")]
    [InlineData("svc:x:16540:16540::/home/svc:/bin/sh\n")]
    public void OnlyTheNameOrTheUidFieldMarkTheAppUser(string passwd)
    {
        var root = Debian with { Passwd = new BaseFile(Encoding.ASCII.GetBytes(passwd), UnixModes.Regular) };

        Assert.Equal(passwd + AppPasswdLine, Inline(UserDatabase.EntriesOver(root), "etc/passwd"));
    }

    [Fact]
    public void ABaseWithoutPasswdOrGroupGetsThisPackagesFiles()
    {
        var root = Debian with { Passwd = null, Group = null };

        var entries = UserDatabase.EntriesOver(root);

        Assert.Equal(PackagePasswd, Inline(entries, "etc/passwd"));
        Assert.Equal(PackageGroup, Inline(entries, "etc/group"));
        Assert.Equal(UnixModes.Regular, Assert.IsType<InlineFileEntry>(Assert.Single(entries, e => e.Path == "etc/passwd")).Mode);
        Assert.Equal(
            UserDatabase.UserNames,
            PackagePasswd.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':')[0]));
        Assert.Contains(entries, e => e.Path == "home/app");
    }

    [Fact]
    public void ASymlinkedPasswdIsLeftAloneAndNoHomeIsMade()
    {
        var root = Debian with { Passwd = new BaseFile(null, UnixModes.Symlink) };

        var entries = UserDatabase.EntriesOver(root);

        Assert.DoesNotContain(entries, e => e.Path == "etc/passwd");
        Assert.DoesNotContain(entries, e => e.Path == "home/app");
        Assert.Equal(BaseGroup + AppGroupLine, Inline(entries, "etc/group"));
    }

    [Fact]
    public void ASymlinkedGroupIsLeftAlone()
    {
        var root = Debian with { Group = new BaseFile(null, UnixModes.Symlink) };

        var entries = UserDatabase.EntriesOver(root);

        Assert.DoesNotContain(entries, e => e.Path == "etc/group");
        Assert.Equal(BasePasswd + AppPasswdLine, Inline(entries, "etc/passwd"));
    }

    [Fact]
    public void HomeIsAddedOnlyWhenTheBaseLacksIt()
    {
        var withoutHome = UserDatabase.EntriesOver(Debian with { HasHome = false });
        var withHome = UserDatabase.EntriesOver(Debian);

        Assert.Equal(new DirectoryEntry("home", UnixModes.Executable), Assert.Single(withoutHome, e => e.Path == "home"));
        Assert.DoesNotContain(withHome, e => e.Path == "home");
        Assert.Contains(withHome, e => e.Path == "home/app");
    }

    [Fact]
    public void ABaseWithHomeAppKeepsIt()
    {
        var entries = UserDatabase.EntriesOver(Debian with { HasHomeApp = true });

        Assert.Contains(entries, e => e.Path == "etc/passwd");
        Assert.DoesNotContain(entries, e => e.Path.StartsWith("home", StringComparison.Ordinal));
    }

    [Fact]
    public void TmpIsAddedWithMode1777OnlyWhenTheBaseLacksIt()
    {
        var withoutTmp = UserDatabase.EntriesOver(Debian with { HasTmp = false });

        Assert.Equal(new DirectoryEntry("tmp", UnixModes.StickyWorldWritable), Assert.Single(withoutTmp, e => e.Path == "tmp"));
        Assert.Equal(UnixModes.StickyWorldWritable, Convert.ToInt32("1777", 8));
        Assert.DoesNotContain(UserDatabase.EntriesOver(Debian), e => e.Path == "tmp");
    }

    [Fact]
    public void EtcIsAddedOnlyWhenTheBaseLacksIt()
    {
        var withoutEtc = UserDatabase.EntriesOver(Debian with { HasEtc = false, Passwd = null, Group = null });

        Assert.Equal(new DirectoryEntry("etc", UnixModes.Executable), Assert.Single(withoutEtc, e => e.Path == "etc"));
        Assert.DoesNotContain(UserDatabase.EntriesOver(Debian), e => e.Path == "etc");
    }

    [Fact]
    public void AnEmptyBaseGetsEverythingFoldersBeforeWhatIsInThem()
    {
        var entries = UserDatabase.EntriesOver(BaseRoot.Empty);

        Assert.Equal(["etc", "etc/passwd", "etc/group", "home", "home/app", "tmp"], entries.Select(e => e.Path));
        Assert.Equal(PackagePasswd, Inline(entries, "etc/passwd"));
        Assert.Equal(PackageGroup, Inline(entries, "etc/group"));
        foreach (var entry in entries)
        {
            var parent = Path.GetDirectoryName(entry.Path);
            Assert.True(string.IsNullOrEmpty(parent) || entries.TakeWhile(e => e != entry).Any(e => e.Path == parent), $"{entry.Path} comes before its folder");
        }
    }

    private static string Inline(IReadOnlyList<LayerEntry> entries, string path) =>
        Encoding.UTF8.GetString(Assert.IsType<InlineFileEntry>(Assert.Single(entries, e => e.Path == path)).Content.Span);

    private static string Line(string file, string prefix) =>
        file.Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal)) + "\n";
}
