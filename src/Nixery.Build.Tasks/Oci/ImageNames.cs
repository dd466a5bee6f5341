using System.Text;
using System.Text.RegularExpressions;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Oci;

/// <summary>Repository and tag rules of the OCI distribution spec.</summary>
public static partial class ImageNames
{
    private const int MaxRepositoryLength = 255;

    /// <summary>Lower-case path components separated by <c>/</c>; components are alphanumerics joined by <c>.</c>, <c>_</c>, <c>__</c> or dashes.</summary>
    /// <remarks>Anchored with <c>\z</c>: <c>$</c> would also match before a final newline.</remarks>
    [GeneratedRegex("^[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex RepositoryPattern();

    [GeneratedRegex("^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TagPattern();

    public static bool IsValidRepository(string repository) =>
        repository.Length <= MaxRepositoryLength && RepositoryPattern().IsMatch(repository);

    public static bool IsValidTag(string tag) => TagPattern().IsMatch(tag);

    public static void ValidateRepository(string repository)
    {
        if (!IsValidRepository(repository))
        {
            throw new NixImageException(
                ErrorCodes.InvalidImageName,
                $"ContainerRepository '{repository}' is not a valid repository name. "
                + "Use lower-case letters, digits and the separators '.', '_', '-' between them, with '/' between path components (e.g. 'shop/api').");
        }
    }

    public static void ValidateTag(string tag)
    {
        if (!IsValidTag(tag))
        {
            throw new NixImageException(
                ErrorCodes.InvalidImageName,
                $"Image tag '{tag}' is not valid. "
                + "A tag has 1 to 128 characters: letters, digits, '_', '.', '-', and does not start with '.' or '-'.");
        }
    }

    /// <summary>
    /// A valid repository name made from an assembly name, as the .NET SDK does for its default:
    /// lower-cased, every run of other characters replaced by one '-', separators trimmed at the ends.
    /// </summary>
    public static string RepositoryFromAssemblyName(string assemblyName)
    {
        var builder = new StringBuilder(assemblyName.Length);
        foreach (var c in assemblyName.ToLowerInvariant())
        {
            if (char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '/')
            {
                builder.Append(c);
            }
            else if (builder.Length > 0 && builder[^1] != '-')
            {
                builder.Append('-');
            }
        }

        // Separators only live between alphanumerics: collapse what the replacement left at the edges of components.
        var components = builder.ToString()
            .Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(part => part.Trim('.', '_', '-'))
            .Where(part => part.Length > 0)
            .Select(part => SeparatorRuns().Replace(part, m => m.Value.Contains('-', StringComparison.Ordinal) ? "-" : m.Value[..1]));
        var name = string.Join('/', components);
        if (name.Length > MaxRepositoryLength)
        {
            name = name[..MaxRepositoryLength].TrimEnd('.', '_', '-', '/');
        }

        return name.Length == 0 ? "app" : name;
    }

    [GeneratedRegex("[._-]{2,}", RegexOptions.CultureInvariant)]
    private static partial Regex SeparatorRuns();
}
