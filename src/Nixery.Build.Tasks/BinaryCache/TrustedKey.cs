namespace Nixery.Build.BinaryCache;

/// <summary>
/// A binary cache's Ed25519 public key as Nix's <c>trusted-public-keys</c> writes it: <c>name:base64</c>, e.g.
/// <see cref="CacheNixosOrg"/>. A narinfo's <c>Sig: name:…</c> lines name the key that made them. Equal when the
/// names and the key bytes are.
/// </summary>
public sealed record TrustedKey(string Name, byte[] PublicKey)
{
    /// <summary>cache.nixos.org's key, the one Nix trusts by default.</summary>
    public const string CacheNixosOrg = "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=";

    /// <summary>The size of an Ed25519 public key.</summary>
    public const int KeySize = 32;

    // An Ed25519 secret key as Nix writes it (seed and public key): worth telling apart from a public key.
    private const int SecretKeySize = 64;

    private static readonly char[] ListSeparators = [' ', '\t', '\r', '\n', ';'];

    /// <summary>The key as Nix writes it: <c>name:base64</c>.</summary>
    public override string ToString() => Name + ":" + Convert.ToBase64String(PublicKey);

    /// <summary>Same name, same key bytes.</summary>
    public bool Equals(TrustedKey? other) =>
        other is not null && Name == other.Name && PublicKey.AsSpan().SequenceEqual(other.PublicKey);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Name, StringComparer.Ordinal);
        hash.AddBytes(PublicKey);
        return hash.ToHashCode();
    }

    /// <summary>
    /// Reads <c>name:base64</c> (split at the first colon, as Nix does); the key must be 32 bytes. Messages name
    /// the key but never repeat its base64, so a secret key given by mistake does not end up in a build log.
    /// </summary>
    /// <exception cref="FormatException">No colon, an empty name, base64 that is not, or not 32 bytes.</exception>
    public static TrustedKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new FormatException(
                "A trusted public key must be written name:base64 (e.g. cache.nixos.org-1:6NCHdD…), but the one given has no ':'.");
        }

        var name = trimmed[..colon];
        if (name.Trim().Length == 0)
        {
            throw new FormatException("A trusted public key must be written name:base64, but the one given has an empty name before the ':'.");
        }

        var encoded = trimmed[(colon + 1)..];
        var bytes = new byte[(encoded.Length * 3 / 4) + 3];
        if (encoded.Length == 0 || !Convert.TryFromBase64String(encoded, bytes, out var length))
        {
            throw new FormatException($"The trusted public key '{name}' is not name:base64: what follows the ':' is not base64.");
        }

        if (length != KeySize)
        {
            var hint = length == SecretKeySize ? " It looks like a secret key: give the public key (nix key convert-secret-to-public)." : string.Empty;
            throw new FormatException($"The trusted public key '{name}' is {length} bytes; an Ed25519 public key is {KeySize}.{hint}");
        }

        return new TrustedKey(name, bytes[..length]);
    }

    /// <summary>
    /// Reads a list of keys separated by whitespace or <c>;</c> (how an MSBuild property or Nix's
    /// <c>trusted-public-keys</c> gives them); empty entries are skipped, repeats dropped.
    /// </summary>
    /// <exception cref="FormatException">One of the keys is not <c>name:base64</c> of 32 bytes.</exception>
    public static IReadOnlyList<TrustedKey> ParseList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Split(ListSeparators, StringSplitOptions.RemoveEmptyEntries).Select(Parse).Distinct().ToArray();
    }
}
