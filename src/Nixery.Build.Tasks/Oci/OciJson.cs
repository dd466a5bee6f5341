using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Nixery.Build.Oci;

/// <summary>
/// Writes OCI documents as compact JSON, by hand so every byte is decided here:
/// fixed member order, maps sorted by key (ordinal), no insignificant whitespace,
/// no escaping beyond what JSON requires. The same document always gives the same bytes.
/// </summary>
public static class OciJson
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static byte[] Serialize(ImageConfig config) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("created", FormatTime(config.Created));
        w.WriteString("architecture", config.Platform.Architecture);
        if (config.Platform.Variant is { } variant)
        {
            w.WriteString("variant", variant);
        }

        w.WriteString("os", config.Platform.Os);
        w.WritePropertyName("config");
        WriteSettings(w, config.Settings);
        w.WritePropertyName("rootfs");
        w.WriteStartObject();
        w.WriteString("type", "layers");
        w.WriteStartArray("diff_ids");
        foreach (var diffId in config.DiffIds)
        {
            w.WriteStringValue(diffId.Value);
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartArray("history");
        foreach (var entry in config.BaseHistory)
        {
            w.WriteRawValue(entry, skipInputValidation: false);
        }

        foreach (var entry in config.History)
        {
            w.WriteStartObject();
            w.WriteString("created", FormatTime(config.Created));
            w.WriteString("created_by", entry.CreatedBy);
            if (entry.Comment is { } comment)
            {
                w.WriteString("comment", comment);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });

    public static byte[] Serialize(ImageManifest manifest) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("schemaVersion", 2);
        w.WriteString("mediaType", manifest.MediaType);
        if (manifest.ArtifactType is { } artifactType)
        {
            w.WriteString("artifactType", artifactType);
        }

        w.WritePropertyName("config");
        WriteDescriptor(w, manifest.Config);
        w.WriteStartArray("layers");
        foreach (var layer in manifest.Layers)
        {
            WriteDescriptor(w, layer);
        }

        w.WriteEndArray();
        if (manifest.Subject is { } subject)
        {
            w.WritePropertyName("subject");
            WriteDescriptor(w, subject);
        }

        WriteMap(w, "annotations", manifest.Annotations);
        w.WriteEndObject();
    });

    public static byte[] Serialize(ImageIndex index) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("schemaVersion", 2);
        w.WriteString("mediaType", index.MediaType);
        w.WriteStartArray("manifests");
        foreach (var manifest in index.Manifests)
        {
            WriteDescriptor(w, manifest);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <summary>RFC 3339 in UTC with whole seconds, as the OCI spec and Docker write it.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    internal static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteSettings(Utf8JsonWriter w, ContainerSettings s)
    {
        w.WriteStartObject();
        if (!string.IsNullOrEmpty(s.User))
        {
            w.WriteString("User", s.User);
        }

        if (s.ExposedPorts.Count > 0)
        {
            w.WriteStartObject("ExposedPorts");
            foreach (var port in s.ExposedPorts.Distinct().Order(StringComparer.Ordinal))
            {
                w.WriteStartObject(port);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        WriteList(w, "Env", s.Env);
        WriteList(w, "Entrypoint", s.Entrypoint);
        WriteList(w, "Cmd", s.Cmd);
        if (!string.IsNullOrEmpty(s.WorkingDir))
        {
            w.WriteString("WorkingDir", s.WorkingDir);
        }

        WriteMap(w, "Labels", s.Labels);
        foreach (var name in s.Carried.Keys.Order(StringComparer.Ordinal))
        {
            w.WritePropertyName(name);
            w.WriteRawValue(s.Carried[name], skipInputValidation: false);
        }

        w.WriteEndObject();
    }

    private static void WriteDescriptor(Utf8JsonWriter w, Descriptor d)
    {
        w.WriteStartObject();
        w.WriteString("mediaType", d.MediaType);
        if (d.ArtifactType is { } artifactType)
        {
            w.WriteString("artifactType", artifactType);
        }

        w.WriteString("digest", d.Digest.Value);
        w.WriteNumber("size", d.Size);
        WriteMap(w, "annotations", d.Annotations);
        if (d.Platform is { } platform)
        {
            w.WriteStartObject("platform");
            w.WriteString("architecture", platform.Architecture);
            w.WriteString("os", platform.Os);
            if (platform.Variant is { } variant)
            {
                w.WriteString("variant", variant);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteList(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }

    private static void WriteMap(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string>? map)
    {
        if (map is null || map.Count == 0)
        {
            return;
        }

        w.WriteStartObject(name);
        foreach (var key in map.Keys.Order(StringComparer.Ordinal))
        {
            w.WriteString(key, map[key]);
        }

        w.WriteEndObject();
    }
}
