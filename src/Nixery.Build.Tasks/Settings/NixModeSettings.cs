using Nixery.Build.BinaryCache;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Settings;

/// <summary>The settings of builds without Nix (NixMode, NixBinaryCaches, NixTrustedPublicKeys), checked: NIXIMG052 for a value that cannot be used.</summary>
public static class NixModeSettings
{
    public const string DefaultCache = "https://cache.nixos.org";

    public static NixMode Mode(string? text) => string.IsNullOrWhiteSpace(text) ? NixMode.Auto : text.Trim().ToLowerInvariant() switch
    {
        "auto" => NixMode.Auto,
        "nix" => NixMode.Nix,
        "lock" => NixMode.Lock,
        _ => throw new NixImageException(ErrorCodes.InvalidBinaryCacheSetting, $"NixMode '{text.Trim()}' is not a mode. Set it to Auto (Nix when it is on PATH, else the lock file), Nix or Lock."),
    };

    /// <summary>The caches in order: <c>https://cache.nixos.org</c> unless the project names its own.</summary>
    public static IReadOnlyList<string> Caches(string? text)
    {
        var items = Split(text);
        if (items.Count == 0)
        {
            return [DefaultCache];
        }

        foreach (var item in items)
        {
            if (BinaryCacheClient.ParseCache(item) is not { } cache)
            {
                throw new NixImageException(
                    ErrorCodes.InvalidBinaryCacheSetting,
                    $"NixBinaryCaches has '{Redacted(item)}', which is not an http://, https:// or file:// address of a binary cache. Write each cache as a URL, separated by ';' or spaces.");
            }

            if (cache.UserInfo.Length > 0 || Redacted(item) != item)
            {
                // Refused before it becomes a property: MSBuild logs property values, and the build sends no credentials to caches.
                throw new NixImageException(
                    ErrorCodes.InvalidBinaryCacheSetting,
                    $"NixBinaryCaches has '{Redacted(item)}', a URL with a user name or password in it, which build logs would show and Nixery.Build does not send. "
                    + "Take the credentials out of the URL: use a cache that needs none (a public cache, or a file:// folder such as a mounted bucket), or a proxy on the build machine that adds them.");
            }
        }

        return items.Select(i => i.TrimEnd('/')).ToList();
    }

    /// <summary>The trusted keys: cache.nixos.org's unless the project names its own.</summary>
    public static IReadOnlyList<string> Keys(string? text)
    {
        var items = Split(text);
        if (items.Count == 0)
        {
            return [TrustedKey.CacheNixosOrg];
        }

        foreach (var item in items)
        {
            try
            {
                TrustedKey.Parse(item);
            }
            catch (FormatException e)
            {
                throw new NixImageException(
                    ErrorCodes.InvalidBinaryCacheSetting,
                    $"NixTrustedPublicKeys has a key named '{item.Split(':', 2)[0]}' that is not a Nix public key ({e.Message}). Write each key as Nix prints it, name:base64 (cache.nixos.org-1:6NCH…), separated by ';' or spaces.");
            }
        }

        return items;
    }

    private static List<string> Split(string? text) =>
        (text ?? string.Empty).Split([';', ' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    /// <summary>A URL without the user and password it may carry (all before the last '@', after the scheme).</summary>
    private static string Redacted(string text)
    {
        var start = text.IndexOf("://", StringComparison.Ordinal);
        var at = text.LastIndexOf('@');
        return start >= 0 && at > start ? text[..(start + 3)] + "***" + text[at..] : text;
    }
}
