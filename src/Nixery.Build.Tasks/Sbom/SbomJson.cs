using System.Text.Encodings.Web;
using System.Text.Json;

namespace Nixery.Build.Sbom;

/// <summary>How both writers write JSON: indented with two spaces, <c>\n</c> line ends, no needless escapes.</summary>
internal static class SbomJson
{
    public static JsonWriterOptions Options { get; } = new()
    {
        Indented = true,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static byte[] ToBytes(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            write(writer);
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
