using System.Text.Json;
using Nixery.Build.Diagnostics;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Oci;

namespace Nixery.Build.Pipeline;

/// <summary>
/// An <see cref="ImageRequest"/> as a file in the obj folder. MSBuild compares its time with the archive's to know
/// whether anything that decides the image changed (a property given on the command line included), so it is
/// rewritten only when its content changes. An unpinned package set makes every request new: Nix must run.
/// </summary>
public static class RequestFile
{
    private const int Version = 2;

    /// <summary>Writes the request unless the file already holds exactly this; returns whether it wrote.</summary>
    public static bool WriteIfChanged(ImageRequest request, string path)
    {
        var json = Serialize(request);
        if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(json))
        {
            return false;
        }

        Archive.PartialFiles.WriteAllBytes(path, json);
        return true;
    }

    public static byte[] Serialize(ImageRequest r) => OciJson.Write(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("version", Version);
        w.WriteString("publishDirectory", r.PublishDirectory);
        WriteOptional(w, "publishFolderFingerprint", r.PublishFolderFingerprint);
        w.WriteStartArray("packages");
        foreach (var p in r.Packages)
        {
            w.WriteStartArray();
            w.WriteStringValue(p.Name);
            w.WriteStringValue(p.Origin);
            w.WriteEndArray();
        }

        w.WriteEndArray();
        w.WritePropertyName("source");
        using (var source = JsonDocument.Parse(r.Source.ToJson()))
        {
            source.RootElement.WriteTo(w);
        }

        if (r.NixSourceIdentity is { } identity)
        {
            w.WriteString("nixSourceIdentity", identity);
        }
        else
        {
            // Nothing pins the package set, so this request never equals the last one.
            w.WriteString("unpinned", Guid.NewGuid().ToString("N"));
        }

        w.WriteString("nixSystem", r.Platform.NixSystem);
        WriteOptional(w, "dotnetRuntimePackage", r.DotnetRuntimePackage);
        WriteList(w, "appHostPackages", r.AppHostPackages);
        w.WriteString("repository", r.Repository);
        WriteList(w, "tags", r.Tags);
        w.WriteString("archivePath", r.ArchivePath);
        w.WriteBoolean("writeArchive", r.WriteArchive);
        if (r.OciLayoutPath is { } layout)
        {
            w.WriteString("ociLayoutPath", layout);
        }

        w.WriteString("workingDirectory", r.WorkingDirectory);
        WriteList(w, "entrypoint", r.Entrypoint);
        WriteList(w, "command", r.Command);
        WritePairs(w, "environment", r.Environment);
        WriteOptional(w, "user", r.User);
        WriteList(w, "ports", r.Ports);
        WritePairs(w, "labels", r.Labels);
        w.WriteBoolean("generateCreatedLabel", r.GenerateCreatedLabel);
        w.WriteBoolean("isAspNet", r.IsAspNet);
        WriteOptional(w, "appName", r.AppName);
        w.WriteString("format", r.Format.ToString());
        w.WriteNumber("layerBudget", r.LayerBudget);
        if (r.PopularityFile is { } popularity)
        {
            w.WriteString("popularityFile", popularity);
            w.WriteString("popularityFileIdentity", NixSourceIdentity.OfLocalPath(popularity));
        }

        w.WriteString("intermediateDirectory", r.IntermediateDirectory);
        WriteOptional(w, "cacheDirectory", r.CacheDirectory);
        w.WriteNumber("cacheMaxSize", r.CacheMaxSize);
        w.WriteNumber("created", r.Created.ToUnixTimeSeconds());
        w.WriteNumber("compressionLevel", r.CompressionLevel);
        w.WriteEndObject();
    });

    public static ImageRequest Read(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var j = document.RootElement;
            if (j.GetProperty("version").GetInt32() != Version)
            {
                throw new FormatException("written by another version of Nixery.Build");
            }

            var popularityFile = Optional(j, "popularityFile");
            return new ImageRequest
            {
                PublishDirectory = j.GetProperty("publishDirectory").GetString()!,
                PublishFolderFingerprint = Optional(j, "publishFolderFingerprint"),
                Packages = j.GetProperty("packages").EnumerateArray().Select(p => new PackageRequest(p[0].GetString()!, p[1].GetString()!)).ToList(),
                Source = NixPackageSource.FromJson(j.GetProperty("source")),
                NixSourceIdentity = Optional(j, "nixSourceIdentity"),
                Platform = Platform.FromNixSystem(j.GetProperty("nixSystem").GetString()!),
                DotnetRuntimePackage = Optional(j, "dotnetRuntimePackage"),
                AppHostPackages = List(j, "appHostPackages"),
                Repository = j.GetProperty("repository").GetString()!,
                Tags = List(j, "tags"),
                ArchivePath = j.GetProperty("archivePath").GetString()!,
                WriteArchive = j.GetProperty("writeArchive").GetBoolean(),
                OciLayoutPath = j.TryGetProperty("ociLayoutPath", out var layout) ? layout.GetString() : null,
                WorkingDirectory = j.GetProperty("workingDirectory").GetString()!,
                Entrypoint = List(j, "entrypoint"),
                Command = List(j, "command"),
                Environment = Pairs(j, "environment"),
                User = Optional(j, "user"),
                Ports = List(j, "ports"),
                Labels = Pairs(j, "labels"),
                GenerateCreatedLabel = j.GetProperty("generateCreatedLabel").GetBoolean(),
                IsAspNet = j.GetProperty("isAspNet").GetBoolean(),
                AppName = Optional(j, "appName"),
                Format = Enum.Parse<ImageFormat>(j.GetProperty("format").GetString()!),
                LayerBudget = j.GetProperty("layerBudget").GetInt32(),
                PopularityFile = popularityFile,
                Popularity = popularityFile is null ? Popularity.None : PopularityFile.Load(popularityFile),
                IntermediateDirectory = j.GetProperty("intermediateDirectory").GetString()!,
                CacheDirectory = Optional(j, "cacheDirectory"),
                CacheMaxSize = j.GetProperty("cacheMaxSize").GetInt64(),
                Created = DateTimeOffset.FromUnixTimeSeconds(j.GetProperty("created").GetInt64()),
                CompressionLevel = j.GetProperty("compressionLevel").GetInt32(),
            };
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new NixImageException(
                ErrorCodes.WriteFailed,
                $"The image request '{path}' cannot be read ({e.Message}). Delete the obj folder's nix-image folder and build again.",
                e);
        }
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteList(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }

    private static void WritePairs(Utf8JsonWriter w, string name, IReadOnlyList<KeyValuePair<string, string>> pairs)
    {
        w.WriteStartArray(name);
        foreach (var (key, value) in pairs)
        {
            w.WriteStartArray();
            w.WriteStringValue(key);
            w.WriteStringValue(value);
            w.WriteEndArray();
        }

        w.WriteEndArray();
    }

    private static string? Optional(JsonElement j, string name) =>
        j.TryGetProperty(name, out var value) ? value.GetString() : null;

    private static List<string> List(JsonElement j, string name) =>
        j.GetProperty(name).EnumerateArray().Select(e => e.GetString()!).ToList();

    private static List<KeyValuePair<string, string>> Pairs(JsonElement j, string name) =>
        j.GetProperty(name).EnumerateArray().Select(e => new KeyValuePair<string, string>(e[0].GetString()!, e[1].GetString()!)).ToList();
}
