using System.Globalization;
using System.Text;
using System.Text.Json;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;

namespace Nixery.Build.Archive;

/// <summary>
/// Reads a built image back from its archive (as <see cref="OciArchiveWriter"/> wrote it) without unpacking it:
/// the tar's headers are scanned once for where each <c>blobs/sha256/…</c> member's bytes start, and every blob of
/// the <see cref="BuiltImage"/> opens a read-only window onto the archive file there. So a sink that runs after the
/// image target (a registry push of an image found up to date) gets the very bytes of the archive, streamed, as
/// often as it needs them.
/// </summary>
public static class OciArchiveReader
{
    private const int Block = 512;

    public static BuiltImage Read(string archivePath)
    {
        try
        {
            var members = Members(archivePath);
            var index = Json(archivePath, members, "index.json");
            var manifests = index.GetProperty("manifests");
            if (manifests.GetArrayLength() == 0)
            {
                throw new FormatException("index.json lists no manifest");
            }

            var manifestDescriptor = OciDocuments.Descriptor(manifests[0]);
            var (configDescriptor, layers) = OciDocuments.Manifest(Json(archivePath, members, BlobName(manifestDescriptor.Digest)));
            var diffIds = OciDocuments.DiffIds(Json(archivePath, members, BlobName(configDescriptor.Digest)));
            if (diffIds.Count != layers.Count)
            {
                throw new FormatException($"the config names {diffIds.Count} diff IDs for {layers.Count} layers");
            }

            return new BuiltImage(
                Blob(archivePath, members, configDescriptor),
                Blob(archivePath, members, manifestDescriptor),
                layers.Select((layer, i) => new LayerBlob(Blob(archivePath, members, layer), diffIds[i], string.Empty)).ToList());
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or KeyNotFoundException or IOException or UnauthorizedAccessException)
        {
            throw new NixImageException(
                ErrorCodes.ImageArchiveUnreadable,
                $"The image archive '{archivePath}' could not be read back ({e.Message}). Build the image again (delete the archive, or run with -t:Rebuild) and push then.",
                e);
        }
    }

    private static string BlobName(Digest digest) => "blobs/sha256/" + digest.Hex;

    private static ImageBlob Blob(string archivePath, Dictionary<string, (long Offset, long Size)> members, Descriptor descriptor)
    {
        var name = BlobName(descriptor.Digest);
        if (!members.TryGetValue(name, out var member))
        {
            throw new FormatException($"{name} is missing");
        }

        if (member.Size != descriptor.Size)
        {
            throw new FormatException($"{name} has {member.Size} bytes, its descriptor says {descriptor.Size}");
        }

        return new ImageBlob(descriptor, () => (Stream)Window(archivePath, member.Offset, member.Size));
    }

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

    private static WindowStream Window(string archivePath, long offset, long size)
    {
        var file = new FileStream(archivePath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);
        file.Seek(offset, SeekOrigin.Begin);
        return new WindowStream(file, size);
    }

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

    /// <summary>Reads at most <c>size</c> bytes of the file from where it stands; owns the file.</summary>
    private sealed class WindowStream(FileStream file, long size) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => size;

        private long Start { get; } = file.Position;

        public override long Position
        {
            get => _read;
            set => Seek(value, SeekOrigin.Begin);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var wanted = (int)Math.Min(buffer.Length, size - _read);
            if (wanted <= 0)
            {
                return 0;
            }

            var read = file.Read(buffer[..wanted]);
            _read += read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var wanted = (int)Math.Min(buffer.Length, size - _read);
            if (wanted <= 0)
            {
                return 0;
            }

            var read = await file.ReadAsync(buffer[..wanted], cancellationToken);
            _read += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin)
        {
            var target = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _read + offset,
                _ => size + offset,
            };
            ArgumentOutOfRangeException.ThrowIfNegative(target);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(target, size);
            file.Seek(Start + target, SeekOrigin.Begin);
            _read = target;
            return target;
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                file.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
