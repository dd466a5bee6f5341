using System.Buffers.Binary;
using System.Text;
using Nixery.Build.LayerFormat;

namespace Nixery.Build.Elf;

/// <summary>A file that cannot be patched (no program header to reuse, say).</summary>
public sealed class ElfPatchException(string message) : Exception(message);

/// <summary>
/// Gives an ELF file a new program interpreter and a new DT_RUNPATH, as <c>patchelf --set-interpreter
/// --set-rpath</c> does, without moving a byte of the original: the new interpreter string, a copy of the dynamic
/// string table with the search path added and a copy of the dynamic section pointing at it are appended in a new
/// PT_LOAD segment (read-write, like the dynamic section it replaces). That segment takes the program header entry of
/// a PT_NOTE (notes are not needed to load or run a file; they stay in the file where they were) or of an unused
/// PT_NULL, and sits after the last PT_LOAD, in memory and in the table, so loaders that size the mapping from the
/// first and last PT_LOAD see all of it. PT_INTERP and PT_DYNAMIC, and the .interp, .dynamic and .dynstr section
/// headers (which tools such as readelf and patchelf read), point at the copies. Data appended after the ELF image
/// (a single-file bundle) keeps its offsets. An existing DT_RPATH becomes a DT_RUNPATH, as patchelf does.
/// </summary>
public static class ElfPatcher
{
    private const uint SectionDynamic = 6;
    private const uint SectionStringTable = 3;
    private const ulong MinimumPageSize = 0x1000;

    /// <summary>The patch, or null when the file already has this interpreter and search path.</summary>
    /// <param name="interpreter">The new PT_INTERP, for a file that has one; null to keep it.</param>
    /// <param name="searchPath">The new DT_RUNPATH entries.</param>
    public static FilePatch? Plan(ElfFile elf, string? interpreter, IReadOnlyList<string> searchPath)
    {
        if (!elf.IsDynamic)
        {
            throw new ElfPatchException("it is statically linked (it has no dynamic section)");
        }

        var runPath = string.Join(':', searchPath);
        var setInterpreter = interpreter is not null && elf.Interpreter is not null && elf.Interpreter != interpreter;
        var hasRPath = elf.Dynamic.Any(d => d.Tag == DynamicEntry.RPath);
        var currentRunPath = elf.Dynamic.Where(d => d.Tag == DynamicEntry.RunPath).Select(d => elf.StringAt(d.Value)).FirstOrDefault();
        var setRunPath = hasRPath || currentRunPath != runPath;
        if (!setInterpreter && !setRunPath)
        {
            return null;
        }

        var loads = elf.ProgramHeaders.Where(p => p.Type == ProgramHeader.Load).ToList();
        if (loads.Count == 0)
        {
            throw new ElfPatchException("it has no loadable segment");
        }

        var pageSize = Math.Max(MinimumPageSize, loads.Max(p => p.Align));
        var segmentOffset = AlignUp((ulong)elf.FileSize, 16);
        var segmentAddress = AlignUp(loads.Max(p => p.VirtualAddress + p.MemorySize), pageSize) + (segmentOffset % pageSize);

        // The new segment: [interpreter] [dynamic string table] [dynamic section], each 8-byte aligned.
        var content = new MemoryStream();
        ulong interpreterAt = 0, stringsAt = 0, dynamicAt = 0;
        byte[] interpreterBytes = [], dynamicBytes = [];
        if (setInterpreter)
        {
            interpreterAt = (ulong)content.Length;
            interpreterBytes = [.. Encoding.UTF8.GetBytes(interpreter!), 0];
            content.Write(interpreterBytes);
            Pad(content);
        }

        ulong stringsSize = 0;
        if (setRunPath)
        {
            stringsAt = (ulong)content.Length;
            var runPathIndex = (ulong)elf.DynamicStrings.Length;
            content.Write(elf.DynamicStrings.Span);
            content.Write(Encoding.UTF8.GetBytes(runPath));
            content.WriteByte(0);
            stringsSize = (ulong)content.Length - stringsAt;
            Pad(content);

            dynamicAt = (ulong)content.Length;
            var entries = elf.Dynamic
                .Where(d => d.Tag is not (DynamicEntry.Null or DynamicEntry.RPath or DynamicEntry.RunPath))
                .Select(d => d.Tag switch
                {
                    DynamicEntry.StringTable => d with { Value = segmentAddress + stringsAt },
                    DynamicEntry.StringTableSize => d with { Value = stringsSize },
                    _ => d,
                })
                .Append(new DynamicEntry(DynamicEntry.RunPath, runPathIndex))
                .Append(new DynamicEntry(DynamicEntry.Null, 0))
                .ToList();
            dynamicBytes = new byte[entries.Count * DynamicEntry.Size];
            for (var i = 0; i < entries.Count; i++)
            {
                BinaryPrimitives.WriteInt64LittleEndian(dynamicBytes.AsSpan(i * DynamicEntry.Size), entries[i].Tag);
                BinaryPrimitives.WriteUInt64LittleEndian(dynamicBytes.AsSpan((i * DynamicEntry.Size) + 8), entries[i].Value);
            }

            content.Write(dynamicBytes);
        }

        var segmentSize = (ulong)content.Length;
        var table = ProgramHeaders(elf, segmentOffset, segmentAddress, segmentSize, pageSize, setInterpreter ? interpreterAt : null, (ulong)interpreterBytes.Length, setRunPath ? dynamicAt : null, (ulong)dynamicBytes.Length);
        var edits = new List<FileEdit> { new((long)elf.ProgramHeaderOffset, table) };

        // Section headers, for the tools that read those instead of the program headers.
        var oldStrings = elf.Dynamic.First(d => d.Tag == DynamicEntry.StringTable).Value;
        var oldInterpreter = elf.ProgramHeaders.FirstOrDefault(p => p.Type == ProgramHeader.Interpreter);
        foreach (var section in elf.SectionHeaders)
        {
            if (setInterpreter && oldInterpreter is not null && section.Address == oldInterpreter.VirtualAddress && section.Name == ".interp")
            {
                edits.Add(SectionEdit(section, segmentAddress + interpreterAt, segmentOffset + interpreterAt, (ulong)interpreterBytes.Length));
            }
            else if (setRunPath && section.Type == SectionDynamic)
            {
                edits.Add(SectionEdit(section, segmentAddress + dynamicAt, segmentOffset + dynamicAt, (ulong)dynamicBytes.Length));
            }
            else if (setRunPath && section.Type == SectionStringTable && section.Address == oldStrings && section.Address != 0)
            {
                edits.Add(SectionEdit(section, segmentAddress + stringsAt, segmentOffset + stringsAt, stringsSize));
            }
        }

        var appended = new byte[(segmentOffset - (ulong)elf.FileSize) + segmentSize];
        content.ToArray().CopyTo(appended, (int)(segmentOffset - (ulong)elf.FileSize));
        return new FilePatch(edits, appended);
    }

    /// <summary>
    /// The new program header table, as long as the old: the reused entry is gone, the new PT_LOAD follows the last
    /// PT_LOAD, and PT_INTERP and PT_DYNAMIC point into the new segment when they moved.
    /// </summary>
    private static byte[] ProgramHeaders(
        ElfFile elf, ulong segmentOffset, ulong segmentAddress, ulong segmentSize, ulong pageSize,
        ulong? interpreterAt, ulong interpreterSize, ulong? dynamicAt, ulong dynamicSize)
    {
        var programs = elf.ProgramHeaders.ToList();
        var reused = ReusableEntry(elf)
            ?? throw new ElfPatchException("none of its program headers can be reused for the new segment (it has no PT_NOTE)");
        programs.RemoveAt(reused);
        for (var i = 0; i < programs.Count; i++)
        {
            var p = programs[i];
            if (p.Type == ProgramHeader.Interpreter && interpreterAt is { } interp)
            {
                programs[i] = p with { Offset = segmentOffset + interp, VirtualAddress = segmentAddress + interp, PhysicalAddress = segmentAddress + interp, FileSize = interpreterSize, MemorySize = interpreterSize };
            }
            else if (p.Type == ProgramHeader.Dynamic && dynamicAt is { } dyn)
            {
                programs[i] = p with { Offset = segmentOffset + dyn, VirtualAddress = segmentAddress + dyn, PhysicalAddress = segmentAddress + dyn, FileSize = dynamicSize, MemorySize = dynamicSize };
            }
        }

        var lastLoad = programs.FindLastIndex(p => p.Type == ProgramHeader.Load);
        programs.Insert(lastLoad + 1, new ProgramHeader(ProgramHeader.Load, ProgramHeader.Read | ProgramHeader.Write, segmentOffset, segmentAddress, segmentAddress, segmentSize, segmentSize, pageSize));

        var bytes = new byte[programs.Count * ProgramHeader.Size];
        for (var i = 0; i < programs.Count; i++)
        {
            programs[i].WriteTo(bytes.AsSpan(i * ProgramHeader.Size));
        }

        return bytes;
    }

    /// <summary>An unused PT_NULL, else the last PT_NOTE, else (in a shared library, where loaders do not need it) PT_PHDR.</summary>
    private static int? ReusableEntry(ElfFile elf)
    {
        var programs = elf.ProgramHeaders;
        foreach (var type in new[] { ProgramHeader.Null, ProgramHeader.Note })
        {
            var index = programs.ToList().FindLastIndex(p => p.Type == type);
            if (index >= 0)
            {
                return index;
            }
        }

        if (elf.Interpreter is null)
        {
            var index = programs.ToList().FindIndex(p => p.Type == ProgramHeader.HeaderTable);
            if (index >= 0)
            {
                return index;
            }
        }

        return null;
    }

    /// <summary>Rewrites sh_addr, sh_offset and sh_size (24 contiguous bytes) of a section header.</summary>
    private static FileEdit SectionEdit(SectionHeader section, ulong address, ulong offset, ulong size)
    {
        var bytes = new byte[24];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, address);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), offset);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), size);
        return new FileEdit(section.FileOffsetOfHeader + 16, bytes);
    }

    private static void Pad(MemoryStream stream)
    {
        while (stream.Length % 8 != 0)
        {
            stream.WriteByte(0);
        }
    }

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) / alignment * alignment;
}
