using System.Security.Cryptography;

namespace Nixery.Build.Oci;

/// <summary>A content digest, <c>sha256:&lt;64 hex&gt;</c>. Used for both compressed digests and diffIDs.</summary>
public readonly record struct Digest
{
    private const string Prefix = "sha256:";

    private Digest(string value) => Value = value;

    public string Value { get; }

    /// <summary>The 64 lower-case hex characters after <c>sha256:</c>.</summary>
    public string Hex => Value[Prefix.Length..];

    public static Digest FromHash(ReadOnlySpan<byte> sha256) => new(Prefix + Convert.ToHexStringLower(sha256));

    public static Digest Of(ReadOnlySpan<byte> content) => FromHash(SHA256.HashData(content));

    public static Digest Parse(string value)
    {
        if (!TryParse(value, out var digest))
        {
            throw new FormatException($"'{value}' is not a sha256 digest.");
        }

        return digest;
    }

    public static bool TryParse(string? value, out Digest digest)
    {
        digest = default;
        if (value is null || value.Length != Prefix.Length + 64 || !value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in value.AsSpan(Prefix.Length))
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        digest = new Digest(value);
        return true;
    }

    public override string ToString() => Value;
}
