using System.Globalization;
using System.Text;
using System.Text.Json;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Streams;

namespace Nixery.Build.Sinks;

/// <summary>
/// Reads a built image back from its archive (as <see cref="OciArchiveWriter"/> wrote it) without unpacking it:
/// the tar's headers are scanned once for where each <c>blobs/sha256/…</c> member's bytes start, and every blob of
/// the <see cref="BuiltImage"/> (read by the one reader, <see cref="OciImageReader"/>) opens a read-only window onto
/// the archive file there, streamed, as often as a sink needs it.
/// </summary>
public static class OciArchiveReader
{
    private const int Block = 512;

    public static BuiltImage Read(string archivePath)
    {
        try
        {
            var members = new ArchiveMembers(archivePath, Members(archivePath));
            var index = Json(archivePath, members.Entries, "index.json");
            var manifests = index.GetProperty("manifests");
            if (manifests.GetArrayLength() == 0)
            {
                throw new FormatException("index.json lists no manifest");
            }

            var manifest = OciDocuments.Descriptor(manifests[0]);
            return OciImageReader.Read(members, manifest.Digest, manifest.MediaType);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or KeyNotFoundException or IOException or UnauthorizedAccessException)
        {
            throw new NixImageException(
                ErrorCodes.ImageArchiveUnreadable,
                $"The image archive '{archivePath}' could not be read back ({e.Message}). Build the image again (delete the archive, or run with -t:Rebuild).",
                e);
        }
    }

    /// <summary>The archive's <c>blobs/sha256/…</c> members, each a window onto the archive file.</summary>
    private sealed class ArchiveMembers(string archivePath, Dictionary<string, (long Offset, long Size)> entries) : IBlobSource
    {
        public Dictionary<string, (long Offset, long Size)> Entries => entries;

        public ImageBlob? Find(Digest digest, long? size, string mediaType)
        {
            if (!entries.TryGetValue(BlobName(digest), out var member) || (size is { } expected && member.Size != expected))
            {
                return null;
            }

            return new ImageBlob(new Descriptor(mediaType, digest, member.Size), () => Window(archivePath, member.Offset, member.Size));
        }
    }

    private static string BlobName(Digest digest) => "blobs/sha256/" + digest.Hex;

    private static JsonElement Json(string archivePath, Dictionary<string, (long Offset, long Size)> members, string name)
    {
        if (!members.TryGetValue(name, out var member))
        {
            throw new FormatException($"{name} is missing");
        }

        if (member.Size > 16 * 1024 * 1024)
        {
            throw new FormatException($"{name} is too large for a JSON document");
        }

        using var stream = Window(archivePath, member.Offset, member.Size);
        using var document = JsonDocument.Parse(stream);
        return document.RootElement.Clone();
    }

    private static WindowStream Window(string archivePath, long offset, long size) =>
        new(new FileStream(archivePath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan), offset, size);

    /// <summary>Every regular member's name, data offset and size (PAX <c>path</c> and <c>size</c> records applied).</summary>
    private static Dictionary<string, (long Offset, long Size)> Members(string archivePath)
    {
        var members = new Dictionary<string, (long Offset, long Size)>(StringComparer.Ordinal);
        using var file = new FileStream(archivePath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: Block);
        var header = new byte[Block];
        Dictionary<string, string>? pax = null;
        while (true)
        {
            var offset = file.Position;
            if (file.Read(header, 0, Block) < Block)
            {
                throw new FormatException("the tar ends without its end marker");
            }

            if (Array.TrueForAll(header, b => b == 0))
            {
                return members;
            }

            var type = (char)header[156];
            var size = Number(header.AsSpan(124, 12));
            var dataOffset = offset + Block;
            if (type == 'x')
            {
                var records = new byte[size];
                file.ReadExactly(records);
                pax = PaxRecords(records);
            }
            else
            {
                if (pax?.TryGetValue("size", out var paxSize) == true)
                {
                    size = long.Parse(paxSize, CultureInfo.InvariantCulture);
                }

                if (type is '0' or '\0')
                {
                    var name = pax?.GetValueOrDefault("path") ?? Name(header);
                    members[name] = (dataOffset, size);
                }

                pax = null;
            }

            file.Seek(dataOffset + ((size + Block - 1) / Block * Block), SeekOrigin.Begin);
        }
    }

    private static string Name(byte[] header)
    {
        var name = Text(header.AsSpan(0, 100));
        var prefix = Encoding.ASCII.GetString(header, 257, 5) == "ustar" ? Text(header.AsSpan(345, 155)) : string.Empty;
        return prefix.Length > 0 ? prefix + "/" + name : name;
    }

    private static string Text(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    private static long Number(ReadOnlySpan<byte> field)
    {
        if ((field[0] & 0x80) != 0)
        {
            // GNU base-256 for large sizes.
            long value = field[0] & 0x7f;
            foreach (var b in field[1..])
            {
                value = (value << 8) | b;
            }

            return value;
        }

        var text = Encoding.ASCII.GetString(field).Trim('\0', ' ');
        return text.Length == 0 ? 0 : Convert.ToInt64(text, 8);
    }

    private static Dictionary<string, string> PaxRecords(byte[] data)
    {
        // "<length> <key>=<value>\n", the length counting the whole record.
        var records = new Dictionary<string, string>(StringComparer.Ordinal);
        var position = 0;
        while (position < data.Length)
        {
            var space = Array.IndexOf(data, (byte)' ', position);
            if (space < 0)
            {
                break;
            }

            var length = int.Parse(Encoding.ASCII.GetString(data, position, space - position), CultureInfo.InvariantCulture);
            var record = Encoding.UTF8.GetString(data, space + 1, length - (space - position) - 2);
            var equals = record.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                records[record[..equals]] = record[(equals + 1)..];
            }

            position += length;
        }

        return records;
    }
}
