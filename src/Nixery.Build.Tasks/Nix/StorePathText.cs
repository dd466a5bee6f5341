namespace Nixery.Build.Nix;

/// <summary>Whether text is a store path as Nix checks one: a store folder, then <c>&lt;32 Nix base-32 digits&gt;-&lt;name&gt;</c>.</summary>
public static class StorePathText
{
    // The Nix base-32 alphabet (no e, o, t, u) and a store path name's characters, as Nix checks them.
    private const string HashAlphabet = "0123456789abcdfghijklmnpqrsvwxyz";
    private const int HashLength = 32;
    private const int MaxNameLength = 211;

    /// <summary>
    /// An absolute path whose folder has no empty, <c>.</c> or <c>..</c> part and whose last part is a store path's
    /// base name (<see cref="IsBaseName"/>): <c>/nix/store/&lt;hash&gt;-jq-1.7.1</c>.
    /// </summary>
    public static bool IsStorePath(string? path)
    {
        if (path is null || path.Length < 2 || path[0] != '/')
        {
            return false;
        }

        var slash = path.LastIndexOf('/');
        var folder = path[1..slash];
        return slash > 0
            && IsBaseName(path[(slash + 1)..])
            && folder.Split('/').All(part => part.Length > 0 && part is not ("." or "..") && !part.Contains('\0', StringComparison.Ordinal));
    }

    /// <summary>
    /// <c>&lt;32 Nix base-32 digits&gt;-&lt;name&gt;</c>, the name 1 to 211 letters, digits and <c>+-._?=</c>, as Nix
    /// checks it. Keeps a reference like <c>../x</c> from becoming a path outside the store.
    /// </summary>
    public static bool IsBaseName(string baseName)
    {
        if (baseName.Length < HashLength + 2 || baseName.Length > HashLength + 1 + MaxNameLength || baseName[HashLength] != '-')
        {
            return false;
        }

        for (var i = 0; i < HashLength; i++)
        {
            if (!HashAlphabet.Contains(baseName[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        for (var i = HashLength + 1; i < baseName.Length; i++)
        {
            var ch = baseName[i];
            if (!(char.IsAsciiLetterOrDigit(ch) || ch is '+' or '-' or '.' or '_' or '?' or '='))
            {
                return false;
            }
        }

        return true;
    }
}
