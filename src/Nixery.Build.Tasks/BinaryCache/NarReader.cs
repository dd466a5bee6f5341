using System.Buffers.Binary;
using System.Text;

namespace Nixery.Build.BinaryCache;

/// <summary>What a node of a NAR is: a folder, a regular file or a symlink (the only three a NAR holds).</summary>
public enum NarNodeKind
{
    /// <summary>A folder; its entries follow it in the NAR.</summary>
    Directory,

    /// <summary>A regular file, executable or not.</summary>
    Regular,

    /// <summary>A symbolic link.</summary>
    Symlink,
}

/// <summary>One node of a NAR, as <see cref="NarReader.Index"/> found it.</summary>
/// <param name="Path">Relative to the NAR's root, '/'-separated; empty for the root node.</param>
/// <param name="Kind">Folder, regular file or symlink.</param>
/// <param name="Executable">A regular file marked executable; false for the other kinds.</param>
/// <param name="ContentOffset">A regular file's first content byte, as a position in the NAR stream; 0 for the other kinds.</param>
/// <param name="Size">A regular file's size in bytes; 0 for the other kinds.</param>
/// <param name="LinkTarget">A symlink's target; null for the other kinds.</param>
public sealed record NarNode(string Path, NarNodeKind Kind, bool Executable, long ContentOffset, long Size, string? LinkTarget);

/// <summary>
/// Reads the structure of a NAR (Nix ARchive, the serialisation Nix hashes and binary caches serve) without its
/// file contents: each regular file is indexed by where its bytes are and how many there are, so a later step can
/// copy them straight from the stream. The format is validated strictly; anything off is an
/// <see cref="InvalidDataException"/> that says what and at which byte offset.
/// </summary>
/// <remarks>
/// The format: a string is a little-endian u64 length, its bytes, and zero padding to a multiple of 8. A NAR is the
/// string <c>nix-archive-1</c> and one node. A node is <c>( type T … )</c> with, for T = <c>regular</c>, an optional
/// <c>executable ""</c> then <c>contents</c> u64-size bytes padding; for <c>symlink</c>, <c>target</c> and the target;
/// for <c>directory</c>, any number of <c>entry ( name N node NODE )</c> with names in strictly increasing byte order.
/// </remarks>
public static class NarReader
{
    /// <summary>The longest entry name accepted, in UTF-8 bytes (NAME_MAX on Linux).</summary>
    public const int MaxNameLength = 255;

    /// <summary>The longest symlink target accepted, in UTF-8 bytes (PATH_MAX on Linux, less its NUL).</summary>
    public const int MaxTargetLength = 4095;

    /// <summary>How deep a node may be: the number of names in the longest path.</summary>
    public const int MaxDepth = 256;

    // The longest token is "nix-archive-1" (13 bytes); a longer string where a token belongs is refused before it is read.
    private const int MaxTokenLength = 16;

    // Holds the largest header string (a symlink target) with its length and padding; small enough that the contents of
    // the small files it reads ahead over are never a memory concern, large enough that headers cost few reads.
    private const int BufferSize = 16 * 1024;

    // Strict: bytes that are not valid UTF-8 throw instead of becoming U+FFFD (tar paths here are strings).
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The NAR's nodes in NAR order: depth first, each folder before its entries, entries in byte order of their names.
    /// File contents are not read: they are stepped over, by seeking when they are larger than what is buffered.
    /// </summary>
    /// <param name="nar">A readable, seekable stream positioned at the NAR's first byte (normally position 0), which the NAR runs to the end of.</param>
    /// <exception cref="ArgumentException"><paramref name="nar"/> cannot be read or cannot seek.</exception>
    /// <exception cref="InvalidDataException">The stream is not a well-formed NAR.</exception>
    public static IReadOnlyList<NarNode> Index(Stream nar)
    {
        ArgumentNullException.ThrowIfNull(nar);
        if (!nar.CanRead || !nar.CanSeek)
        {
            throw new ArgumentException("A NAR is indexed from a readable, seekable stream.", nameof(nar));
        }

        var cursor = new Cursor(nar);
        var nodes = new List<NarNode>();
        cursor.Expect("nix-archive-1"u8, new What("the NAR magic 'nix-archive-1'", null));
        ReadNode(cursor, string.Empty, 0, nodes);
        if (cursor.Position != cursor.Length)
        {
            throw Invalid($"{cursor.Length - cursor.Position} bytes follow the root node's closing ')', at byte offset {cursor.Position}");
        }

        return nodes;
    }

    private static void ReadNode(Cursor cursor, string path, int depth, List<NarNode> nodes)
    {
        var start = cursor.Position;
        if (depth > MaxDepth)
        {
            throw Invalid($"{Describe(path)} at byte offset {start} is {depth} levels deep; at most {MaxDepth} are allowed");
        }

        cursor.Expect("("u8, new What("'(' opening", path));
        cursor.Expect("type"u8, new What("'type' in", path));
        var typeOffset = cursor.Position;
        var type = cursor.ReadToken(new What("the type of", path));
        if (type.SequenceEqual("regular"u8))
        {
            ReadRegular(cursor, path, nodes);
        }
        else if (type.SequenceEqual("symlink"u8))
        {
            ReadSymlink(cursor, path, nodes);
        }
        else if (type.SequenceEqual("directory"u8))
        {
            ReadDirectory(cursor, path, depth, nodes);
        }
        else
        {
            throw Invalid($"unknown node type '{Show(type)}' of {Describe(path)} at byte offset {typeOffset}; expected 'regular', 'symlink' or 'directory'");
        }
    }

    private static void ReadRegular(Cursor cursor, string path, List<NarNode> nodes)
    {
        var executable = false;
        var tagOffset = cursor.Position;
        var tag = cursor.ReadToken(new What("'executable' or 'contents' in", path));
        if (tag.SequenceEqual("executable"u8))
        {
            executable = true;
            cursor.Expect(""u8, new What("the empty string after 'executable' in", path));
            tagOffset = cursor.Position;
            tag = cursor.ReadToken(new What("'contents' in", path));
            if (!tag.SequenceEqual("contents"u8))
            {
                throw Unexpected(new What("'contents' in", path), tag, tagOffset);
            }
        }
        else if (!tag.SequenceEqual("contents"u8))
        {
            throw Unexpected(new What("'executable' or 'contents' in", path), tag, tagOffset);
        }

        var size = cursor.ReadUInt64(new What("the size of", path));
        var offset = cursor.Position;
        if (size > (ulong)(cursor.Length - offset))
        {
            throw Invalid($"the contents of {Describe(path)} ({size} bytes from byte offset {offset}) run past the end of the NAR at byte offset {cursor.Length}");
        }

        cursor.Skip((long)size);
        cursor.SkipPadding((int)(size % 8), new What("the padding after the contents of", path));
        nodes.Add(new NarNode(path, NarNodeKind.Regular, executable, offset, (long)size, null));
        cursor.Expect(")"u8, new What("')' closing", path));
    }

    private static void ReadSymlink(Cursor cursor, string path, List<NarNode> nodes)
    {
        cursor.Expect("target"u8, new What("'target' in", path));
        var offset = cursor.Position;
        var target = cursor.ReadString(MaxTargetLength, new What("the target of", path));

        // symlink(2) can make neither of these: no file system dump has them.
        if (target.IsEmpty)
        {
            throw Invalid($"the target of {Describe(path)} at byte offset {offset} is empty");
        }

        if (target.Contains((byte)0))
        {
            throw Invalid($"the target of {Describe(path)} at byte offset {offset} contains a NUL byte");
        }

        var text = Decode(target, new What("the target of", path), offset);
        nodes.Add(new NarNode(path, NarNodeKind.Symlink, false, 0, 0, text));
        cursor.Expect(")"u8, new What("')' closing", path));
    }

    private static void ReadDirectory(Cursor cursor, string path, int depth, List<NarNode> nodes)
    {
        nodes.Add(new NarNode(path, NarNodeKind.Directory, false, 0, 0, null));
        var previous = new byte[MaxNameLength];
        var previousLength = -1;
        while (true)
        {
            var tagOffset = cursor.Position;
            var tag = cursor.ReadToken(new What("'entry' or ')' in", path));
            if (tag.SequenceEqual(")"u8))
            {
                return;
            }

            if (!tag.SequenceEqual("entry"u8))
            {
                throw Unexpected(new What("'entry' or ')' in", path), tag, tagOffset);
            }

            cursor.Expect("("u8, new What("'(' opening an entry of", path));
            cursor.Expect("name"u8, new What("'name' in an entry of", path));
            var nameOffset = cursor.Position;
            var name = cursor.ReadString(MaxNameLength, new What("an entry name in", path));
            CheckName(name, path, nameOffset);
            if (previousLength >= 0)
            {
                var order = name.SequenceCompareTo(previous.AsSpan(0, previousLength));
                if (order <= 0)
                {
                    var problem = order == 0 ? "appears twice" : $"comes after '{Show(previous.AsSpan(0, previousLength))}' but sorts before it";
                    throw Invalid($"the entry '{Show(name)}' of {Describe(path)} at byte offset {nameOffset} {problem}; names must be unique and in byte order");
                }
            }

            name.CopyTo(previous);
            previousLength = name.Length;
            var text = Decode(name, new What("an entry name in", path), nameOffset);
            var child = path.Length == 0 ? text : path + "/" + text;
            cursor.Expect("node"u8, new What("'node' after the name of", child));
            ReadNode(cursor, child, depth + 1, nodes);
            cursor.Expect(")"u8, new What("')' closing the entry of", child));
        }
    }

    /// <summary>A name must be one path component: not empty, not . or .., without '/' or NUL.</summary>
    private static void CheckName(ReadOnlySpan<byte> name, string path, long offset)
    {
        var problem = name.IsEmpty ? "is empty"
            : name.SequenceEqual("."u8) || name.SequenceEqual(".."u8) ? "is not a file name"
            : name.Contains((byte)'/') ? "contains '/'"
            : name.Contains((byte)0) ? "contains a NUL byte"
            : null;
        if (problem is not null)
        {
            throw Invalid($"the entry name '{Show(name)}' in {Describe(path)} at byte offset {offset} {problem}");
        }
    }

    private static string Decode(ReadOnlySpan<byte> bytes, What what, long offset)
    {
        try
        {
            return Utf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"{what} at byte offset {offset} is not valid UTF-8: '{Show(bytes)}'", e);
        }
    }

    private static string Describe(string path) => path.Length == 0 ? "the root node" : $"'{path}'";

    /// <summary>Bytes for a message: as text when they are printable UTF-8, else with \xNN escapes.</summary>
    private static string Show(ReadOnlySpan<byte> bytes)
    {
        const int Longest = 80;
        var shown = bytes.Length > Longest ? bytes[..Longest] : bytes;
        var suffix = bytes.Length > Longest ? "…" : string.Empty;
        if (IsPrintableUtf8(shown))
        {
            return Utf8.GetString(shown) + suffix;
        }

        var text = new StringBuilder();
        foreach (var b in shown)
        {
            text.Append(b is >= 0x20 and < 0x7f and not (byte)'\\' ? ((char)b).ToString() : $"\\x{b:x2}");
        }

        return text.Append(suffix).ToString();
    }

    private static bool IsPrintableUtf8(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return !Utf8.GetString(bytes).Any(char.IsControl);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static InvalidDataException Unexpected(What expected, ReadOnlySpan<byte> found, long offset) =>
        Invalid($"expected {expected} at byte offset {offset}, found '{Show(found)}'");

    private static InvalidDataException Invalid(string message) => new(message);

    /// <summary>
    /// What is being read, for the message if it goes wrong: <see cref="Prefix"/> then the node at <see cref="Path"/>
    /// (none when null). Put together only for a message, so reading well-formed NARs builds no strings for it.
    /// </summary>
    private readonly record struct What(string Prefix, string? Path)
    {
        public override string ToString() => Path is null ? Prefix : $"{Prefix} {Describe(Path)}";
    }

    /// <summary>
    /// Reads the NAR's strings through a small buffer and steps over file contents: within the buffer when it already
    /// holds them, else by seeking. Positions are the stream's.
    /// </summary>
    private sealed class Cursor
    {
        private readonly Stream _stream;
        private readonly byte[] _buffer = new byte[BufferSize];

        // The stream position of _buffer[0]; the unread bytes are _buffer[_start.._end].
        private long _bufferPosition;
        private int _start;
        private int _end;

        public Cursor(Stream stream)
        {
            _stream = stream;
            _bufferPosition = stream.Position;
            Length = stream.Length;
        }

        public long Length { get; }

        public long Position => _bufferPosition + _start;

        public ulong ReadUInt64(What what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));

        /// <summary>A string of at most <paramref name="limit"/> bytes, its padding checked. Valid until the next read.</summary>
        public ReadOnlySpan<byte> ReadString(int limit, What what)
        {
            var offset = Position;
            var length = ReadUInt64(what);
            if (length > (ulong)limit)
            {
                throw Invalid($"{what} at byte offset {offset} is {length} bytes long; at most {limit} are allowed");
            }

            return TakePadded((int)length, what);
        }

        /// <summary>A token (a short string). Valid until the next read.</summary>
        public ReadOnlySpan<byte> ReadToken(What expected)
        {
            var offset = Position;
            var length = ReadUInt64(expected);
            if (length > MaxTokenLength)
            {
                throw Invalid($"expected {expected} at byte offset {offset}, found a string of {length} bytes");
            }

            return TakePadded((int)length, expected);
        }

        public void Expect(ReadOnlySpan<byte> token, What expected)
        {
            var offset = Position;
            var found = ReadToken(expected);
            if (!found.SequenceEqual(token))
            {
                throw Unexpected(expected, found, offset);
            }
        }

        /// <summary>Steps over <paramref name="count"/> bytes (which the caller checked are in the stream) without reading them.</summary>
        public void Skip(long count)
        {
            if (count <= _end - _start)
            {
                _start += (int)count;
                return;
            }

            var target = Position + count;
            _stream.Seek(target, SeekOrigin.Begin);
            _bufferPosition = target;
            _start = 0;
            _end = 0;
        }

        /// <summary>Reads and checks the zero padding after a string of <paramref name="unpadded"/> (mod 8) bytes.</summary>
        public void SkipPadding(int unpadded, What what)
        {
            var length = (8 - unpadded) % 8;
            var offset = Position;
            CheckPadding(Take(length, what), offset);
        }

        private ReadOnlySpan<byte> TakePadded(int length, What what)
        {
            // One take for the bytes and their padding: a second could refill the buffer under the first's span.
            var offset = Position;
            var padded = (length + 7) & ~7;
            var bytes = Take(padded, what);
            CheckPadding(bytes[length..], offset + length);
            return bytes[..length];
        }

        private static void CheckPadding(ReadOnlySpan<byte> padding, long offset)
        {
            var nonZero = padding.IndexOfAnyExcept((byte)0);
            if (nonZero >= 0)
            {
                throw Invalid($"non-zero padding byte 0x{padding[nonZero]:x2} at byte offset {offset + nonZero}");
            }
        }

        private ReadOnlySpan<byte> Take(int count, What what)
        {
            if (_end - _start < count)
            {
                Fill(count, what);
            }

            var span = _buffer.AsSpan(_start, count);
            _start += count;
            return span;
        }

        /// <summary>Moves the unread bytes to the front and reads until at least <paramref name="count"/> are there.</summary>
        private void Fill(int count, What what)
        {
            var kept = _end - _start;
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, kept);
            _bufferPosition += _start;
            _start = 0;
            _end = kept;
            while (_end < count)
            {
                var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
                if (read == 0)
                {
                    throw Invalid($"the NAR ends at byte offset {_bufferPosition + _end}, in the middle of {what}");
                }

                _end += read;
            }
        }
    }
}
