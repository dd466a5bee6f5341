using System.Text.Json;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Layers;

/// <summary>
/// Reads Nixery's popularity data: one JSON object mapping <c>name-version</c> to a reference count,
/// e.g. <c>{"glibc-2.39-52": 48123, "jq-1.7.1": 812}</c>. A missing or malformed file is an error that
/// names the line or the entry, never a silent fallback to "no data".
/// </summary>
public static class PopularityFile
{
    public static Popularity Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NixImageException(
                ErrorCodes.InvalidPopularityFile,
                $"NixPopularityFile '{path}' cannot be read: {e.Message} Point NixPopularityFile at a JSON file of {{\"name-version\": count}}, or remove the property.");
        }

        return Parse(bytes, path);
    }

    internal static Popularity Parse(ReadOnlySpan<byte> json, string path)
    {
        // A UTF-8 byte order mark, as some editors write one, is not JSON but means no harm.
        if (json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            json = json[3..];
        }

        var counts = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Invalid(path, "it is not a JSON object", reader);
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var name = reader.GetString()!;
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out var count))
                {
                    throw Invalid(path, $"the value of \"{name}\" is not a whole number of at least 0", reader);
                }

                counts[name] = count;
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw Invalid(path, "the object is not closed, or something follows it", reader);
            }
        }
        catch (JsonException e)
        {
            throw new NixImageException(
                ErrorCodes.InvalidPopularityFile,
                $"NixPopularityFile '{path}' is not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}. Fix the file: it must be one object of {{\"name-version\": count}}.");
        }
        catch (InvalidOperationException)
        {
            // GetString on bytes that are not UTF-8.
            throw Invalid(path, "a name is not valid UTF-8 text", reader);
        }

        return new Popularity(counts);
    }

    private static NixImageException Invalid(string path, string reason, Utf8JsonReader reader) => new(
        ErrorCodes.InvalidPopularityFile,
        $"NixPopularityFile '{path}' is not a popularity map: {reason} (near byte {reader.TokenStartIndex + 1}). "
        + "It must be one JSON object of {\"name-version\": count}.");
}
