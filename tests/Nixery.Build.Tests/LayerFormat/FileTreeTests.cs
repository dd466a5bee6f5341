using Nixery.Build.LayerFormat;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.LayerFormat;

public sealed class FileTreeTests : IDisposable
{
    // C# has no octal literals.
    private const UnixFileMode Mode0444 = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode0555 = Mode0444 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0700 = Mode0600 | UnixFileMode.UserExecute;
    private const UnixFileMode Mode0640 = Mode0600 | UnixFileMode.GroupRead;
    private const UnixFileMode Mode0744 = Mode0700 | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode04755 = Mode0744 | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute | UnixFileMode.SetUser;

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void WalksDepthFirstWithChildrenInOrdinalOrder()
    {
        // Culture order would put "a" and "a-b" before "B"; ordinal puts upper case first.
        var root = _temp.CreateDirectory("root");
        _temp.CreateFile("root/B", "B");
        _temp.CreateFile("root/a-b", "a-b");
        _temp.CreateFile("root/a/x", "x");
        _temp.CreateFile("root/a/X", "X");

        var paths = FileTree.Walk(root, "dest", FileTree.KeepMode).Select(e => e.Path);

        Assert.Equal(["dest", "dest/B", "dest/a", "dest/a/X", "dest/a/x", "dest/a-b"], paths);
    }

    [Fact]
    public void SymlinksAreKeptNotFollowed()
    {
        var root = _temp.CreateDirectory("root");
        _temp.CreateFile("root/real/file", "content");
        _temp.CreateSymlink("root/to-file", "real/file");
        _temp.CreateSymlink("root/to-folder", _temp.Combine("root/real"));
        _temp.CreateSymlink("root/dangling", "/does/not/exist");

        var entries = FileTree.Walk(root, "r", FileTree.KeepMode).ToList();

        Assert.Equal(
            [
                new DirectoryEntry("r", (int)DirectoryMode("root")),
                new SymlinkEntry("r/dangling", "/does/not/exist"),
                new DirectoryEntry("r/real", (int)DirectoryMode("root/real")),
                new FileEntry("r/real/file", (int)FileMode("root/real/file"), _temp.Combine("root/real/file"), 7),
                new SymlinkEntry("r/to-file", "real/file"),
                new SymlinkEntry("r/to-folder", _temp.Combine("root/real")),
            ],
            entries);
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void HardLinkIsWrittenAsTheRegularFileItIs()
    {
        var root = _temp.CreateDirectory("root");
        var original = _temp.CreateFile("root/original", "shared bytes");
        ExternalTool.RunChecked("ln", original, _temp.Combine("root/hardlink"));

        var entries = FileTree.Walk(root, "r", FileTree.KeepMode).ToList();

        var link = Assert.IsType<FileEntry>(entries.Single(e => e.Path == "r/hardlink"));
        Assert.Equal(12, link.Size);
        Assert.Equal(_temp.Combine("root/hardlink"), link.SourcePath);
        Assert.IsType<FileEntry>(entries.Single(e => e.Path == "r/original"));
    }

    [Fact]
    public void KeepModeKeepsModesFromDisk()
    {
        var root = _temp.CreateDirectory("root", Mode0700);
        _temp.CreateFile("root/read-only", "r", Mode0444);
        _temp.CreateFile("root/executable", "x", Mode0555);
        _temp.CreateFile("root/setuid", "s", Mode04755);
        _temp.CreateDirectory("root/folder", Mode0555);

        var modes = FileTree.Walk(root, "r", FileTree.KeepMode).ToDictionary(e => e.Path, ModeOf, StringComparer.Ordinal);

        Assert.Equal((int)Mode0444, modes["r/read-only"]);
        Assert.Equal((int)Mode0555, modes["r/executable"]);
        Assert.Equal((int)Mode04755, modes["r/setuid"]);
        Assert.Equal((int)Mode0555, modes["r/folder"]);
        Assert.Equal((int)Mode0700, modes["r"]);
    }

    [Fact]
    public void NormalizedModeGivesFoldersAndExecutables0755AndOtherFiles0644()
    {
        var root = _temp.CreateDirectory("root", Mode0700);
        _temp.CreateFile("root/private", "p", Mode0600);
        _temp.CreateFile("root/group-readable", "g", Mode0640);
        _temp.CreateFile("root/read-only", "r", Mode0444);
        _temp.CreateFile("root/owner-executable", "x", Mode0700);
        _temp.CreateFile("root/user-exec-only", "x", Mode0744);
        _temp.CreateFile("root/setuid", "s", Mode04755);
        _temp.CreateDirectory("root/read-only-folder", Mode0555);

        var modes = FileTree.Walk(root, "r", FileTree.NormalizedMode).ToDictionary(e => e.Path, ModeOf, StringComparer.Ordinal);

        Assert.Equal(UnixModes.Executable, modes["r"]);
        Assert.Equal(UnixModes.Regular, modes["r/private"]);
        Assert.Equal(UnixModes.Regular, modes["r/group-readable"]);
        Assert.Equal(UnixModes.Regular, modes["r/read-only"]);
        Assert.Equal(UnixModes.Executable, modes["r/owner-executable"]);
        Assert.Equal(UnixModes.Executable, modes["r/user-exec-only"]);
        Assert.Equal(UnixModes.Executable, modes["r/setuid"]);
        Assert.Equal(UnixModes.Executable, modes["r/read-only-folder"]);
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void FifoAndSocketAreLeftOutWithoutBeingOpened()
    {
        // Opening the FIFO would block this test for ever: walking and reading the tree must not.
        _temp.CreateFile("publish/app.dll", "app");
        var fifo = _temp.Combine("publish", "pipe");
        Command.Run("mkfifo", [fifo]).EnsureSuccess();
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(_temp.Combine("publish", "socket")));

        var entries = FileTree.Walk(_temp.Combine("publish"), "app", FileTree.NormalizedMode).ToList();

        Assert.Equal(["app", "app/app.dll"], entries.Select(e => e.Path));
        Assert.False(FileKind.IsRegularFile(fifo));
        Assert.True(FileKind.IsRegularFile(_temp.Combine("publish", "app.dll")));
        Assert.Equal(["pipe", "socket"], Nixery.Build.Sources.PublishFolder.SpecialFiles(_temp.Combine("publish")));
    }

    [Fact]
    public void SingleFileAsRootIsOneFileEntry()
    {
        var file = _temp.CreateFile("single.sh", "#!/bin/sh\n", Mode0555);

        var entry = Assert.Single(FileTree.Walk(file, "nix/store/abc-single.sh", FileTree.KeepMode));

        Assert.Equal(new FileEntry("nix/store/abc-single.sh", (int)Mode0555, file, 10), entry);
    }

    [Fact]
    public void SymlinkAsRootIsOneSymlinkEvenWhenItPointsToAFolder()
    {
        _temp.CreateFile("folder/inside", "i");
        var link = _temp.CreateSymlink("link", _temp.Combine("folder"));

        var entry = Assert.Single(FileTree.Walk(link, "nix/store/abc-link", FileTree.KeepMode));

        Assert.Equal(new SymlinkEntry("nix/store/abc-link", _temp.Combine("folder")), entry);
    }

    [Fact]
    public void MissingRootFails()
    {
        Assert.Throws<FileNotFoundException>(() => FileTree.Walk(_temp.Combine("missing"), "m", FileTree.KeepMode));
    }

    private static int ModeOf(LayerEntry entry) => entry switch
    {
        DirectoryEntry d => d.Mode,
        FileEntry f => f.Mode,
        _ => throw new InvalidOperationException(entry.Path),
    };

    private UnixFileMode DirectoryMode(string relative) => File.GetUnixFileMode(_temp.Combine(relative));

    private UnixFileMode FileMode(string relative) => File.GetUnixFileMode(_temp.Combine(relative));
}
