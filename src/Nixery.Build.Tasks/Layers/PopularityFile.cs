using System.Text.Json;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Layers;

/// <summary>
/// Reads Nixery's popularity data: one JSON object mapping <c>name-version</c> to a reference count,
/// e.g. <c>{"glibc-2.39-52": 48123, "jq-1.7.1": 812}</c>. A missing or malformed file is an error that
/// names the line or the entry, never a silent fallback to "no data".
/// The file is read as a stream (a buffer of <see cref="BufferSize"/>, grown only for a longer single name), and only
/// the counts asked for are kept: Nixery's files hold millions of entries, and a closure needs a few dozen of them.
/// </summary>
public static class PopularityFile
{
    internal const int BufferSize = 64 * 1024;

    /// <summary>Checks the whole file now (so a bad file fails the build at once, coded), keeping none of it; <see cref="Popularity.For"/> reads the counts a closure needs.</summary>
    public static Popularity Load(string path)
    {
        Read(path, wanted: new HashSet<string>(StringComparer.Ordinal));
        return Popularity.OfFile(path);
    }

    /// <summary>The counts of the names in <paramref name="wanted"/> (every name when null), checking the whole file on the way.</summary>
    internal static Dictionary<string, ulong> Read(string path, IReadOnlySet<string>? wanted)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            return Read(stream, path, wanted, BufferSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NixImageException(
                ErrorCodes.InvalidPopularityFile,
                $"NixPopularityFile '{path}' cannot be read: {e.Message} Point NixPopularityFile at a JSON file of {{\"name-version\": count}}, or remove the property.");
        }
    }

    /// <summary>Every count in <paramref name="json"/>.</summary>
    internal static Popularity Parse(ReadOnlySpan<byte> json, string path) =>
        new(Read(new MemoryStream(json.ToArray(), writable: false), path, wanted: null, BufferSize));

    /// <param name="bufferSize">The first buffer's size (tests make it tiny, so tokens straddle refills).</param>
    internal static Dictionary<string, ulong> Read(Stream stream, string path, IReadOnlySet<string>? wanted, int bufferSize)
    {
        var counts = new Dictionary<string, ulong>(StringComparer.Ordinal);
        // Names are looked up as they lie in the buffer: only a wanted name becomes a string.
        var lookup = wanted is null ? (HashSet<string>.AlternateLookup<ReadOnlySpan<char>>?)null
            : (wanted is HashSet<string> set && set.Comparer == StringComparer.Ordinal ? set : new HashSet<string>(wanted, StringComparer.Ordinal)).GetAlternateLookup<ReadOnlySpan<char>>();
        var buffer = new byte[bufferSize];
        var name = new char[256];
        var nameLength = 0;
        var length = 0;
        var start = 0;
        var final = false;
        var byteOrderMarkChecked = false;
        long dropped = 0; // bytes before buffer[start] that are gone (the byte order mark not counted)
        var stage = Stage.BeforeObject;
        var state = new JsonReaderState(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        while (true)
        {
            if (length == buffer.Length)
            {
                // One token longer than the buffer: grow it (a name of that length is the file's own business).
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            var read = stream.Read(buffer, length, buffer.Length - length);
            final = read == 0;
            length += read;
            if (!byteOrderMarkChecked)
            {
                if (length < 3 && !final)
                {
                    continue;
                }

                // A UTF-8 byte order mark, as some editors write one, is not JSON but means no harm.
                byteOrderMarkChecked = true;
                start = buffer.AsSpan(0, length).StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
            }

            var reader = new Utf8JsonReader(buffer.AsSpan(start, length - start), final, state);
            try
            {
                while (reader.Read())
                {
                    switch (stage)
                    {
                        case Stage.BeforeObject when reader.TokenType == JsonTokenType.StartObject:
                            stage = Stage.NameOrEnd;
                            break;
                        case Stage.BeforeObject:
                            throw Invalid(path, "it is not a JSON object", dropped + reader.TokenStartIndex);
                        case Stage.NameOrEnd when reader.TokenType == JsonTokenType.EndObject:
                            stage = Stage.AfterObject;
                            break;
                        case Stage.NameOrEnd:
                            // A property name: the reader allows nothing else here. Unescaped and checked as UTF-8 into `name`.
                            if (name.Length < reader.ValueSpan.Length)
                            {
                                name = new char[Math.Max(reader.ValueSpan.Length, name.Length * 2)];
                            }

                            nameLength = reader.CopyString(name);
                            stage = Stage.Value;
                            break;
                        case Stage.Value:
                            var text = name.AsSpan(0, nameLength);
                            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out var count))
                            {
                                throw Invalid(path, $"the value of \"{text}\" is not a whole number of at least 0", dropped + reader.TokenStartIndex);
                            }

                            if (lookup is not { } alternate)
                            {
                                counts[text.ToString()] = count;
                            }
                            else if (alternate.TryGetValue(text, out var known))
                            {
                                counts[known] = count;
                            }

                            stage = Stage.NameOrEnd;
                            break;
                        default:
                            // The reader refuses a second value after the first: nothing reaches here.
                            throw Invalid(path, "something follows the object", dropped + reader.TokenStartIndex);
                    }
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
                // CopyString on bytes that are not UTF-8.
                throw Invalid(path, "a name is not valid UTF-8 text", dropped + reader.TokenStartIndex);
            }

            if (final)
            {
                if (stage != Stage.AfterObject)
                {
                    throw Invalid(path, "the object is not closed", dropped + length - start);
                }

                return counts;
            }

            // Keep what the reader has not consumed (a token cut by the buffer's end) and read on after it.
            var consumed = (int)reader.BytesConsumed;
            state = reader.CurrentState;
            dropped += consumed;
            Buffer.BlockCopy(buffer, start + consumed, buffer, 0, length - start - consumed);
            length -= start + consumed;
            start = 0;
        }
    }

    private enum Stage
    {
        BeforeObject,
        NameOrEnd,
        Value,
        AfterObject,
    }

    private static NixImageException Invalid(string path, string reason, long offset) => new(
        ErrorCodes.InvalidPopularityFile,
        $"NixPopularityFile '{path}' is not a popularity map: {reason} (near byte {offset + 1}). "
        + "It must be one JSON object of {\"name-version\": count}.");
}
