using System.Buffers;
using System.Globalization;
using System.Text;
using ICSharpCode.SharpZipLib.Tar;
using Nixery.Build.Streams;

namespace Nixery.Build.LayerFormat;

/// <summary>
/// Writes a POSIX (ustar + PAX) tar whose bytes depend only on the entries given:
/// one fixed modification time, empty owner names, uid/gid 0 unless an entry says otherwise, the caller's order and modes.
/// Names or link targets that are longer than ustar allows or not ASCII get a PAX extended
/// header (<c>path</c>, <c>linkpath</c>) with a stable name. Nothing is buffered beyond one copy buffer.
/// SharpZipLib encodes each 512-byte header (fields, octal or base-256 numbers, checksum); the writer frames the
/// archive itself — file bytes go straight to the output in large copies, padded to 512 bytes, and the end is two
/// zero blocks padded to a 10240-byte record, as SharpZipLib's own stream does (whose 512-byte block loop
/// dominated the time spent on big files).
/// </summary>
public sealed class DeterministicTarWriter : IDisposable
{
    private const int UstarNameLength = 100;
    private const int CopyBufferSize = 1 << 20;
    private const int BlockSize = 512;
    private const int RecordSize = 20 * BlockSize;

    private static readonly byte[] Zeros = new byte[RecordSize];

    private readonly Stream _output;
    private readonly byte[] _header = new byte[BlockSize];
    private readonly DateTime _modificationTime;
    private long _position;
    private bool _finished;

    // Set when a write failed part-way: the archive cannot be finished, and trying (on Dispose) would
    // throw again and hide the first error.
    private bool _failed;

    /// <param name="output">Receives the tar bytes; left open.</param>
    /// <param name="modificationTime">The mtime of every entry (whole seconds are kept).</param>
    public DeterministicTarWriter(Stream output, DateTimeOffset modificationTime)
    {
        _output = output;
        _modificationTime = modificationTime.UtcDateTime;
    }

    public void Write(LayerEntry entry)
    {
        // Checked before anything is written: a refused name leaves the archive as it was.
        RequireRelativeName(entry.Path);
        switch (entry)
        {
            case DirectoryEntry d:
                Guarded(() => PutHeader(d.Path + "/", TarHeader.LF_DIR, d.Mode, size: 0, linkTarget: null, d.Uid, d.Gid));
                break;
            case FileEntry f:
                WriteFile(f);
                break;
            case SymlinkEntry s:
                Guarded(() => PutHeader(s.Path, TarHeader.LF_SYMLINK, UnixModes.Symlink, size: 0, linkTarget: s.Target, s.Uid, s.Gid));
                break;
            case InlineFileEntry i:
                using (var content = new MemoryStream(i.Content.ToArray(), writable: false))
                {
                    Guarded(() => CopyFile(i.Path, i.Mode, i.Content.Length, content, i.Uid, i.Gid));
                }

                break;
            default:
                throw new ArgumentException($"Unknown layer entry type {entry.GetType().Name}.", nameof(entry));
        }
    }

    public void WriteDirectory(string path, int mode) => Write(new DirectoryEntry(path, mode));

    public void WriteSymlink(string path, string target) => Write(new SymlinkEntry(path, target));

    /// <summary>Writes a regular file owned by root, streaming its bytes from <paramref name="content"/>.</summary>
    public void WriteFile(string path, int mode, long size, Stream content)
    {
        RequireRelativeName(path);
        Guarded(() => CopyFile(path, mode, size, content, uid: 0, gid: 0));
    }

    private void CopyFile(string path, int mode, long size, Stream content, int uid, int gid)
    {
        PutHeader(path, TarHeader.LF_NORMAL, mode, size, linkTarget: null, uid, gid);
        // Big files get big reads; a small one does not need a megabyte rented (and allocated, the first time).
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(size, 4096, CopyBufferSize));
        try
        {
            long remaining = size;
            while (remaining > 0)
            {
                var read = content.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
                if (read == 0)
                {
                    throw new IOException($"'{path}' ended after {size - remaining} of {size} bytes; it changed while the layer was written.");
                }

                WriteRaw(buffer.AsSpan(0, read));
                remaining -= read;
            }

            if (content.ReadByte() != -1)
            {
                throw new IOException($"'{path}' grew beyond {size} bytes; it changed while the layer was written.");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        PadToBlock();
    }

    /// <summary>Writes the end-of-archive blocks. The output stream stays open.</summary>
    public void Finish()
    {
        if (!_finished)
        {
            Guarded(() =>
            {
                // End of archive: two zero blocks, then zeros up to a whole record.
                WriteRaw(Zeros.AsSpan(0, 2 * BlockSize));
                var rest = (int)((RecordSize - (_position % RecordSize)) % RecordSize);
                WriteRaw(Zeros.AsSpan(0, rest));
            });
            _finished = true;
        }
    }

    /// <summary>
    /// Finishes the archive, unless a write failed: then the output is incomplete and is left as it is
    /// (the caller discards it), so the first error is the one that propagates.
    /// </summary>
    public void Dispose()
    {
        if (_failed)
        {
            return;
        }

        Finish();
    }

    private void Guarded(Action write)
    {
        if (_failed)
        {
            throw new InvalidOperationException("An earlier write failed; the archive is incomplete and takes no more entries.");
        }

        try
        {
            write();
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    private void WriteFile(FileEntry file)
    {
        Stream stream = new FileStream(file.SourcePath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        if (file.Offset > 0)
        {
            stream = new WindowStream(stream, file.Offset, file.Size);
        }

        if (file.Patch is { } patch)
        {
            stream = patch.Apply(stream, file.Size);
        }

        using (stream)
        {
            Guarded(() => CopyFile(file.Path, file.Mode, file.LayerSize, stream, file.Uid, file.Gid));
        }
    }

    private void PutHeader(string name, byte typeFlag, int mode, long size, string? linkTarget, int uid, int gid)
    {
        var pax = new List<(string Key, string Value)>(2);
        var headerName = name;
        if (NeedsPax(name))
        {
            pax.Add(("path", name));
            headerName = AsciiFallback(name, name.EndsWith('/'));
        }

        var headerLink = linkTarget ?? string.Empty;
        if (linkTarget is not null && NeedsPax(linkTarget))
        {
            pax.Add(("linkpath", linkTarget));
            headerLink = AsciiFallback(linkTarget, directory: false);
        }

        if (pax.Count > 0)
        {
            WritePaxHeader(headerName, pax);
        }

        var header = NewHeader(headerName, typeFlag, mode, size);
        header.LinkName = headerLink;
        header.UserId = uid;
        header.GroupId = gid;
        WriteHeader(header);
    }

    /// <summary>
    /// Every entry stays inside the folder the tar is unpacked into: no leading '/', no '..', '.' or empty
    /// component, whatever the caller passes.
    /// </summary>
    private static void RequireRelativeName(string name)
    {
        if (name.Length == 0 || name.StartsWith('/') || name.Split('/').Any(part => part is "" or "." or ".."))
        {
            throw new ArgumentException($"The tar entry name '{name}' is not a plain relative path: it has a leading '/', or a '..', '.' or empty component.", nameof(name));
        }
    }

    private void WritePaxHeader(string headerName, List<(string Key, string Value)> records)
    {
        var data = EncodePaxRecords(records);
        var baseName = headerName.TrimEnd('/');
        baseName = baseName[(baseName.LastIndexOf('/') + 1)..];
        var paxName = AsciiFallback("PaxHeaders/" + baseName, directory: false);
        WriteHeader(NewHeader(paxName, TarHeader.LF_XHDR, UnixModes.Regular, data.Length));
        WriteRaw(data);
        PadToBlock();
    }

    private void WriteHeader(TarHeader header)
    {
        Array.Clear(_header);
        header.WriteHeader(_header, Encoding.UTF8);
        WriteRaw(_header);
    }

    private void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        _output.Write(bytes);
        _position += bytes.Length;
    }

    private void PadToBlock() => WriteRaw(Zeros.AsSpan(0, (int)((BlockSize - (_position % BlockSize)) % BlockSize)));

    private TarHeader NewHeader(string name, byte typeFlag, int mode, long size) => new()
    {
        Name = name,
        TypeFlag = typeFlag,
        Mode = mode,
        Size = size,
        ModTime = _modificationTime,
        UserId = 0,
        GroupId = 0,
        UserName = string.Empty,
        GroupName = string.Empty,
        LinkName = string.Empty,
        Magic = "ustar",
        Version = "00",
    };

    private static bool NeedsPax(string value) =>
        Encoding.UTF8.GetByteCount(value) > UstarNameLength || !Ascii.IsValid(value);

    /// <summary>The stand-in name a reader without PAX support sees: ASCII, at most 100 bytes, stable.</summary>
    private static string AsciiFallback(string value, bool directory)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            builder.Append(c is >= ' ' and <= '~' ? c : '_');
        }

        var limit = directory ? UstarNameLength - 1 : UstarNameLength;
        var text = builder.ToString().TrimEnd('/');
        if (text.Length > limit)
        {
            text = text[..limit];
        }

        return directory ? text + "/" : text;
    }

    /// <summary>PAX records: "<len> <key>=<value>\n", where len counts the whole record including its own digits.</summary>
    internal static byte[] EncodePaxRecords(IEnumerable<(string Key, string Value)> records)
    {
        using var buffer = new MemoryStream();
        foreach (var (key, value) in records)
        {
            var body = Encoding.UTF8.GetByteCount($" {key}={value}\n");
            var length = body + 1;
            while (length.ToString(CultureInfo.InvariantCulture).Length + body != length)
            {
                length++;
            }

            var record = Encoding.UTF8.GetBytes($"{length.ToString(CultureInfo.InvariantCulture)} {key}={value}\n");
            buffer.Write(record);
        }

        return buffer.ToArray();
    }
}
