using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Nixery.Build.Nix;

/// <summary>
/// Remembers the last runtime closure of a project (in its obj folder) under a key of everything that decides it
/// (<c>ImageFreshness.ClosureKey</c>: the requested packages and where each came from, the Nix system, the package
/// set's identity, and this file's format). While the key is the same and every store path is still there, Nix is not
/// asked again.
/// </summary>
public sealed class ClosureCache
{
    /// <summary>
    /// 4: packages record their <c>meta.license</c> (3: app-host packages resolve to their library output, and packages
    /// record their output). A closure cached by an older version has no licences, so it is not reused.
    /// </summary>
    public const int FormatVersion = 4;

    private readonly string _path;

    public ClosureCache(string path) => _path = path;

    /// <summary>The remembered closure when it was saved under <paramref name="key"/> and all its store paths exist.</summary>
    public RuntimeClosure? TryLoad(string key)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(_path));
            var root = document.RootElement;
            if (root.GetProperty("fingerprint").GetString() != key)
            {
                return null;
            }

            var packages = root.GetProperty("packages").EnumerateArray().Select(ResolvedPackage.Read).ToList();
            var paths = new SortedDictionary<string, StorePathInfo>(StringComparer.Ordinal);
            foreach (var p in root.GetProperty("paths").EnumerateArray())
            {
                var info = new StorePathInfo(
                    p.GetProperty("path").GetString()!,
                    p.GetProperty("narSize").GetInt64(),
                    p.GetProperty("references").EnumerateArray().Select(r => r.GetString()!).ToList(),
                    p.TryGetProperty("narHash", out var hash) ? NarHash.Parse(hash.GetString()!) : null,
                    p.TryGetProperty("deriver", out var deriver) ? deriver.GetString() : null);
                paths[info.Path] = info;
            }

            // A garbage-collected path means the closure must be realised again.
            return paths.Keys.All(Path.Exists) ? new RuntimeClosure(packages, paths) : null;
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    public void Save(string key, RuntimeClosure closure)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("fingerprint", key);
            w.WriteStartArray("packages");
            foreach (var p in closure.Packages)
            {
                p.Write(w);
            }

            w.WriteEndArray();
            w.WriteStartArray("paths");
            foreach (var p in closure.Paths.Values)
            {
                w.WriteStartObject();
                w.WriteString("path", p.Path);
                w.WriteNumber("narSize", p.NarSize);
                if (p.NarHash is { } hash)
                {
                    w.WriteString("narHash", hash.ToString());
                }

                if (p.Deriver is { } deriver)
                {
                    w.WriteString("deriver", deriver);
                }

                w.WriteStartArray("references");
                foreach (var r in p.References)
                {
                    w.WriteStringValue(r);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var temporary = _path + ".partial";
        File.WriteAllBytes(temporary, buffer.ToArray());
        File.Move(temporary, _path, overwrite: true);
    }
}
