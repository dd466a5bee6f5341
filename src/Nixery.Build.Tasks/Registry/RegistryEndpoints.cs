using System.Text.Json;

namespace Nixery.Build.Registry;

/// <summary>
/// Remembers which scheme a registry that may be reached over plain HTTP (on this machine, or listed as insecure)
/// answered on last time, in <c>registry-endpoints.json</c> under the user's cache folder. Finding out costs a
/// failed TLS handshake, and a first TLS handshake costs a fresh build process about 0.2 s (the TLS library starts
/// up); with the hint the push goes straight to HTTP. Only a hint: when the registry no longer answers there,
/// the push finds out again (HTTPS first). Never consulted for registries that must use HTTPS.
/// </summary>
public sealed class RegistryEndpoints
{
    public const string FileName = "registry-endpoints.json";

    private readonly string _path;
    private readonly Dictionary<string, string> _schemes;

    private RegistryEndpoints(string path, Dictionary<string, string> schemes)
    {
        _path = path;
        _schemes = schemes;
    }

    public static RegistryEndpoints Load(string cacheDirectory)
    {
        var path = Path.Combine(cacheDirectory, FileName);
        var schemes = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            foreach (var entry in document.RootElement.GetProperty("schemes").EnumerateObject())
            {
                if (entry.Value.GetString() is "http" or "https")
                {
                    schemes[entry.Name] = entry.Value.GetString()!;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            // No hint: the push finds out.
        }

        return new RegistryEndpoints(path, schemes);
    }

    public string? SchemeOf(RegistryHost registry) => _schemes.GetValueOrDefault(registry.Name);

    /// <summary>Notes the scheme that worked; written only when it changed (temporary file, then rename).</summary>
    public void Remember(RegistryHost registry, string scheme)
    {
        if (SchemeOf(registry) == scheme)
        {
            return;
        }

        _schemes[registry.Name] = scheme;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            var temporary = $"{_path}.{Guid.NewGuid():N}.partial";
            using (var stream = new FileStream(temporary, FileMode.CreateNew))
            using (var writer = new Utf8JsonWriter(stream))
            {
                writer.WriteStartObject();
                writer.WriteNumber("version", 1);
                writer.WriteStartObject("schemes");
                foreach (var (name, value) in _schemes.OrderBy(s => s.Key, StringComparer.Ordinal))
                {
                    writer.WriteString(name, value);
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            File.Move(temporary, _path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only a hint; the next push finds out again.
        }
    }
}
