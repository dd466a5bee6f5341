using System.Globalization;

namespace Nixery.Build.Registry;

/// <summary>
/// The distribution API's byte ranges. A chunk is sent with <c>Content-Range: &lt;start&gt;-&lt;end&gt;</c> (inclusive, no
/// unit), and the registry tells how much of an upload it holds with <c>Range: 0-&lt;end&gt;</c> (some registries write
/// <c>bytes=0-&lt;end&gt;</c>). <c>0-0</c> is read as the spec writes it: one byte held.
/// </summary>
public static class ByteRange
{
    /// <summary>The <c>Content-Range</c> of a chunk of <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    public static string ContentRange(long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        return $"{offset.ToString(CultureInfo.InvariantCulture)}-{(offset + length - 1).ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>
    /// The number of bytes the registry holds, from its <c>Range</c> header; null when the header is missing or
    /// not <c>0-&lt;end&gt;</c> (a range that does not start at 0 says nothing usable about an upload).
    /// </summary>
    public static long? ReceivedLength(string? range)
    {
        if (string.IsNullOrWhiteSpace(range))
        {
            return null;
        }

        var text = range.Trim();
        if (text.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            text = text["bytes=".Length..];
        }
        else if (text.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase))
        {
            text = text["bytes ".Length..];
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0
            || !long.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            || !long.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var end)
            || start != 0
            || end < start)
        {
            return null;
        }

        return end + 1;
    }
}
