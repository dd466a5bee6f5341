using Nixery.Build.Diagnostics;
using Nixery.Build.LayerFormat;
using Nixery.Build.Layers;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Layers;

/// <summary>
/// The symlink layer of an image built on a base image: the packages' joined tree under the profile folder, nothing of
/// it at the root (the base's /bin, /lib and /etc stay), plus what the base's root gains.
/// </summary>
public sealed class SymlinkLayerOverBaseTests : IDisposable
{
    private static readonly string Profile = SymlinkLayer.ProfilePath.TrimStart('/');

    private readonly TempDirectory _temp = new();
    private readonly RecordingLog _log = new();
    private readonly string _coreutils;
    private readonly string _jq;

    public SymlinkLayerOverBaseTests()
    {
        _coreutils = _temp.CreateDirectory("store/aaaa-coreutils");
        _temp.CreateFile("store/aaaa-coreutils/bin/ls", "ls");
        _temp.CreateFile("store/aaaa-coreutils/bin/env", "env");
        _jq = _temp.CreateDirectory("store/bbbb-jq");
        _temp.CreateFile("store/bbbb-jq/bin/jq", "jq");
        _temp.CreateFile("store/bbbb-jq/lib/libjq.so", "libjq");
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ThePackagesTreeIsUnderTheProfileFolderWithItsFolderChain()
    {
        var entries = SymlinkLayer.BuildOverBase([_coreutils, _jq], [], DiskStore.Instance, _log);

        Assert.Equal<LayerEntry>(
            [
                new DirectoryEntry("nix", UnixModes.Executable),
                new DirectoryEntry("nix/var", UnixModes.Executable),
                new DirectoryEntry("nix/var/nix", UnixModes.Executable),
                new DirectoryEntry("nix/var/nix/profiles", UnixModes.Executable),
                new DirectoryEntry(Profile, UnixModes.Executable),
                new DirectoryEntry(Profile + "/bin", UnixModes.Executable),
                new SymlinkEntry(Profile + "/bin/env", _coreutils + "/bin/env"),
                new SymlinkEntry(Profile + "/bin/jq", _jq + "/bin/jq"),
                new SymlinkEntry(Profile + "/bin/ls", _coreutils + "/bin/ls"),
                new DirectoryEntry(Profile + "/lib", UnixModes.Executable),
                new SymlinkEntry(Profile + "/lib/libjq.so", _jq + "/lib/libjq.so"),
            ],
            entries);
        Assert.Equal("nix/var/nix/profiles/nixery-build", Profile);
        Assert.Empty(_log.Warnings);
    }

    [Fact]
    public void NothingOfThePackagesIsAtTheRoot()
    {
        var entries = SymlinkLayer.BuildOverBase([_coreutils, _jq], [], DiskStore.Instance, _log);

        Assert.All(entries, e => Assert.True(e.Path == "nix" || e.Path.StartsWith("nix/", StringComparison.Ordinal), e.Path));
        Assert.DoesNotContain(entries, e => e.Path is "bin" or "lib" or "tmp" or "usr" or "usr/bin/env");
        Assert.DoesNotContain(entries, e => e.Path.EndsWith("/usr/bin/env", StringComparison.Ordinal) || e.Path.EndsWith("/tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void TheRootEntriesAreAddedAndEverythingIsSortedByPath()
    {
        var rootEntries = UserDatabase.EntriesOver(BaseRoot.Empty);

        var entries = SymlinkLayer.BuildOverBase([_jq], rootEntries, DiskStore.Instance, _log);

        Assert.All(rootEntries, e => Assert.Contains(e, entries));
        Assert.Equal(entries.OrderBy(e => e.Path, StringComparer.Ordinal), entries);
        Assert.Equal(entries.Count, entries.Select(e => e.Path).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(rootEntries.Count + 5 + 4, entries.Count);
    }

    [Fact]
    public void WithoutPackagesItIsTheFolderChainAndTheRootEntries()
    {
        var tmp = new DirectoryEntry("tmp", UnixModes.StickyWorldWritable);

        var entries = SymlinkLayer.BuildOverBase([], [tmp], DiskStore.Instance, _log);

        Assert.Equal(["nix", "nix/var", "nix/var/nix", "nix/var/nix/profiles", Profile, "tmp"], entries.Select(e => e.Path));
        Assert.Equal(tmp, entries[^1]);
    }

    [Fact]
    public void TheFirstPackageStillWinsACollisionAndAWarningSaysSo()
    {
        var busybox = _temp.CreateDirectory("store/cccc-busybox");
        _temp.CreateFile("store/cccc-busybox/bin/ls", "busybox ls");

        var entries = SymlinkLayer.BuildOverBase([busybox, _coreutils], [], DiskStore.Instance, _log);

        Assert.Contains(new SymlinkEntry(Profile + "/bin/ls", busybox + "/bin/ls"), entries);
        Assert.Equal(ErrorCodes.SymlinkCollision, Assert.Single(_log.Warnings).Code);
    }

    [Fact]
    public void APackageThatIsNotAFolderIsLeftOut()
    {
        var missing = _temp.Combine("store/dddd-missing");

        var entries = SymlinkLayer.BuildOverBase([missing, _jq], [], DiskStore.Instance, _log);

        Assert.Equal(SymlinkLayer.BuildOverBase([_jq], [], DiskStore.Instance, new RecordingLog()), entries);
        Assert.Contains(_log.Lines, l => l.Contains(missing, StringComparison.Ordinal));
    }
}
