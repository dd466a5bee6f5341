using Nixery.Build.LayerFormat;
using Nixery.Build.Layers;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Layers;

public sealed class AppLayerTests : IDisposable
{
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0700 = Mode0600 | UnixFileMode.UserExecute;

    private readonly TempDirectory _temp = new();
    private readonly string _publish;

    public AppLayerTests()
    {
        _publish = _temp.CreateDirectory("publish", Mode0700);
        _temp.CreateFile("publish/HelloNix", "apphost", Mode0700);
        _temp.CreateFile("publish/HelloNix.dll", "il", Mode0600);
        _temp.CreateFile("publish/runtimes/linux-x64/native/libe_sqlite3.so", "native", Mode0700);
        File.SetUnixFileMode(_temp.Combine("publish/runtimes"), Mode0700);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void AppGoesUnderAppWithNormalizedModes()
    {
        var entries = AppLayer.Entries(_publish, "/app").ToList();

        Assert.Equal<LayerEntry>(
            [
                new DirectoryEntry("app", UnixModes.Executable),
                new FileEntry("app/HelloNix", UnixModes.Executable, _publish + "/HelloNix", 7),
                new FileEntry("app/HelloNix.dll", UnixModes.Regular, _publish + "/HelloNix.dll", 2),
                new DirectoryEntry("app/runtimes", UnixModes.Executable),
                new DirectoryEntry("app/runtimes/linux-x64", UnixModes.Executable),
                new DirectoryEntry("app/runtimes/linux-x64/native", UnixModes.Executable),
                new FileEntry("app/runtimes/linux-x64/native/libe_sqlite3.so", UnixModes.Executable, _publish + "/runtimes/linux-x64/native/libe_sqlite3.so", 6),
            ],
            entries);
    }

    [Fact]
    public void NestedWorkingDirectoryBringsItsParents()
    {
        var paths = AppLayer.Entries(_publish, "/srv/my/app").Select(e => e.Path).Take(4);

        Assert.Equal(["srv", "srv/my", "srv/my/app", "srv/my/app/HelloNix"], paths);
        Assert.All(
            AppLayer.Entries(_publish, "/srv/my/app").OfType<DirectoryEntry>(),
            d => Assert.Equal(UnixModes.Executable, d.Mode));
    }

    [Fact]
    public void TrailingSlashOfTheWorkingDirectoryIsIgnored()
    {
        Assert.Equal(AppLayer.Entries(_publish, "/srv/app"), AppLayer.Entries(_publish, "/srv/app/"));
    }

    [Fact]
    public void SymlinksInThePublishFolderStaySymlinks()
    {
        _temp.CreateSymlink("publish/current", "HelloNix.dll");

        Assert.Contains(new SymlinkEntry("app/current", "HelloNix.dll"), AppLayer.Entries(_publish, "/app"));
    }
}
