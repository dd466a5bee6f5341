using System.Text.Json;
using System.Text.Json.Serialization;
using Nixery.Build.Diagnostics;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Streams;

namespace Nixery.Build.Settings;

/// <summary>
/// An <see cref="ImageRequest"/> as a file in the obj folder, which the image task builds from. The same request
/// always gives the same bytes (System.Text.Json, source-generated, members in declaration order), and the pipeline
/// hashes them to tell whether anything that decides the image changed (a property given on the command line
/// included); the file is rewritten only when they change. An unpinned package set makes every request new: Nix
/// must run.
/// </summary>
public static class RequestFile
{
    private const int Version = 3;

    /// <summary>
    /// Writes the request unless the file already holds exactly this; returns the request with its file's bytes.
    /// With <paramref name="inputsKey"/> (a digest of everything the request was made from), a file written from the
    /// same key, untouched since (its size and time recorded beside it, in <c>.key</c>), is taken as is without
    /// serialising the request again: that first serialisation in a build process costs more than the rest of a
    /// warm image step.
    /// </summary>
    public static PreparedRequest WriteIfChanged(ImageRequest request, string path, string? inputsKey = null)
    {
        var keyFile = path + ".key";
        if (inputsKey is not null && File.Exists(keyFile) && File.ReadAllText(keyFile) == KeyLine(inputsKey, path))
        {
            return new PreparedRequest(request, File.ReadAllBytes(path), Wrote: false);
        }

        var json = Serialize(request);
        var changed = PartialFiles.WriteIfChanged(path, json);

        if (inputsKey is not null)
        {
            PartialFiles.WriteAllBytes(keyFile, System.Text.Encoding.UTF8.GetBytes(KeyLine(inputsKey, path)));
        }
        else
        {
            File.Delete(keyFile);
        }

        return new PreparedRequest(request, json, changed);
    }

    /// <summary>The key, and the request file's size and time as they are now (absent: a line no key file holds).</summary>
    private static string KeyLine(string inputsKey, string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? $"{inputsKey} {Version} {file.Length} {file.LastWriteTimeUtc.Ticks}" : "absent";
    }

    /// <summary>
    /// The request in <paramref name="path"/>, with the file's bytes: <paramref name="prepared"/> itself when the file
    /// still holds exactly its bytes (the step before handed it on in the same build, which spares parsing), else
    /// read from the file.
    /// </summary>
    public static PreparedRequest Read(string path, PreparedRequest? prepared)
    {
        if (prepared is not null && File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(prepared.FileBytes))
        {
            return prepared;
        }

        var request = Read(path);
        return new PreparedRequest(request, File.ReadAllBytes(path), Wrote: false);
    }

    public static byte[] Serialize(ImageRequest request) => JsonSerializer.SerializeToUtf8Bytes(
        new RequestFileContent
        {
            Version = Version,
            Request = request,
            // Nothing pins the package set, so this request never equals the last one.
            Unpinned = request.NixSourceIdentity is null ? Guid.NewGuid().ToString("N") : null,
            // The popularity file's content decides the layers, so a change to it makes the request new.
            PopularityFileIdentity = request.PopularityFile is { } popularity ? NixSourceIdentity.OfLocalPath(popularity) : null,
        },
        RequestFileJson.Default.RequestFileContent);

    public static ImageRequest Read(string path)
    {
        try
        {
            var content = JsonSerializer.Deserialize(File.ReadAllBytes(path), RequestFileJson.Default.RequestFileContent)
                ?? throw new FormatException("it holds null");
            if (content.Version != Version)
            {
                throw new FormatException("written by another version of Nixery.Build");
            }

            var request = content.Request;
            return request.PopularityFile is { } popularityFile ? request with { Popularity = PopularityFile.Load(popularityFile) } : request;
        }
        catch (Exception e) when (e is IOException or JsonException or NotSupportedException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new NixImageException(
                ErrorCodes.WriteFailed,
                $"The image request '{path}' cannot be read ({e.Message}). Delete the obj folder's nix-image folder and build again.",
                e);
        }
    }
}

/// <summary>A request as <see cref="RequestFile.WriteIfChanged"/> left it, with the exact bytes of its file.</summary>
/// <param name="Wrote">Whether the file was written (false: it already held exactly these bytes).</param>
public sealed record PreparedRequest(ImageRequest Request, byte[] FileBytes, bool Wrote);

/// <summary>What the request file holds: the request, and what about the build's inputs is not part of it.</summary>
internal sealed record RequestFileContent
{
    public required int Version { get; init; }

    public required ImageRequest Request { get; init; }

    /// <summary>A fresh nonce when nothing pins the package set (see <see cref="RequestFile"/>).</summary>
    public string? Unpinned { get; init; }

    /// <summary>A fingerprint of NixPopularityFile's content, when one is set.</summary>
    public string? PopularityFileIdentity { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    Converters = [typeof(NixPackageSourceConverter), typeof(PlatformConverter)])]
[JsonSerializable(typeof(ImageRequest))]
[JsonSerializable(typeof(RequestFileContent))]
internal sealed partial class RequestFileJson : JsonSerializerContext;

/// <summary>A package source as the same JSON the Nix expression receives (<see cref="NixPackageSource.ToJson"/>).</summary>
internal sealed class NixPackageSourceConverter : JsonConverter<NixPackageSource>
{
    public override NixPackageSource Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return NixPackageSource.FromJson(document.RootElement);
    }

    public override void Write(Utf8JsonWriter writer, NixPackageSource value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        value.WriteJson(writer);
        writer.WriteEndObject();
    }
}

/// <summary>A platform as its Nix system (<c>x86_64-linux</c>): the rest follows from it.</summary>
internal sealed class PlatformConverter : JsonConverter<Platform>
{
    public override Platform Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Platform.FromNixSystem(reader.GetString() ?? throw new JsonException("The platform is null."));

    public override void Write(Utf8JsonWriter writer, Platform value, JsonSerializerOptions options) => writer.WriteStringValue(value.NixSystem);
}
