using Nixery.Build.LayerFormat;
using Nixery.Build.Layers;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Layers;

public sealed class StoreLayerTests : IDisposable
{
    private const UnixFileMode Mode0444 = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode0555 = Mode0444 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private readonly TempDirectory _temp = new();
    private readonly string _hello;
    private readonly string _zlib;
    private readonly string _script;

    public StoreLayerTests()
    {
        // A folder that looks like a Nix store: <temp>/nix/store/<hash>-<name>, read-only as Nix leaves it.
        _temp.CreateFile("nix/store/bbbb-zlib-1.3/lib/libz.so.1", "zlib", Mode0444);
        _temp.CreateSymlink("nix/store/bbbb-zlib-1.3/lib/libz.so", "libz.so.1");
        _temp.CreateFile("nix/store/aaaa-hello-2.12/bin/hello", "#!hello", Mode0555);
        _temp.CreateFile("nix/store/aaaa-hello-2.12/share/doc", "doc", Mode0444);
        _script = _temp.CreateFile("nix/store/cccc-script.sh", "#!/bin/sh", Mode0555);
        foreach (var folder in new[] { "bbbb-zlib-1.3/lib", "bbbb-zlib-1.3", "aaaa-hello-2.12/bin", "aaaa-hello-2.12/share", "aaaa-hello-2.12" })
        {
            File.SetUnixFileMode(_temp.Combine("nix/store/" + folder), Mode0555);
        }

        _hello = _temp.Combine("nix/store/aaaa-hello-2.12");
        _zlib = _temp.Combine("nix/store/bbbb-zlib-1.3");
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void StoreFolderAndItsParentsComeFirstThenPathsInOrdinalOrder()
    {
        var entries = StoreLayer.Entries([_script, _zlib, _hello], DiskStore.Instance).ToList();

        var store = _temp.Combine("nix/store").TrimStart('/');
        var parents = store.Split('/').Select((_, i) => string.Join('/', store.Split('/')[..(i + 1)])).ToList();
        var hello = _hello.TrimStart('/');
        var zlib = _zlib.TrimStart('/');
        List<LayerEntry> expected =
        [
            .. parents.Select(p => new DirectoryEntry(p, UnixModes.Executable)),
            new DirectoryEntry(hello, (int)Mode0555),
            new DirectoryEntry(hello + "/bin", (int)Mode0555),
            new FileEntry(hello + "/bin/hello", (int)Mode0555, _hello + "/bin/hello", 7),
            new DirectoryEntry(hello + "/share", (int)Mode0555),
            new FileEntry(hello + "/share/doc", (int)Mode0444, _hello + "/share/doc", 3),
            new DirectoryEntry(zlib, (int)Mode0555),
            new DirectoryEntry(zlib + "/lib", (int)Mode0555),
            new SymlinkEntry(zlib + "/lib/libz.so", "libz.so.1"),
            new FileEntry(zlib + "/lib/libz.so.1", (int)Mode0444, _zlib + "/lib/libz.so.1", 4),
            new FileEntry(_script.TrimStart('/'), (int)Mode0555, _script, 9),
        ];
        Assert.Equal(expected, entries);
        Assert.EndsWith("/nix", parents[^2], StringComparison.Ordinal);
        Assert.EndsWith("/nix/store", parents[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void OrderOfTheGivenPathsDoesNotMatter()
    {
        Assert.Equal(StoreLayer.Entries([_hello, _zlib, _script], DiskStore.Instance), StoreLayer.Entries([_script, _hello, _zlib], DiskStore.Instance));
    }

    [Fact]
    public void NoPathsGiveNoEntries()
    {
        Assert.Empty(StoreLayer.Entries([], DiskStore.Instance));
    }
}
