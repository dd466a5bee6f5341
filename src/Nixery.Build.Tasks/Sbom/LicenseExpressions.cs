using System.Buffers;

namespace Nixery.Build.Sbom;

/// <summary>Licence expressions as the documents carry them: SPDX expressions, or nothing.</summary>
public static class LicenseExpressions
{
    private const int MaxLength = 1024;

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-+:() ");

    /// <summary>
    /// The expression with its white space collapsed, or null when it is empty, longer than 1024 characters or has a
    /// character no SPDX expression has (a licence is omitted rather than written wrong).
    /// </summary>
    public static string? Clean(string? expression)
    {
        if (expression is null)
        {
            return null;
        }

        var text = string.Join(' ', expression.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return text.Length is 0 or > MaxLength || text.AsSpan().ContainsAnyExcept(Allowed) ? null : text;
    }
}
