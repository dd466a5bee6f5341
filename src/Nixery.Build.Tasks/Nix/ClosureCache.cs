using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Nixery.Build.Nix;

/// <summary>
/// Remembers the last runtime closure of a project (in its obj folder) under a fingerprint of everything that
/// decides it: the requested packages and where each came from, the Nix system, and the package set's identity.
/// While the fingerprint is the same and every store path is still there, Nix is not asked again.
/// </summary>
public sealed class ClosureCache
{
    /// <summary>3: app-host packages resolve to their library output (resolve.nix), and packages record their output.</summary>
    private const int Version = 3;

    private readonly string _path;

    public ClosureCache(string path) => _path = path;

    /// <summary>The fingerprint of the Nix step, or null when the package set is not pinned (Nix must run).</summary>
    public static string? Fingerprint(string? sourceIdentity, string system, IReadOnlyList<PackageRequest> packages)
    {
        if (sourceIdentity is null)
        {
            return null;
        }

        var text = new StringBuilder()
            .Append("nixery-build closure ").Append(Version).Append('\n')
            .Append(system).Append('\n')
            .Append(sourceIdentity).Append('\n');
        foreach (var package in packages)
        {
            text.Append(package.Name).Append(' ').Append(package.Origin).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The remembered closure when its fingerprint matches and all its store paths exist.</summary>
    public RuntimeClosure? TryLoad(string fingerprint)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(_path));
            var root = document.RootElement;
            if (root.GetProperty("fingerprint").GetString() != fingerprint)
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

    public void Save(string fingerprint, RuntimeClosure closure)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("fingerprint", fingerprint);
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
