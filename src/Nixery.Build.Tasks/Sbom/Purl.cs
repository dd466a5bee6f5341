using System.Text;

namespace Nixery.Build.Sbom;

/// <summary>
/// Package URLs (purl, https://github.com/package-url/purl-spec) for what an SBOM lists: <c>pkg:nix</c> for store paths
/// (as sbomnix and bombon write them), <c>pkg:nuget</c> for NuGet packages, <c>pkg:oci</c> for images.
/// </summary>
/// <remarks>
/// The spec's character rules: a name, version and qualifier value keep ASCII letters, digits, <c>.</c>, <c>-</c>,
/// <c>_</c>, <c>~</c> and <c>:</c> as they are, and every other byte of their UTF-8 is percent-encoded with upper-case
/// hex: <c>+</c> is <c>%2B</c> (never a space), <c>@</c> is <c>%40</c>, <c>/</c> in a name is <c>%2F</c>.
/// </remarks>
public static class Purl
{
    /// <summary><c>pkg:nix/&lt;name&gt;@&lt;version&gt;</c>, without <c>@</c> when there is no version.</summary>
    public static string Nix(string name, string version) => "pkg:nix/" + Encode(name) + (version.Length == 0 ? string.Empty : "@" + Encode(version));

    /// <summary><c>pkg:nuget/&lt;id&gt;@&lt;version&gt;</c>.</summary>
    public static string NuGet(string id, string version) => "pkg:nuget/" + Encode(id) + "@" + Encode(version);

    /// <summary>
    /// <c>pkg:oci/&lt;name&gt;@sha256:&lt;hex&gt;</c> with the qualifiers the spec defines for images: <c>arch</c>,
    /// <c>repository_url</c> (the repository when it has a registry or namespace) and <c>tag</c>, sorted by key.
    /// </summary>
    /// <param name="repository">The repository, without tag or digest (<c>mcr.microsoft.com/dotnet/runtime</c>).</param>
    public static string Oci(string repository, string digest, string? architecture = null, string? tag = null)
    {
        var name = repository[(repository.LastIndexOf('/') + 1)..].ToLowerInvariant();
        var qualifiers = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(architecture))
        {
            qualifiers["arch"] = architecture;
        }

        if (repository.Contains('/', StringComparison.Ordinal))
        {
            qualifiers["repository_url"] = repository;
        }

        if (!string.IsNullOrEmpty(tag))
        {
            qualifiers["tag"] = tag;
        }

        var purl = new StringBuilder("pkg:oci/").Append(Encode(name)).Append('@').Append(Encode(digest));
        var separator = '?';
        foreach (var (key, value) in qualifiers)
        {
            purl.Append(separator).Append(key).Append('=').Append(Encode(value));
            separator = '&';
        }

        return purl.ToString();
    }

    /// <summary>Percent-encodes <paramref name="text"/> as the purl spec asks of a name, version or qualifier value.</summary>
    public static string Encode(string text)
    {
        var result = new StringBuilder(text.Length);
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '~' or ':')
            {
                result.Append(c);
            }
            else
            {
                result.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return result.ToString();
    }

    /// <summary>Splits an image reference without digest into repository and tag: <c>mcr.microsoft.com/dotnet/runtime:10.0</c> → (<c>mcr.microsoft.com/dotnet/runtime</c>, <c>10.0</c>).</summary>
    public static (string Repository, string? Tag) SplitReference(string reference)
    {
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            reference = reference[..at];
        }

        var colon = reference.LastIndexOf(':');
        return colon > reference.LastIndexOf('/') ? (reference[..colon], reference[(colon + 1)..]) : (reference, null);
    }
}
