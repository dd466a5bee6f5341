using System.Text.Json;
using Nixery.Build.Oci;

namespace Nixery.Build.Registry;

/// <summary>
/// Remembers which repositories of a registry hold which blobs, so the next push of the same layer to another
/// repository of that registry can mount it instead of uploading it. A small JSON file under the user's cache
/// folder (<c>registry-blobs.json</c>):
/// <code>{"version":1,"registries":{"host:port":{"sha256:…":["repo-a","repo-b"]}}}</code>
/// It is only a hint: a mount the registry refuses falls back to an upload; a blob recorded for the very
/// repository pushed to is not checked again, and when the registry lost it after all, the manifest it refuses makes
/// the push check every blob and send what is missing; an unreadable file counts as empty. Written atomically (temp file, then rename) after merging with what another build may have saved
/// meanwhile; bounded (most recent first) so it never grows without end.
/// </summary>
public sealed class BlobLocations
{
    public const string FileName = "registry-blobs.json";

    private const int MaxRepositoriesPerBlob = 4;
    private const int MaxBlobsPerRegistry = 4096;

    private readonly string _path;
    private readonly Lock _gate = new();
    private Dictionary<string, List<KeyValuePair<string, List<string>>>> _registries;

    private BlobLocations(string path, Dictionary<string, List<KeyValuePair<string, List<string>>>> registries)
    {
        _path = path;
        _registries = registries;
    }

    public string Path => _path;

    public static BlobLocations Load(string cacheDirectory)
    {
        var path = System.IO.Path.Combine(cacheDirectory, FileName);
        return new BlobLocations(path, Read(path));
    }

    /// <summary>Repositories of <paramref name="registry"/> other than <paramref name="except"/> known to hold the blob, most recent first.</summary>
    public IReadOnlyList<string> RepositoriesHolding(string registry, Digest digest, string except)
    {
        lock (_gate)
        {
            return Find(registry, digest)?.Where(r => r != except).ToList() ?? [];
        }
    }

    /// <summary>Whether a push to <paramref name="repository"/> of <paramref name="registry"/> is known to have left the blob there.</summary>
    public bool Holds(string registry, string repository, Digest digest)
    {
        lock (_gate)
        {
            return Find(registry, digest)?.Contains(repository) == true;
        }
    }

    /// <summary>Notes that <paramref name="repository"/> holds these blobs now.</summary>
    public void Remember(string registry, string repository, IEnumerable<Digest> digests)
    {
        lock (_gate)
        {
            foreach (var digest in digests)
            {
                Add(_registries, registry, digest.Value, [repository]);
            }
        }
    }

    /// <summary>Merges with the file as it is now and writes the result atomically.</summary>
    public void Save()
    {
        lock (_gate)
        {
            var merged = Read(_path);
            foreach (var (registry, blobs) in _registries)
            {
                // Ours are the most recent: add them last so they end up first.
                foreach (var (digest, repositories) in Enumerable.Reverse(blobs))
                {
                    Add(merged, registry, digest, repositories);
                }
            }

            _registries = merged;
            var directory = System.IO.Path.GetDirectoryName(_path)!;
            Directory.CreateDirectory(directory);
            var temporary = System.IO.Path.Combine(directory, $".{FileName}.{Guid.NewGuid():N}.partial");
            try
            {
                using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    using (var writer = new Utf8JsonWriter(file))
                    {
                        Write(writer, merged);
                    }

                    // Not flushed to disk: a file a crash damaged reads as empty, and a wrong hint costs a check, not an image.
                }

                File.Move(temporary, _path, overwrite: true);
            }
            finally
            {
                File.Delete(temporary);
            }
        }
    }

    private List<string>? Find(string registry, Digest digest) =>
        _registries.TryGetValue(registry, out var blobs) ? blobs.Find(b => b.Key == digest.Value).Value : null;

    private static void Add(Dictionary<string, List<KeyValuePair<string, List<string>>>> registries, string registry, string digest, IEnumerable<string> repositories)
    {
        if (!registries.TryGetValue(registry, out var blobs))
        {
            blobs = [];
            registries[registry] = blobs;
        }

        var index = blobs.FindIndex(b => b.Key == digest);
        var list = index >= 0 ? blobs[index].Value : [];
        if (index >= 0)
        {
            blobs.RemoveAt(index);
        }

        foreach (var repository in repositories.Reverse())
        {
            list.Remove(repository);
            list.Insert(0, repository);
        }

        if (list.Count > MaxRepositoriesPerBlob)
        {
            list.RemoveRange(MaxRepositoriesPerBlob, list.Count - MaxRepositoriesPerBlob);
        }

        blobs.Insert(0, new(digest, list));
        if (blobs.Count > MaxBlobsPerRegistry)
        {
            blobs.RemoveRange(MaxBlobsPerRegistry, blobs.Count - MaxBlobsPerRegistry);
        }
    }

    private static Dictionary<string, List<KeyValuePair<string, List<string>>>> Read(string path)
    {
        var registries = new Dictionary<string, List<KeyValuePair<string, List<string>>>>(StringComparer.Ordinal);
        try
        {
            if (!File.Exists(path))
            {
                return registries;
            }

            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("registries", out var all)
                || all.ValueKind != JsonValueKind.Object)
            {
                return registries;
            }

            foreach (var registry in all.EnumerateObject().Where(r => r.Value.ValueKind == JsonValueKind.Object))
            {
                var blobs = new List<KeyValuePair<string, List<string>>>();
                foreach (var blob in registry.Value.EnumerateObject().Where(b => Digest.TryParse(b.Name, out _) && b.Value.ValueKind == JsonValueKind.Array))
                {
                    var repositories = blob.Value.EnumerateArray()
                        .Where(r => r.ValueKind == JsonValueKind.String)
                        .Select(r => r.GetString()!)
                        .Where(Oci.ImageNames.IsValidRepository)
                        .Take(MaxRepositoriesPerBlob)
                        .ToList();
                    blobs.Add(new(blob.Name, repositories));
                }

                registries[registry.Name] = blobs.Take(MaxBlobsPerRegistry).ToList();
            }
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            // A damaged or unreadable hint is no hint: start afresh; the next save replaces it.
            registries.Clear();
        }

        return registries;
    }

    private static void Write(Utf8JsonWriter writer, Dictionary<string, List<KeyValuePair<string, List<string>>>> registries)
    {
        writer.WriteStartObject();
        writer.WriteNumber("version", 1);
        writer.WriteStartObject("registries");
        foreach (var (registry, blobs) in registries.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            writer.WriteStartObject(registry);
            foreach (var (digest, repositories) in blobs)
            {
                writer.WriteStartArray(digest);
                foreach (var repository in repositories)
                {
                    writer.WriteStringValue(repository);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
