using System.Buffers.Binary;
using System.Text;

namespace Nixery.Build.Elf;

/// <summary>An entry of the program header table (ELF64).</summary>
public sealed record ProgramHeader(uint Type, uint Flags, ulong Offset, ulong VirtualAddress, ulong PhysicalAddress, ulong FileSize, ulong MemorySize, ulong Align)
{
    public const uint Null = 0;
    public const uint Load = 1;
    public const uint Dynamic = 2;
    public const uint Interpreter = 3;
    public const uint Note = 4;
    public const uint HeaderTable = 6;

    public const uint Read = 4;
    public const uint Write = 2;

    public const int Size = 56;

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Type);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Offset);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], VirtualAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], PhysicalAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[32..], FileSize);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[40..], MemorySize);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[48..], Align);
    }

    internal static ProgramHeader Parse(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(b),
        BinaryPrimitives.ReadUInt32LittleEndian(b[4..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[8..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[16..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[24..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[32..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[40..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[48..]));
}

/// <summary>An entry of the section header table (ELF64): where a named section is in the file and in memory.</summary>
/// <param name="Index">Its position in the table.</param>
/// <param name="FileOffsetOfHeader">Where this header itself is in the file.</param>
public sealed record SectionHeader(int Index, long FileOffsetOfHeader, string Name, uint Type, ulong Address, ulong Offset, ulong Size)
{
    public const int HeaderSize = 64;
}

/// <summary>An entry of the dynamic section: a tag and its value.</summary>
public readonly record struct DynamicEntry(long Tag, ulong Value)
{
    public const long Null = 0;
    public const long Needed = 1;
    public const long StringTable = 5;
    public const long StringTableSize = 10;
    public const long RPath = 15;
    public const long RunPath = 29;

    public const int Size = 16;
}

/// <summary>
/// What the dynamic loader reads of a 64-bit little-endian ELF file (x86-64, AArch64): the header, the program and
/// section header tables, the interpreter, the dynamic section and its string table. Only those parts are read,
/// never the whole file. Malformed files are an <see cref="InvalidDataException"/>.
/// </summary>
public sealed class ElfFile
{
    public const ushort SharedObjectType = 3;
    public const ushort MachineX8664 = 62;
    public const ushort MachineAArch64 = 183;

    private const int HeaderSize = 64;

    private ElfFile()
    {
    }

    public required string Path { get; init; }

    public long FileSize { get; private init; }

    public ushort Type { get; private init; }

    public ushort Machine { get; private init; }

    public ulong ProgramHeaderOffset { get; private init; }

    public IReadOnlyList<ProgramHeader> ProgramHeaders { get; private init; } = [];

    public IReadOnlyList<SectionHeader> SectionHeaders { get; private init; } = [];

    /// <summary>The program interpreter (PT_INTERP), for dynamic executables.</summary>
    public string? Interpreter { get; private init; }

    /// <summary>The dynamic section's entries, up to and including the first DT_NULL; empty for a static file.</summary>
    public IReadOnlyList<DynamicEntry> Dynamic { get; private init; } = [];

    /// <summary>The dynamic string table (DT_STRTAB, DT_STRSZ bytes).</summary>
    public ReadOnlyMemory<byte> DynamicStrings { get; private init; }

    public bool IsDynamic => Dynamic.Count > 0;

    /// <summary>The DT_NEEDED sonames, in order.</summary>
    public IReadOnlyList<string> Needed => Dynamic.Where(d => d.Tag == DynamicEntry.Needed).Select(d => StringAt(d.Value)).ToList();

    /// <summary>DT_RUNPATH, else DT_RPATH, split at ':'; empty when there is neither.</summary>
    public IReadOnlyList<string> SearchPath
    {
        get
        {
            var entry = Dynamic.Where(d => d.Tag == DynamicEntry.RunPath).Concat(Dynamic.Where(d => d.Tag == DynamicEntry.RPath)).FirstOrDefault();
            return entry.Tag == DynamicEntry.Null ? [] : StringAt(entry.Value).Split(':', StringSplitOptions.RemoveEmptyEntries);
        }
    }

    /// <summary>Whether the file starts with the ELF magic bytes (reads four bytes).</summary>
    public static bool HasElfMagic(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        Span<byte> magic = stackalloc byte[4];
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && IsMagic(magic);
    }

    /// <summary>Reads <paramref name="path"/>, or returns null when it is not a 64-bit little-endian ELF file.</summary>
    public static ElfFile? TryRead(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var header = new byte[HeaderSize];
        if (stream.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) < HeaderSize || !IsMagic(header) || header[4] != 2 || header[5] != 1)
        {
            return null;
        }

        var length = stream.Length;
        var phOffset = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(32));
        var shOffset = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(40));
        var phEntrySize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(54));
        var phCount = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(56));
        var shEntrySize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(58));
        int shCount = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(60));
        int shStringIndex = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(62));
        if (phCount == 0xffff)
        {
            throw new InvalidDataException("it has more program headers than the ELF header can count");
        }

        if (phCount > 0 && phEntrySize != ProgramHeader.Size)
        {
            throw new InvalidDataException($"its program headers are {phEntrySize} bytes, not {ProgramHeader.Size}");
        }

        var table = ReadAt(stream, phOffset, phCount * ProgramHeader.Size, length, "program header table");
        var programs = Enumerable.Range(0, phCount).Select(i => ProgramHeader.Parse(table.AsSpan(i * ProgramHeader.Size))).ToList();

        var sections = new List<SectionHeader>();
        if (shOffset != 0)
        {
            if (shEntrySize != SectionHeader.HeaderSize)
            {
                throw new InvalidDataException($"its section headers are {shEntrySize} bytes, not {SectionHeader.HeaderSize}");
            }

            // With 0xff00 sections or more, the count and the name table's index live in section 0.
            var first = ReadAt(stream, shOffset, SectionHeader.HeaderSize, length, "section header table");
            if (shCount == 0)
            {
                shCount = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(first.AsSpan(32)));
            }

            if (shStringIndex == 0xffff)
            {
                shStringIndex = (int)BinaryPrimitives.ReadUInt32LittleEndian(first.AsSpan(40));
            }

            var raw = ReadAt(stream, shOffset, checked(shCount * SectionHeader.HeaderSize), length, "section header table");
            var names = shStringIndex < shCount ? SectionBytes(stream, raw, shStringIndex, length) : [];
            for (var i = 0; i < shCount; i++)
            {
                var s = raw.AsSpan(i * SectionHeader.HeaderSize);
                sections.Add(new SectionHeader(
                    i,
                    (long)shOffset + (i * SectionHeader.HeaderSize),
                    CString(names, BinaryPrimitives.ReadUInt32LittleEndian(s)),
                    BinaryPrimitives.ReadUInt32LittleEndian(s[4..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(s[16..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(s[24..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(s[32..])));
            }
        }

        string? interpreter = null;
        if (programs.FirstOrDefault(p => p.Type == ProgramHeader.Interpreter) is { } interp)
        {
            var bytes = ReadAt(stream, interp.Offset, checked((int)interp.FileSize), length, "interpreter");
            interpreter = CString(bytes, 0);
        }

        var dynamic = new List<DynamicEntry>();
        byte[] strings = [];
        if (programs.FirstOrDefault(p => p.Type == ProgramHeader.Dynamic) is { } dyn)
        {
            var bytes = ReadAt(stream, dyn.Offset, checked((int)dyn.FileSize), length, "dynamic section");
            for (var at = 0; at + DynamicEntry.Size <= bytes.Length; at += DynamicEntry.Size)
            {
                var entry = new DynamicEntry(BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at)), BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at + 8)));
                dynamic.Add(entry);
                if (entry.Tag == DynamicEntry.Null)
                {
                    break;
                }
            }

            var stringTable = dynamic.FirstOrDefault(d => d.Tag == DynamicEntry.StringTable);
            var size = dynamic.FirstOrDefault(d => d.Tag == DynamicEntry.StringTableSize);
            if (stringTable.Tag != DynamicEntry.StringTable || size.Tag != DynamicEntry.StringTableSize)
            {
                throw new InvalidDataException("its dynamic section has no string table");
            }

            strings = ReadAt(stream, FileOffsetOf(programs, stringTable.Value), checked((int)size.Value), length, "dynamic string table");
        }

        return new ElfFile
        {
            Path = path,
            FileSize = length,
            Type = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(16)),
            Machine = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(18)),
            ProgramHeaderOffset = phOffset,
            ProgramHeaders = programs,
            SectionHeaders = sections,
            Interpreter = interpreter,
            Dynamic = dynamic,
            DynamicStrings = strings,
        };
    }

    /// <summary>The NUL-terminated string at <paramref name="offset"/> of the dynamic string table.</summary>
    public string StringAt(ulong offset) => offset < (ulong)DynamicStrings.Length
        ? CString(DynamicStrings.Span, (uint)offset)
        : throw new InvalidDataException($"a dynamic entry points at byte {offset} of a {DynamicStrings.Length}-byte string table");

    /// <summary>The file offset that holds virtual address <paramref name="address"/>, through the PT_LOAD segments.</summary>
    public static ulong FileOffsetOf(IReadOnlyList<ProgramHeader> programs, ulong address)
    {
        foreach (var p in programs)
        {
            if (p.Type == ProgramHeader.Load && address >= p.VirtualAddress && address < p.VirtualAddress + p.FileSize)
            {
                return p.Offset + (address - p.VirtualAddress);
            }
        }

        throw new InvalidDataException($"no loaded segment holds address 0x{address:x}");
    }

    private static bool IsMagic(ReadOnlySpan<byte> b) => b[0] == 0x7f && b[1] == (byte)'E' && b[2] == (byte)'L' && b[3] == (byte)'F';

    private static byte[] SectionBytes(FileStream stream, byte[] rawHeaders, int index, long length)
    {
        var s = rawHeaders.AsSpan(index * SectionHeader.HeaderSize);
        var offset = BinaryPrimitives.ReadUInt64LittleEndian(s[24..]);
        var size = BinaryPrimitives.ReadUInt64LittleEndian(s[32..]);
        return ReadAt(stream, offset, checked((int)size), length, "section name table");
    }

    private static byte[] ReadAt(FileStream stream, ulong offset, int count, long length, string what)
    {
        if (count < 0 || offset > (ulong)length || (ulong)count > (ulong)length - offset)
        {
            throw new InvalidDataException($"its {what} lies outside the file");
        }

        var bytes = new byte[count];
        stream.Position = (long)offset;
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static string CString(ReadOnlySpan<byte> bytes, uint offset)
    {
        if (offset >= bytes.Length)
        {
            return string.Empty;
        }

        var rest = bytes[(int)offset..];
        var end = rest.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? rest : rest[..end]);
    }
}
