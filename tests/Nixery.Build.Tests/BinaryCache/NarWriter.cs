using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Nixery.Build.Tests.BinaryCache;

/// <summary>A tree to write as a NAR: a file, a symlink or a folder.</summary>
public abstract record NarTree;

/// <summary>A regular file and whether it is executable.</summary>
public sealed record NarFile(byte[] Contents, bool Executable = false) : NarTree
{
    public NarFile(string contents, bool executable = false)
        : this(Encoding.UTF8.GetBytes(contents), executable)
    {
    }
}

/// <summary>A symlink; its target as raw bytes (so tests can write ones that are not UTF-8).</summary>
public sealed record NarSymlink(byte[] Target) : NarTree
{
    public NarSymlink(string target)
        : this(Encoding.UTF8.GetBytes(target))
    {
    }
}

/// <summary>A folder; its entries are written in the order given, sorted or not.</summary>
public sealed record NarDirectory(params NarEntry[] Entries) : NarTree;

/// <summary>A folder's entry; its name as raw bytes (so tests can write ones that are not UTF-8).</summary>
public sealed record NarEntry(byte[] Name, NarTree Node)
{
    public NarEntry(string name, NarTree node)
        : this(Encoding.UTF8.GetBytes(name), node)
    {
    }
}

/// <summary>
/// Writes NAR bytes for the reader's tests: whole trees with <see cref="Write"/>, or token by token (with
/// <see cref="Raw"/> and <see cref="Length"/> for the malformed ones). <see cref="Position"/> tells where the next
/// byte goes, for tests that check the offsets in the reader's answers and messages.
/// </summary>
public sealed class NarWriter
{
    private readonly ArrayBufferWriter<byte> _bytes = new();

    /// <summary>The byte offset the next write goes to.</summary>
    public long Position => _bytes.WrittenCount;

    /// <summary>A whole NAR: the magic and <paramref name="root"/>.</summary>
    public static byte[] Write(NarTree root) => new NarWriter().Magic().Node(root).ToArray();

    public NarWriter Magic() => Token("nix-archive-1");

    /// <summary>A string given as text (written as UTF-8).</summary>
    public NarWriter Token(string token) => Bytes(Encoding.UTF8.GetBytes(token));

    /// <summary>A string: its length, its bytes, zero padding to a multiple of 8.</summary>
    public NarWriter Bytes(ReadOnlySpan<byte> bytes) => Length((ulong)bytes.Length).Raw(bytes).Padding(bytes.Length);

    /// <summary>A u64, little-endian (a string's length or a file's size).</summary>
    public NarWriter Length(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_bytes.GetSpan(8), value);
        _bytes.Advance(8);
        return this;
    }

    public NarWriter Raw(ReadOnlySpan<byte> bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    /// <summary>The zero bytes that pad <paramref name="unpadded"/> bytes to a multiple of 8.</summary>
    public NarWriter Padding(long unpadded) => Raw(new byte[(8 - (unpadded % 8)) % 8]);

    /// <summary>A node: <c>( type … )</c>, folders with their entries as listed.</summary>
    public NarWriter Node(NarTree node)
    {
        Token("(").Token("type");
        switch (node)
        {
            case NarFile file:
                Token("regular");
                if (file.Executable)
                {
                    Token("executable").Token(string.Empty);
                }

                Token("contents").Length((ulong)file.Contents.Length).Raw(file.Contents).Padding(file.Contents.Length);
                break;
            case NarSymlink link:
                Token("symlink").Token("target").Bytes(link.Target);
                break;
            case NarDirectory directory:
                Token("directory");
                foreach (var entry in directory.Entries)
                {
                    Token("entry").Token("(").Token("name").Bytes(entry.Name).Token("node").Node(entry.Node).Token(")");
                }

                break;
            default:
                throw new ArgumentException($"Unknown tree node {node}.", nameof(node));
        }

        return Token(")");
    }

    public byte[] ToArray() => _bytes.WrittenSpan.ToArray();
}
