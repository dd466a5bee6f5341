using System.Formats.Tar;
using System.IO.Compression;

namespace Nixery.Build.Layers;

/// <summary>A file of a base image's root that the image built on it may extend: its bytes (null when it is not a regular file) and mode.</summary>
public sealed record BaseFile(byte[]? Content, int Mode);

/// <summary>
/// What a base image's root holds at the few paths the image built on it touches: <c>/etc/passwd</c>,
/// <c>/etc/group</c>, <c>/etc</c>, <c>/tmp</c>, <c>/home</c> and <c>/home/app</c>. Read from its layers top-down, as the
/// container runtime stacks them: the top-most layer with an entry at a path decides it, and a whiteout
/// (<c>.wh.name</c>) or an opaque folder (<c>.wh..wh..opq</c>) hides what the layers below have.
/// </summary>
public sealed record BaseRoot(BaseFile? Passwd, BaseFile? Group, bool HasEtc, bool HasTmp, bool HasHome, bool HasHomeApp)
{
    private const int MaxFileSize = 1 << 20;

    private static readonly string[] Wanted = ["etc", "etc/passwd", "etc/group", "tmp", "home", "home/app"];

    /// <summary>A base without any of these paths (scratch).</summary>
    public static BaseRoot Empty { get; } = new(null, null, false, false, false, false);

    /// <param name="layers">The base's layers, bottom first: how to open each, and whether it is gzip-compressed (else a plain tar).</param>
    /// <exception cref="InvalidDataException">A layer is not a (gzip-compressed) tar archive.</exception>
    public static BaseRoot Read(IReadOnlyList<(Func<Stream> Open, bool Gzip)> layers)
    {
        var decided = new Dictionary<string, Found?>(StringComparer.Ordinal);
        for (var i = layers.Count - 1; i >= 0 && decided.Count < Wanted.Length; i--)
        {
            Dictionary<string, Found> entries;
            HashSet<string> hidden;
            List<string> opaque;
            try
            {
                (entries, hidden, opaque) = Scan(layers[i]);
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
                else if (Ancestry(path).Any(hidden.Contains) || opaque.Any(folder => path.StartsWith(folder + "/", StringComparison.Ordinal)))
                {
                    decided[path] = null;
                }
            }
        }

        Found? At(string path) => decided.GetValueOrDefault(path);
        BaseFile? File(string path) => At(path) is { } f ? new BaseFile(f.Kind == TarEntryType.RegularFile || f.Kind == TarEntryType.V7RegularFile ? f.Content : null, f.Mode) : null;
        return new BaseRoot(File("etc/passwd"), File("etc/group"), At("etc") is not null, At("tmp") is not null, At("home") is not null, At("home/app") is not null);
    }

    private sealed record Found(TarEntryType Kind, int Mode, byte[]? Content);

    /// <summary>The path and every folder above it.</summary>
    private static IEnumerable<string> Ancestry(string path)
    {
        var parts = path.Split('/');
        return Enumerable.Range(1, parts.Length).Select(n => string.Join('/', parts[..n]));
    }

    private static (Dictionary<string, Found> Entries, HashSet<string> Hidden, List<string> Opaque) Scan((Func<Stream> Open, bool Gzip) layer)
    {
        var entries = new Dictionary<string, Found>(StringComparer.Ordinal);
        var hidden = new HashSet<string>(StringComparer.Ordinal);
        var opaque = new List<string>();
        using var blob = layer.Open();
        using var tar = layer.Gzip ? new GZipStream(blob, CompressionMode.Decompress) : blob;
        using var reader = new TarReader(tar);
        while (reader.GetNextEntry() is { } entry)
        {
            var path = entry.Name.Replace('\\', '/');
            path = (path.StartsWith("./", StringComparison.Ordinal) ? path[2..] : path).Trim('/');
            if (path.Length == 0 || path == ".")
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

            byte[]? content = null;
            if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && entry.Length <= MaxFileSize && entry.DataStream is { } data)
            {
                using var buffer = new MemoryStream();
                data.CopyTo(buffer);
                content = buffer.ToArray();
            }

            entries[path] = new Found(entry.EntryType, (int)entry.Mode & 0b111_111_111, content);
        }

        return (entries, hidden, opaque);
    }
}
