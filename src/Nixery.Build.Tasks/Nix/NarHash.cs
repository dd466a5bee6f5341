using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace Nixery.Build.Nix;

/// <summary>The SHA-256 of a store path's serialisation (NAR), as Nix names it in path-info and narinfo files.</summary>
/// <remarks>
/// Nix writes the same hash three ways: <c>sha256:&lt;52 base-32 chars&gt;</c> (narinfo files, <c>nix-store -q --hash</c>),
/// <c>sha256:&lt;64 hex digits&gt;</c>, and SRI <c>sha256-&lt;base64&gt;</c> (<c>nix path-info --json</c>).
/// All three parse to equal values.
/// </remarks>
public sealed record NarHash
{
    /// <summary>The byte length of a SHA-256.</summary>
    private const int Sha256Length = 32;

    private const string Prefix = "sha256:";
    private const string SriPrefix = "sha256-";

    private const string AcceptedForms =
        "expected sha256:<52 Nix base-32 characters>, sha256:<64 hex digits> or sha256-<44 base64 characters> (SRI)";

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    private static readonly SearchValues<char> Base64Characters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

    // The hex is the only state, so the record's generated equality compares hashes and nothing else.
    // Keep it that way: a cached byte array or text in another field would take part in Equals.
    private NarHash(string hex) => Hex = hex;

    /// <summary>The hash as 64 lowercase hex digits.</summary>
    public string Hex { get; }

    /// <summary>The SRI form, <c>sha256-&lt;base64&gt;</c>, which <c>nix path-info --json</c> prints.</summary>
    public string Sri => SriPrefix + Convert.ToBase64String(ToBytes());

    /// <summary>The OCI-style digest text, <c>sha256:&lt;hex&gt;</c>, under which the layer cache stores the NAR.</summary>
    public string Digest => Prefix + Hex;

    /// <summary>Reads any of the three forms Nix writes a NAR hash in.</summary>
    /// <exception cref="FormatException">The text is none of them: another algorithm, a wrong length or a bad character.</exception>
    public static NarHash Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var hash, out var reason)
            ? hash
            : throw new FormatException($"'{text}' is not a NAR hash ({reason}); {AcceptedForms}.");
    }

    /// <summary>Reads any of the three forms Nix writes a NAR hash in, or returns false where <see cref="Parse"/> would throw.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out NarHash? hash) => TryParse(text, out hash, out _);

    /// <summary>Wraps the 32 bytes of a SHA-256.</summary>
    /// <exception cref="ArgumentException"><paramref name="sha256"/> is not 32 bytes long.</exception>
    public static NarHash FromBytes(ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != Sha256Length)
        {
            throw new ArgumentException($"A SHA-256 is {Sha256Length} bytes, not {sha256.Length}.", nameof(sha256));
        }

        return new NarHash(Convert.ToHexStringLower(sha256));
    }

    /// <summary>A fresh copy of the 32 hash bytes.</summary>
    public byte[] ToBytes() => Convert.FromHexString(Hex);

    /// <summary>The narinfo form, <c>sha256:&lt;52 Nix base-32 characters&gt;</c>, which the lock file stores.</summary>
    public override string ToString() => Prefix + NixBase32.Encode(ToBytes());

    private static bool TryParse(string? text, [NotNullWhen(true)] out NarHash? hash, out string reason)
    {
        hash = null;
        if (string.IsNullOrEmpty(text))
        {
            reason = "it is empty";
            return false;
        }

        if (text.StartsWith(SriPrefix, StringComparison.Ordinal))
        {
            return TryParseBase64(text[SriPrefix.Length..], out hash, out reason);
        }

        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            var separator = text.IndexOfAny([':', '-']);
            reason = separator > 0 ? $"the algorithm is '{text[..separator]}', not sha256" : "it has no sha256: or sha256- prefix";
            return false;
        }

        var body = text[Prefix.Length..];
        switch (body.Length)
        {
            case 52:
                if (!NixBase32.TryDecode(body, out var bytes))
                {
                    reason = "its 52 characters are not valid Nix base-32";
                    return false;
                }

                hash = FromBytes(bytes);
                reason = string.Empty;
                return true;
            case 64:
                if (body.AsSpan().ContainsAnyExcept(HexDigits))
                {
                    reason = "its 64 characters are not all hex digits";
                    return false;
                }

                // Nix accepts upper-case hex too; store the lower-case form so equal hashes compare equal.
                hash = new NarHash(body.ToLowerInvariant());
                reason = string.Empty;
                return true;
            default:
                reason = $"{body.Length} characters follow sha256:, not 52 or 64";
                return false;
        }
    }

    private static bool TryParseBase64(string body, [NotNullWhen(true)] out NarHash? hash, out string reason)
    {
        hash = null;

        // 32 bytes are 43 base64 characters and one '='. Check the characters here, because
        // Convert.TryFromBase64String would also skip white space inside the text.
        var length = (Sha256Length + 2) / 3 * 4;
        if (body.Length != length)
        {
            reason = $"{body.Length} characters follow sha256-, not {length}";
            return false;
        }

        if (body.AsSpan(0, length - 1).ContainsAnyExcept(Base64Characters) || body[^1] != '=')
        {
            reason = "the text after sha256- is not the base64 of 32 bytes";
            return false;
        }

        Span<byte> bytes = stackalloc byte[Sha256Length + 1];
        if (!Convert.TryFromBase64String(body, bytes, out var written) || written != Sha256Length)
        {
            reason = "the text after sha256- is not the base64 of 32 bytes";
            return false;
        }

        hash = FromBytes(bytes[..written]);
        reason = string.Empty;
        return true;
    }
}
