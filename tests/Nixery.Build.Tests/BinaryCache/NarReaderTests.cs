using System.Text;
using Nixery.Build.BinaryCache;

namespace Nixery.Build.Tests.BinaryCache;

/// <summary>
/// Indexing NARs written in memory by <see cref="NarWriter"/>: the nodes, their order and the content offsets of
/// well-formed ones, and an <see cref="InvalidDataException"/> naming the problem and its byte offset for malformed ones.
/// </summary>
public class NarReaderTests
{
    // The magic is 24 bytes; "(", "type", "regular" and "contents" 16 each; then the size's 8.
    private const long RootFileContentOffset = 24 + (4 * 16) + 8;

    [Fact]
    public void ASingleRegularFileIsTheRootNode()
    {
        var nar = NarWriter.Write(new NarFile("hello"));

        var nodes = NarReader.Index(new MemoryStream(nar));

        Assert.Equal([new NarNode(string.Empty, NarNodeKind.Regular, false, RootFileContentOffset, 5, null)], nodes);
        Assert.Equal("hello", Encoding.UTF8.GetString(nar, (int)RootFileContentOffset, 5));
    }

    [Fact]
    public void AnExecutableFileIsMarkedExecutable()
    {
        var nar = NarWriter.Write(new NarDirectory(
            new NarEntry("plain", new NarFile("#!/bin/sh\n")),
            new NarEntry("run", new NarFile("#!/bin/sh\n", executable: true))));

        var nodes = Index(nar);

        Assert.Equal([false, false, true], nodes.Select(n => n.Executable));
        Assert.Equal("#!/bin/sh\n", Contents(nar, nodes[2]));
    }

    [Fact]
    public void AnExecutableRootFileIsMarkedExecutable()
    {
        var nodes = Index(NarWriter.Write(new NarFile("\x7f" + "ELF", executable: true)));

        var root = Assert.Single(nodes);
        Assert.Equal(NarNodeKind.Regular, root.Kind);
        Assert.True(root.Executable);
        Assert.Equal(4, root.Size);
    }

    [Fact]
    public void ASymlinkCanBeTheRootNode()
    {
        var nodes = Index(NarWriter.Write(new NarSymlink("../lib/libz.so.1")));

        Assert.Equal([new NarNode(string.Empty, NarNodeKind.Symlink, false, 0, 0, "../lib/libz.so.1")], nodes);
    }

    [Fact]
    public void AnEmptyFolderIsOneNode()
    {
        var nodes = Index(NarWriter.Write(new NarDirectory()));

        Assert.Equal([new NarNode(string.Empty, NarNodeKind.Directory, false, 0, 0, null)], nodes);
    }

    [Fact]
    public void NestedFoldersComeDepthFirstWithParentsBeforeChildren()
    {
        var nar = NarWriter.Write(new NarDirectory(
            new NarEntry("bin", new NarDirectory(
                new NarEntry("jq", new NarFile("jq", executable: true)),
                new NarEntry("jq-link", new NarSymlink("jq")))),
            new NarEntry("empty", new NarDirectory()),
            new NarEntry("lib", new NarDirectory(
                new NarEntry("deep", new NarDirectory(
                    new NarEntry("deeper", new NarDirectory(
                        new NarEntry("file", new NarFile("deep")))))),
                new NarEntry("libjq.so", new NarFile("lib")))),
            new NarEntry("readme", new NarFile("read me"))));

        var nodes = Index(nar);

        Assert.Equal(
            [
                (string.Empty, NarNodeKind.Directory),
                ("bin", NarNodeKind.Directory),
                ("bin/jq", NarNodeKind.Regular),
                ("bin/jq-link", NarNodeKind.Symlink),
                ("empty", NarNodeKind.Directory),
                ("lib", NarNodeKind.Directory),
                ("lib/deep", NarNodeKind.Directory),
                ("lib/deep/deeper", NarNodeKind.Directory),
                ("lib/deep/deeper/file", NarNodeKind.Regular),
                ("lib/libjq.so", NarNodeKind.Regular),
                ("readme", NarNodeKind.Regular),
            ],
            nodes.Select(n => (n.Path, n.Kind)));
        Assert.Equal("jq", nodes.Single(n => n.Path == "bin/jq-link").LinkTarget);
        Assert.Equal("deep", Contents(nar, nodes.Single(n => n.Path == "lib/deep/deeper/file")));
        Assert.Equal("read me", Contents(nar, nodes.Single(n => n.Path == "readme")));
    }

    [Fact]
    public void EmptyFilesHaveSizeZeroAndDoNotDisturbTheirNeighbours()
    {
        var nar = NarWriter.Write(new NarDirectory(
            new NarEntry("a", new NarFile(string.Empty)),
            new NarEntry("b", new NarFile("after an empty file")),
            new NarEntry("c", new NarFile(string.Empty, executable: true))));

        var nodes = Index(nar);

        Assert.Equal([0L, 0L, 19L, 0L], nodes.Select(n => n.Size));
        Assert.Equal("after an empty file", Contents(nar, nodes[2]));
        Assert.True(nodes[3].Executable);

        var root = Assert.Single(Index(NarWriter.Write(new NarFile(string.Empty))));
        Assert.Equal(0, root.Size);
        Assert.Equal(RootFileContentOffset, root.ContentOffset);
    }

    /// <summary>Sizes around multiples of 8 (padding or none) and around the reader's buffer (stepped over in it, or sought past).</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(4095)]
    [InlineData(16 * 1024)]
    [InlineData((16 * 1024) + 1)]
    [InlineData(100_003)]
    public void ContentsOfAnySizeAreFoundAndSoIsTheNodeAfterThem(int size)
    {
        var contents = Bytes(size, seed: size);
        var nar = NarWriter.Write(new NarDirectory(
            new NarEntry("big", new NarFile(contents)),
            new NarEntry("next", new NarFile("next"))));

        var nodes = Index(nar);

        Assert.Equal(size, nodes[1].Size);
        Assert.Equal(contents, nar.AsSpan((int)nodes[1].ContentOffset, size).ToArray());
        Assert.Equal(0, nodes[1].ContentOffset % 8);
        Assert.Equal("next", Contents(nar, nodes[2]));
    }

    [Fact]
    public void OffsetsPointAtEachFilesBytesInTheStream()
    {
        var files = Enumerable.Range(0, 40).Select(i => (Name: $"f{i:D2}", Contents: Bytes(i * 997 % 5000, seed: i))).ToList();
        var nar = NarWriter.Write(new NarDirectory(
            new NarEntry("files", new NarDirectory([.. files.Select(f => new NarEntry(f.Name, new NarFile(f.Contents)))])),
            new NarEntry("z", new NarFile("last"))));
        using var stream = new MemoryStream(nar);

        var nodes = NarReader.Index(stream);

        foreach (var (name, contents) in files)
        {
            var node = nodes.Single(n => n.Path == "files/" + name);
            stream.Position = node.ContentOffset;
            var read = new byte[node.Size];
            stream.ReadExactly(read);
            Assert.Equal(contents, read);
        }
    }

    [Fact]
    public void OffsetsArePositionsInTheStream()
    {
        var nar = NarWriter.Write(new NarFile("hello"));
        using var stream = new MemoryStream([.. "prefix.."u8, .. nar]);
        stream.Position = 8;

        var root = Assert.Single(NarReader.Index(stream));

        Assert.Equal(8 + RootFileContentOffset, root.ContentOffset);
    }

    [Fact]
    public void EntriesAreInByteOrderOfTheirUtf8Names()
    {
        var nodes = Index(NarWriter.Write(new NarDirectory(
            new NarEntry("A", new NarFile("A")),
            new NarEntry("B", new NarFile("B")),
            new NarEntry("a", new NarFile("a")),
            new NarEntry("a-b", new NarFile("a-b")),
            new NarEntry("ab", new NarFile("ab")),
            new NarEntry("é", new NarFile("é")))));

        Assert.Equal([string.Empty, "A", "B", "a", "a-b", "ab", "é"], nodes.Select(n => n.Path));
    }

    [Fact]
    public void OrderIsThatOfUtf8BytesNotOfUtf16()
    {
        // U+FF21 is EF BC A1 in UTF-8 and U+1F600 is F0 9F 98 80: UTF-8 order puts U+FF21 first, UTF-16 (D83D DE00) the emoji.
        const string FullwidthA = "\uFF21";
        const string Grin = "\U0001F600";

        var nodes = Index(NarWriter.Write(new NarDirectory(new NarEntry(FullwidthA, new NarFile("1")), new NarEntry(Grin, new NarFile("2")))));

        Assert.Equal([string.Empty, FullwidthA, Grin], nodes.Select(n => n.Path));
        Invalid(NarWriter.Write(new NarDirectory(new NarEntry(Grin, new NarFile("2")), new NarEntry(FullwidthA, new NarFile("1")))), "byte order");
    }

    [Theory]
    [InlineData("nix-archive-2")]
    [InlineData("NIX-ARCHIVE-1")]
    [InlineData("(")]
    public void AWrongMagicIsRefused(string magic)
    {
        var nar = new NarWriter().Token(magic).Node(new NarFile("x")).ToArray();

        Invalid(nar, "'nix-archive-1' at byte offset 0");
    }

    [Fact]
    public void GarbageIsRefusedWithoutReadingAHugeString()
    {
        var garbage = Enumerable.Repeat((byte)0xff, 64).ToArray();

        Invalid(garbage, "at byte offset 0, found a string of 18446744073709551615 bytes");
    }

    [Fact]
    public void EveryTruncationOfAValidNarIsRefused()
    {
        var nar = NarWriter.Write(new NarDirectory(
            new NarEntry("a", new NarFile("contents", executable: true)),
            new NarEntry("b", new NarSymlink("a")),
            new NarEntry("c", new NarDirectory(new NarEntry("d", new NarFile("123456789"))))));

        for (var length = 0; length < nar.Length; length++)
        {
            Assert.Throws<InvalidDataException>(() => Index(nar[..length]));
        }

        Assert.Equal(5, Index(nar).Count);
    }

    [Fact]
    public void AnUnknownNodeTypeIsRefused()
    {
        var writer = new NarWriter().Magic().Token("(").Token("type");
        var offset = writer.Position;
        var nar = writer.Token("socket").Token(")").ToArray();

        Invalid(nar, $"unknown node type 'socket' of the root node at byte offset {offset}");
    }

    [Fact]
    public void AnUnknownTokenInsteadOfTypeIsRefused()
    {
        var nar = new NarWriter().Magic().Token("(").Token("kind").Token("regular").Token("contents").Length(0).Token(")").ToArray();

        Invalid(nar, "expected 'type' in the root node at byte offset 40, found 'kind'");
    }

    [Fact]
    public void AnUnknownTokenInAFolderIsRefused()
    {
        var writer = new NarWriter().Magic().Token("(").Token("type").Token("directory");
        var offset = writer.Position;
        var nar = writer.Token("entries").Token(")").ToArray();

        Invalid(nar, $"expected 'entry' or ')' in the root node at byte offset {offset}, found 'entries'");
    }

    [Fact]
    public void AnUnknownTokenInAFileIsRefused()
    {
        var writer = new NarWriter().Magic().Token("(").Token("type").Token("regular");
        var offset = writer.Position;
        var nar = writer.Token("size").Length(0).Token(")").ToArray();

        Invalid(nar, $"expected 'executable' or 'contents' in the root node at byte offset {offset}, found 'size'");
    }

    [Fact]
    public void ExecutableMustBeFollowedByTheEmptyStringAndContents()
    {
        var withValue = new NarWriter().Magic().Token("(").Token("type").Token("regular").Token("executable").Token("yes")
            .Token("contents").Length(0).Token(")").ToArray();
        var twice = new NarWriter().Magic().Token("(").Token("type").Token("regular").Token("executable").Token(string.Empty)
            .Token("executable").Token(string.Empty).Token("contents").Length(0).Token(")").ToArray();

        Invalid(withValue, "expected the empty string after 'executable' in the root node at byte offset 96, found 'yes'");
        Invalid(twice, "expected 'contents' in the root node at byte offset 104, found 'executable'");
    }

    [Fact]
    public void AnUnknownTokenInASymlinkIsRefused()
    {
        var nar = new NarWriter().Magic().Token("(").Token("type").Token("symlink").Token("to").Token("x").Token(")").ToArray();

        Invalid(nar, "expected 'target' in the root node at byte offset 72, found 'to'");
    }

    [Fact]
    public void AMissingCloseParenthesisIsRefused()
    {
        var nar = new NarWriter().Magic().Token("(").Token("type").Token("symlink").Token("target").Token("x").Token("(").ToArray();

        Invalid(nar, "expected ')' closing the root node at byte offset 104, found '('");
    }

    [Fact]
    public void NonZeroPaddingOfATokenIsRefused()
    {
        var nar = new NarWriter().Magic().Length(1).Raw("(\0\0\0\0\0\0\x01"u8).Token("type").Token("directory").Token(")").ToArray();

        Invalid(nar, "non-zero padding byte 0x01 at byte offset 39");
    }

    [Fact]
    public void NonZeroPaddingOfANameIsRefused()
    {
        var writer = new NarWriter().Magic().Token("(").Token("type").Token("directory").Token("entry").Token("(").Token("name");
        var offset = writer.Position;
        var nar = writer.Length(3).Raw("abc\0\0\0x\0"u8).Token("node").Node(new NarFile("x")).Token(")").Token(")").ToArray();

        Invalid(nar, $"non-zero padding byte 0x78 at byte offset {offset + 8 + 6}");
    }

    [Fact]
    public void NonZeroPaddingAfterContentsIsRefused()
    {
        var writer = new NarWriter().Magic().Token("(").Token("type").Token("regular").Token("contents").Length(5);
        var offset = writer.Position;
        var nar = writer.Raw("hello\0\0\x02"u8).Token(")").ToArray();

        Invalid(nar, $"non-zero padding byte 0x02 at byte offset {offset + 7}");
    }

    [Fact]
    public void NamesUpTo255BytesAreAccepted()
    {
        var name = new string('n', 253) + "é";

        var nodes = Index(NarWriter.Write(new NarDirectory(new NarEntry(name, new NarFile("x")))));

        Assert.Equal(name, nodes[1].Path);
    }

    [Theory]
    [InlineData(256UL)]
    [InlineData(1UL << 40)]
    [InlineData(ulong.MaxValue)]
    public void LongerNamesAreRefused(ulong length)
    {
        var writer = new NarWriter().Magic().Token("(").Token("type").Token("directory").Token("entry").Token("(").Token("name");
        var offset = writer.Position;
        var nar = writer.Length(length).Raw(new byte[256]).ToArray();

        Invalid(nar, $"an entry name in the root node at byte offset {offset} is {length} bytes long; at most 255 are allowed");
    }

    [Fact]
    public void TargetsUpTo4095BytesAreAcceptedAndLongerOnesRefused()
    {
        var target = "/" + new string('t', 4094);

        Assert.Equal(target, Assert.Single(Index(NarWriter.Write(new NarSymlink(target)))).LinkTarget);
        Invalid(NarWriter.Write(new NarSymlink(target + "x")), "the target of the root node at byte offset 88 is 4096 bytes long; at most 4095 are allowed");
    }

    [Fact]
    public void AnOverlongTokenIsRefusedBeforeItIsRead()
    {
        var nar = new NarWriter().Magic().Token("(").Length(1UL << 40).ToArray();

        Invalid(nar, "expected 'type' in the root node at byte offset 40, found a string of 1099511627776 bytes");
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData(".", "is not a file name")]
    [InlineData("..", "is not a file name")]
    [InlineData("a/b", "contains '/'")]
    [InlineData("/", "contains '/'")]
    [InlineData("a\0b", "contains a NUL byte")]
    public void NamesThatAreNotOnePathComponentAreRefused(string name, string problem)
    {
        var nar = NarWriter.Write(new NarDirectory(new NarEntry(name, new NarFile("x"))));

        Invalid(nar, $"in the root node at byte offset 128 {problem}");
    }

    [Fact]
    public void ABadNameInASubfolderNamesTheFolder()
    {
        var nar = NarWriter.Write(new NarDirectory(new NarEntry("lib", new NarDirectory(new NarEntry("..", new NarFile("x"))))));

        Invalid(nar, "the entry name '..' in 'lib' at byte offset");
    }

    [Fact]
    public void ADuplicateNameIsRefused()
    {
        var nar = NarWriter.Write(new NarDirectory(new NarEntry("lib", new NarDirectory(
            new NarEntry("a", new NarFile("1")),
            new NarEntry("a", new NarFile("2"))))));

        Invalid(nar, "the entry 'a' of 'lib' at byte offset");
        Invalid(nar, "appears twice");
    }

    [Theory]
    [InlineData("b", "a")]
    [InlineData("a", "B")]
    [InlineData("ab", "a")]
    [InlineData("é", "z")]
    public void NamesOutOfByteOrderAreRefused(string first, string second)
    {
        var nar = NarWriter.Write(new NarDirectory(new NarEntry(first, new NarFile("1")), new NarEntry(second, new NarFile("2"))));

        Invalid(nar, $"the entry '{second}' of the root node at byte offset");
        Invalid(nar, $"comes after '{first}' but sorts before it");
    }

    [Fact]
    public void OrderIsCheckedPerFolder()
    {
        // "z" then "a" is fine when they are in different folders.
        var nodes = Index(NarWriter.Write(new NarDirectory(
            new NarEntry("m", new NarDirectory(new NarEntry("z", new NarFile("1")))),
            new NarEntry("n", new NarDirectory(new NarEntry("a", new NarFile("2")))))));

        Assert.Equal([string.Empty, "m", "m/z", "n", "n/a"], nodes.Select(n => n.Path));
    }

    [Fact]
    public void ContentsRunningPastTheEndAreRefused()
    {
        var writer = new NarWriter().Magic().Token("(").Token("type").Token("regular").Token("contents").Length(1000);
        var nar = writer.Raw(new byte[16]).Token(")").ToArray();

        Invalid(nar, $"the contents of the root node (1000 bytes from byte offset {RootFileContentOffset}) run past the end of the NAR at byte offset {nar.Length}");
    }

    [Fact]
    public void AContentsSizeBeyondLongIsRefused()
    {
        var nar = new NarWriter().Magic().Token("(").Token("type").Token("regular").Token("contents").Length(ulong.MaxValue).Token(")").ToArray();

        Invalid(nar, $"(18446744073709551615 bytes from byte offset {RootFileContentOffset}) run past the end of the NAR");
    }

    [Fact]
    public void BytesAfterTheRootNodeAreRefused()
    {
        var nar = NarWriter.Write(new NarDirectory(new NarEntry("a", new NarFile("a"))));

        Invalid([.. nar, 0, 0, 0, 0, 0, 0, 0, 0], $"8 bytes follow the root node's closing ')', at byte offset {nar.Length}");
        Invalid([.. nar, .. new NarWriter().Node(new NarFile("second")).ToArray()], "follow the root node's closing ')'");
        Invalid([.. nar, 1], $"1 bytes follow the root node's closing ')', at byte offset {nar.Length}");
    }

    [Fact]
    public void FoldersNested256DeepAreAccepted()
    {
        var nodes = Index(Nested(256));

        Assert.Equal(257, nodes.Count);
        Assert.Equal(string.Join('/', Enumerable.Repeat("d", 255)) + "/f", nodes[^1].Path);
    }

    [Fact]
    public void FoldersNestedDeeperAreRefused()
    {
        // Each folder's header up to its entry's node is 136 bytes: "(", "type", "directory", "entry", "(", "name", "d", "node".
        var offset = 24 + (257 * 136);

        Invalid(Nested(257), $"/f' at byte offset {offset} is 257 levels deep; at most 256 are allowed");
    }

    [Theory]
    [InlineData(new byte[] { 0xff })]
    [InlineData(new byte[] { (byte)'a', 0xc3 })]
    [InlineData(new byte[] { 0xc0, 0xaf })]
    [InlineData(new byte[] { 0xed, 0xa0, 0x80 })]
    [InlineData(new byte[] { 0xf4, 0x90, 0x80, 0x80 })]
    public void NamesAndTargetsThatAreNotUtf8AreRefused(byte[] bytes)
    {
        Invalid(NarWriter.Write(new NarDirectory(new NarEntry(bytes, new NarFile("x")))), "an entry name in the root node at byte offset 128 is not valid UTF-8");
        Invalid(NarWriter.Write(new NarSymlink(bytes)), "the target of the root node at byte offset 88 is not valid UTF-8");
    }

    [Fact]
    public void EmptyTargetsAndTargetsWithNulAreRefused()
    {
        Invalid(NarWriter.Write(new NarSymlink(string.Empty)), "the target of the root node at byte offset 88 is empty");
        Invalid(NarWriter.Write(new NarSymlink("a\0b")), "the target of the root node at byte offset 88 contains a NUL byte");
    }

    [Fact]
    public void AStreamThatCannotSeekIsRefused()
    {
        using var stream = new SyntheticNarStream([.. NarWriter.Write(new NarFile("x"))], 0, [], canSeek: false);

        Assert.Throws<ArgumentException>(() => NarReader.Index(stream));
    }

    [Fact]
    public void AHugeFileIsSteppedOverNotRead()
    {
        // A 1 TiB file the stream makes up as it is read: indexing it reads the headers only.
        const long Size = (1L << 40) + 3;
        var header = new NarWriter().Magic().Token("(").Token("type").Token("regular").Token("contents").Length(Size).ToArray();
        var trailer = new NarWriter().Padding(Size).Token(")").ToArray();
        using var stream = new SyntheticNarStream(header, Size, trailer, canSeek: true);

        var root = Assert.Single(NarReader.Index(stream));

        Assert.Equal(new NarNode(string.Empty, NarNodeKind.Regular, false, RootFileContentOffset, Size, null), root);
        Assert.True(stream.BytesRead < 64 * 1024, $"{stream.BytesRead} bytes were read");
    }

    private static IReadOnlyList<NarNode> Index(byte[] nar) => NarReader.Index(new MemoryStream(nar));

    /// <summary>Asserts that indexing <paramref name="nar"/> fails with a message containing <paramref name="message"/>.</summary>
    private static void Invalid(byte[] nar, string message)
    {
        var error = Assert.Throws<InvalidDataException>(() => Index(nar));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    private static string Contents(byte[] nar, NarNode node) => Encoding.UTF8.GetString(nar, (int)node.ContentOffset, (int)node.Size);

    private static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A file "f" <paramref name="depth"/> levels deep: its path is <c>d/d/…/f</c>, with <paramref name="depth"/> names.</summary>
    private static byte[] Nested(int depth)
    {
        NarTree tree = new NarFile("f");
        var name = "f";
        for (var i = 0; i < depth; i++)
        {
            tree = new NarDirectory(new NarEntry(name, tree));
            name = "d";
        }

        return NarWriter.Write(tree);
    }

    /// <summary>A stream of header bytes, a run of zeros that is never stored, and trailer bytes; it counts what is read.</summary>
    private sealed class SyntheticNarStream(byte[] header, long zeros, byte[] trailer, bool canSeek) : Stream
    {
        private long _position;

        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => canSeek;

        public override bool CanWrite => false;

        public override long Length => header.Length + zeros + trailer.Length;

        public override long Position
        {
            get => _position;
            set => _position = value;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var written = 0;
            while (written < count && _position < Length)
            {
                if (_position < header.Length)
                {
                    buffer[offset + written] = header[_position];
                }
                else if (_position < header.Length + zeros)
                {
                    buffer[offset + written] = 0;
                }
                else
                {
                    buffer[offset + written] = trailer[_position - header.Length - zeros];
                }

                written++;
                _position++;
            }

            BytesRead += written;
            return written;
        }

        public override long Seek(long offset, SeekOrigin origin) => _position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => Length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
