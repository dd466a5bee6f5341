using System.Diagnostics;
using System.Text;
using Nixery.Build.BinaryCache;
using Nixery.Build.Processes;
using Nixery.Build.Tests.Support;
using Xunit.Abstractions;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// The NAR reader on what Nix itself writes: <c>nix-store --dump</c> of folders made here and of real store paths,
/// indexed and checked against the file system node by node (kind, executable bit, size, the bytes at each content
/// offset, symlink targets), in the order of a depth-first walk with children sorted by their UTF-8 bytes.
/// </summary>
public sealed class NarDumpTests : IDisposable
{
    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode0755 = Mode0644 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
    private const UnixFileMode Mode0744 = Mode0644 | UnixFileMode.UserExecute;

    private static readonly Comparer<string> Utf8Order = Comparer<string>.Create((a, b) => Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b)));

    private readonly TempDirectory _temp = new("nar-dump");
    private readonly ITestOutputHelper _output;

    public NarDumpTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void AFolderTreeMatchesTheFileSystem()
    {
        var root = _temp.CreateDirectory("tree");
        _temp.CreateFile("tree/bin/run", "#!/bin/sh\necho run\n", Mode0755);
        _temp.CreateFile("tree/bin/owner-only", "#!/bin/sh\n", Mode0744);
        _temp.CreateFile("tree/bin/plain", "not executable", Mode0644);
        _temp.CreateSymlink("tree/bin/relative", "run");
        _temp.CreateSymlink("tree/bin/up", "../share/doc/deep/er/file.txt");
        _temp.CreateSymlink("tree/absolute", "/nix/store/00000000000000000000000000000000-none/bin/sh");
        _temp.CreateSymlink("tree/to-folder", "share/doc");
        _temp.CreateFile("tree/share/doc/deep/er/file.txt", "deep down");
        _temp.CreateFile("tree/empty-file", string.Empty);
        _temp.CreateDirectory("tree/empty-folder");
        _temp.CreateFile("tree/eight", "12345678");
        _temp.CreateFile("tree/nine", "123456789");
        _temp.CreateFile("tree/sixteen", "1234567890abcdef");

        var nodes = DumpAndCheck(root);

        Assert.Equal(19, nodes.Count);
        Assert.Equal([true, false, false], new[] { "bin/run", "bin/plain", "empty-file" }.Select(p => nodes.Single(n => n.Path == p).Executable));
        Assert.True(nodes.Single(n => n.Path == "bin/owner-only").Executable);
        Assert.Equal("/nix/store/00000000000000000000000000000000-none/bin/sh", nodes.Single(n => n.Path == "absolute").LinkTarget);
        Assert.Equal(NarNodeKind.Directory, nodes.Single(n => n.Path == "empty-folder").Kind);
    }

    [Fact]
    public void NonAsciiNamesComeInUtf8ByteOrder()
    {
        var root = _temp.CreateDirectory("names");
        string[] names = ["z", "Z", "é", "e", "日本語", "\uFF21", "\U0001F600", "ä ö ü", "a-b", "ab", "a"];
        foreach (var name in names)
        {
            _temp.CreateFile($"names/{name}", name);
        }

        _temp.CreateFile("names/dossier-été/fichier-ñ", "ñ");
        _temp.CreateSymlink("names/lien", "dossier-été/fichier-ñ");

        var nodes = DumpAndCheck(root);

        // UTF-8 puts U+FF21 (EF BC A1) before U+1F600 (F0 9F 98 80), where UTF-16 order has them the other way round.
        Assert.Equal(
            ["", "Z", "a", "a-b", "ab", "dossier-été", "dossier-été/fichier-ñ", "e", "lien", "z", "ä ö ü", "é", "日本語", "\uFF21", "\U0001F600"],
            nodes.Select(n => n.Path));
        Assert.Equal("dossier-été/fichier-ñ", nodes.Single(n => n.Path == "lien").LinkTarget);
    }

    [Fact]
    public void AThreeMegabyteFileIsFoundByteForByte()
    {
        var root = _temp.CreateDirectory("big");
        var contents = new byte[(3 * 1024 * 1024) + 5];
        new Random(3).NextBytes(contents);
        File.WriteAllBytes(_temp.Combine("big/blob"), contents);
        _temp.CreateFile("big/small-after", "after the blob");

        var nodes = DumpAndCheck(root);

        Assert.Equal(contents.Length, nodes.Single(n => n.Path == "blob").Size);
    }

    [Fact]
    public void ManySmallFilesInManyFolders()
    {
        var root = _temp.CreateDirectory("many");
        for (var folder = 0; folder < 40; folder++)
        {
            for (var file = 0; file < 50; file++)
            {
                _temp.CreateFile($"many/f{folder}/{file}.txt", new string('x', (folder * 50) + file), file % 7 == 0 ? Mode0755 : Mode0644);
            }
        }

        var nodes = DumpAndCheck(root);

        Assert.Equal(1 + 40 + 2000, nodes.Count);
    }

    [Fact]
    public void ARootThatIsAFileAnExecutableOrASymlink()
    {
        var file = _temp.CreateFile("file", "just a file", Mode0644);
        var executable = _temp.CreateFile("executable", "#!/bin/sh\n", Mode0755);
        var empty = _temp.CreateFile("empty", string.Empty);
        var link = _temp.CreateSymlink("link", "/etc/hostname");

        Assert.Equal(NarNodeKind.Regular, Assert.Single(DumpAndCheck(file)).Kind);
        Assert.True(Assert.Single(DumpAndCheck(executable)).Executable);
        Assert.Equal(0, Assert.Single(DumpAndCheck(empty)).Size);
        Assert.Equal("/etc/hostname", Assert.Single(DumpAndCheck(link)).LinkTarget);
    }

    [Fact]
    public void AnEmptyFolderRoot()
    {
        var root = _temp.CreateDirectory("nothing");

        Assert.Equal(NarNodeKind.Directory, Assert.Single(DumpAndCheck(root)).Kind);
    }

    [Fact]
    public void RealStorePathsMatchTheStore()
    {
        // The first few store paths that are folders (not .drv files, not the .links folder of hard-linked files).
        var paths = Directory.Exists("/nix/store")
            ? Directory.EnumerateDirectories("/nix/store")
                .Where(p => new DirectoryInfo(p).LinkTarget is null && !p.EndsWith(".drv", StringComparison.Ordinal) && !p.EndsWith("/.links", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal)
                .Take(5)
                .ToList()
            : [];

        foreach (var path in paths)
        {
            DumpAndCheck(path);
        }
    }

    /// <summary>Dumps <paramref name="path"/> with nix-store, indexes the NAR, checks it against the file system and returns its nodes.</summary>
    private List<NarNode> DumpAndCheck(string path)
    {
        var narFile = Path.Combine(_temp.Path, $"dump-{Guid.NewGuid():N}.nar");
        Dump(path, narFile);
        using var nar = File.OpenRead(narFile);

        var clock = Stopwatch.StartNew();
        var nodes = NarReader.Index(nar).ToList();
        _output.WriteLine($"{path}: {nar.Length} bytes, {nodes.Count} nodes, indexed in {clock.Elapsed.TotalMilliseconds:F1} ms");

        var expected = Walk(path, string.Empty).ToList();
        Assert.Equal(expected.Select(e => e.Relative), nodes.Select(n => n.Path));
        foreach (var ((_, full), node) in expected.Zip(nodes))
        {
            Check(full, node, nar);
        }

        File.Delete(narFile);
        return nodes;
    }

    private static void Check(string full, NarNode node, FileStream nar)
    {
        var info = new FileInfo(full);
        if (info.LinkTarget is { } target)
        {
            Assert.Equal(new NarNode(node.Path, NarNodeKind.Symlink, false, 0, 0, target), node);
        }
        else if (Directory.Exists(full))
        {
            Assert.Equal(new NarNode(node.Path, NarNodeKind.Directory, false, 0, 0, null), node);
        }
        else
        {
            // Nix marks a file executable when its owner may execute it.
            var executable = (File.GetUnixFileMode(full) & UnixFileMode.UserExecute) != 0;
            Assert.Equal(new NarNode(node.Path, NarNodeKind.Regular, executable, node.ContentOffset, info.Length, null), node);
            Assert.True(SameBytes(full, nar, node.ContentOffset, node.Size), $"the bytes at {node.ContentOffset} are not those of {full}");
        }
    }

    private static bool SameBytes(string file, FileStream nar, long offset, long size)
    {
        using var source = File.OpenRead(file);
        var expected = new byte[64 * 1024];
        var actual = new byte[64 * 1024];
        nar.Position = offset;
        for (var left = size; left > 0;)
        {
            var chunk = (int)Math.Min(left, expected.Length);
            source.ReadExactly(expected, 0, chunk);
            nar.ReadExactly(actual, 0, chunk);
            if (!expected.AsSpan(0, chunk).SequenceEqual(actual.AsSpan(0, chunk)))
            {
                return false;
            }

            left -= chunk;
        }

        return source.Read(expected, 0, 1) == 0;
    }

    /// <summary>Depth first, each folder before its children, children in byte order of their UTF-8 names; symlinks not followed.</summary>
    private static IEnumerable<(string Relative, string Full)> Walk(string full, string relative)
    {
        yield return (relative, full);
        if (new FileInfo(full).LinkTarget is not null || !Directory.Exists(full))
        {
            yield break;
        }

        var children = Directory.EnumerateFileSystemEntries(full).Select(c => Path.GetFileName(c)).Order(Utf8Order).ToList();
        foreach (var child in children)
        {
            foreach (var entry in Walk(Path.Combine(full, child), relative.Length == 0 ? child : relative + "/" + child))
            {
                yield return entry;
            }
        }
    }

    /// <summary>Writes <c>nix-store --dump <paramref name="path"/></c> to <paramref name="narFile"/>.</summary>
    private static void Dump(string path, string narFile)
    {
        var nixStore = ProcessRunner.FindOnPath("nix-store", Environment.GetEnvironmentVariable("PATH"));
        if (nixStore is null)
        {
            Assert.Fail("The NAR dump tests need nix-store on PATH. Run scripts/install-prerequisites.sh (or scripts/test.sh, which does it).");
        }

        var start = new ProcessStartInfo(nixStore)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--dump");
        start.ArgumentList.Add(path);
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        using (var output = File.Create(narFile))
        {
            process.StandardOutput.BaseStream.CopyTo(output);
        }

        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"nix-store --dump {path} exited with {process.ExitCode}: {errors.GetAwaiter().GetResult()}");
    }
}
