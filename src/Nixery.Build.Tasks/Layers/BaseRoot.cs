using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Nixery.Build.Streams;

namespace Nixery.Build.Layers;

/// <summary>A file of a base image's root that the image built on it may extend: its bytes (null when it is not a regular file, or too large to read) and mode.</summary>
public sealed record BaseFile(byte[]? Content, int Mode)
{
    /// <summary>A regular file over <see cref="BaseRoot.MaxFileSize"/>: not read, so not extended.</summary>
    public bool TooLarge { get; init; }
}

/// <summary>A base layer whose uncompressed bytes are not what the base's config says (its diff ID): umoci and containerd refuse such an image.</summary>
public sealed class DiffIdMismatchException(int layer, string expected, string actual)
    : Exception($"layer {layer}'s content has the diff ID {actual}, but the image's config says {expected}")
{
    public int Layer { get; } = layer;
}

/// <summary>
/// What a base image's root holds at the few paths the image built on it touches: <c>/etc/passwd</c>,
/// <c>/etc/group</c>, <c>/etc</c>, <c>/tmp</c>, <c>/home</c> and <c>/home/app</c>. Read from its layers top-down, as the
/// container runtime stacks them: the top-most layer with an entry at a path decides it, and a whiteout
/// (<c>.wh.name</c>) or an opaque folder (<c>.wh..wh..opq</c>, the root included) hides what the layers below have,
/// however the tar spells the path (<c>./etc</c>, <c>/etc</c>, <c>etc</c>). Given the config's diff IDs, every layer is
/// read to its end and its uncompressed bytes checked against its diff ID on the way.
/// </summary>
public sealed record BaseRoot(BaseFile? Passwd, BaseFile? Group, bool HasEtc, bool HasTmp, bool HasHome, bool HasHomeApp)
{
    /// <summary>The largest /etc/passwd or /etc/group read (1 MiB); a larger one is <see cref="BaseFile.TooLarge"/>.</summary>
    public const int MaxFileSize = 1 << 20;

    private static readonly string[] Wanted = ["etc", "etc/passwd", "etc/group", "tmp", "home", "home/app"];

    /// <summary>A base without any of these paths (scratch).</summary>
    public static BaseRoot Empty { get; } = new(null, null, false, false, false, false);

    /// <param name="layers">The base's layers, bottom first: how to open each, and whether it is gzip-compressed (else a plain tar).</param>
    /// <param name="diffIds">The config's diff IDs (<c>sha256:…</c>), one per layer: each layer is read whole and checked. Null: read only as far as needed.</param>
    /// <exception cref="InvalidDataException">A layer is not a (gzip-compressed) tar archive.</exception>
    /// <exception cref="DiffIdMismatchException">A layer's uncompressed bytes are not its diff ID's.</exception>
    public static BaseRoot Read(IReadOnlyList<(Func<Stream> Open, bool Gzip)> layers, IReadOnlyList<string>? diffIds = null)
    {
        if (diffIds is not null && diffIds.Count != layers.Count)
        {
            throw new ArgumentException($"{diffIds.Count} diff IDs for {layers.Count} layers.", nameof(diffIds));
        }

        var decided = new Dictionary<string, Found?>(StringComparer.Ordinal);
        for (var i = layers.Count - 1; i >= 0 && (diffIds is not null || decided.Count < Wanted.Length); i--)
        {
            Dictionary<string, Found> entries;
            HashSet<string> hidden;
            List<string> opaque;
            try
            {
                string? diffId;
                (entries, hidden, opaque, diffId) = Scan(layers[i], hashed: diffIds is not null);
                if (diffIds is not null && !string.Equals(diffId, diffIds[i], StringComparison.Ordinal))
                {
                    throw new DiffIdMismatchException(i + 1, diffIds[i], diffId!);
                }
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException($"layer {i + 1} ends in the middle of a tar entry", e);
            }

            foreach (var path in Wanted.Where(p => !decided.ContainsKey(p)))
            {
                if (entries.TryGetValue(path, out var found))
                {
                    decided[path] = found;
                }
                else if (Ancestry(path).Any(hidden.Contains) || opaque.Any(folder => folder.Length == 0 || path.StartsWith(folder + "/", StringComparison.Ordinal)))
                {
                    // Hidden from the layers below: an opaque root hides everything under it.
                    decided[path] = null;
                }
            }
        }

        Found? At(string path) => decided.GetValueOrDefault(path);
        BaseFile? File(string path) => At(path) is { } f
            ? new BaseFile(f.Kind is TarEntryType.RegularFile or TarEntryType.V7RegularFile ? f.Content : null, f.Mode) { TooLarge = f.TooLarge }
            : null;
        return new BaseRoot(File("etc/passwd"), File("etc/group"), At("etc") is not null, At("tmp") is not null, At("home") is not null, At("home/app") is not null);
    }

    private sealed record Found(TarEntryType Kind, int Mode, byte[]? Content, bool TooLarge);

    /// <summary>The path and every folder above it.</summary>
    private static IEnumerable<string> Ancestry(string path)
    {
        var parts = path.Split('/');
        return Enumerable.Range(1, parts.Length).Select(n => string.Join('/', parts[..n]));
    }

    /// <summary>A layer's entries at the wanted paths, what it hides, and (when <paramref name="hashed"/>) the sha256 of its uncompressed bytes, read to the end.</summary>
    private static (Dictionary<string, Found> Entries, HashSet<string> Hidden, List<string> Opaque, string? DiffId) Scan((Func<Stream> Open, bool Gzip) layer, bool hashed)
    {
        var entries = new Dictionary<string, Found>(StringComparer.Ordinal);
        var hidden = new HashSet<string>(StringComparer.Ordinal);
        var opaque = new List<string>();
        using var blob = layer.Open();
        using var tar = layer.Gzip ? new GZipStream(blob, CompressionMode.Decompress) : blob;
        using var hashing = new ReadHashingStream(tar);
        using (var reader = new TarReader(hashing, leaveOpen: true))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                var path = Normalize(entry.Name);
                if (path.Length == 0)
                {
                    continue;
                }

                var slash = path.LastIndexOf('/');
                var name = path[(slash + 1)..];
                var folder = slash < 0 ? string.Empty : path[..slash];
                if (name == ".wh..wh..opq")
                {
                    opaque.Add(folder);
                    continue;
                }

                if (name.StartsWith(".wh.", StringComparison.Ordinal))
                {
                    hidden.Add(folder.Length == 0 ? name[4..] : folder + "/" + name[4..]);
                    continue;
                }

                if (!Wanted.Contains(path))
                {
                    continue;
                }

                var regular = entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile;
                byte[]? content = null;
                if (regular && entry.Length <= MaxFileSize && entry.DataStream is { } data)
                {
                    using var buffer = new MemoryStream();
                    data.CopyTo(buffer);
                    content = buffer.ToArray();
                }

                entries[path] = new Found(entry.EntryType, (int)entry.Mode & 0b111_111_111, content, regular && entry.Length > MaxFileSize);
            }
        }

        if (!hashed)
        {
            return (entries, hidden, opaque, null);
        }

        // The end-of-archive blocks and anything after them count towards the diff ID too.
        hashing.CopyTo(Stream.Null);
        return (entries, hidden, opaque, "sha256:" + Convert.ToHexStringLower(hashing.Hash()));
    }

    /// <summary>A tar path as the root sees it: without <c>./</c> and <c>/</c> at the start or <c>/</c> at the end, <c>\</c> as <c>/</c>; empty for the root itself.</summary>
    internal static string Normalize(string name)
    {
        var path = name.Replace('\\', '/');
        while (true)
        {
            var trimmed = path.TrimStart('/');
            trimmed = trimmed.StartsWith("./", StringComparison.Ordinal) ? trimmed[2..] : trimmed;
            if (trimmed == path)
            {
                break;
            }

            path = trimmed;
        }

        path = path.TrimEnd('/');
        return path == "." ? string.Empty : path;
    }

    /// <summary>Reads through, hashing every byte read (sha256).</summary>
    private sealed class ReadHashingStream(Stream inner) : ReadOnlyStream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _read;

        public override long Length => throw new NotSupportedException();

        protected override long BytesRead => _read;

        public byte[] Hash() => _hash.GetHashAndReset();

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer);
            _hash.AppendData(buffer[..read]);
            _read += read;
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
