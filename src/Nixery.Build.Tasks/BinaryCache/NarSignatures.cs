using System.Text;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Nixery.Build.BinaryCache;

/// <summary>
/// Checks a narinfo's <c>Sig: name:base64</c> lines the way Nix does: a signature counts when a trusted key has its
/// name and it verifies (Ed25519) against <see cref="NarInfo.Fingerprint"/>; one that counts is enough. The
/// fingerprint covers the store path, NAR hash, NAR size and references, not the URL or compression: the NAR itself
/// is trusted only once its SHA-256 and size match the signed ones.
/// </summary>
public static class NarSignatures
{
    private const int SignatureSize = 64;

    /// <summary>
    /// Whether a signature on <paramref name="info"/> is by one of <paramref name="keys"/>. Signatures that are not
    /// <c>name:base64</c> of 64 bytes, or whose name no key has, are skipped: a cache may carry signatures of keys
    /// this build does not know, and a junk one must not hide a good one.
    /// </summary>
    public static bool IsTrusted(NarInfo info, IReadOnlyList<TrustedKey> keys)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0 || info.Signatures.Count == 0)
        {
            return false;
        }

        var fingerprint = Encoding.UTF8.GetBytes(info.Fingerprint());
        Span<byte> signature = stackalloc byte[SignatureSize];
        foreach (var sig in info.Signatures)
        {
            if (!TrySplit(sig, out var name, out var encoded)
                || !Convert.TryFromBase64String(encoded, signature, out var length)
                || length != SignatureSize)
            {
                continue;
            }

            foreach (var key in keys)
            {
                // Several keys may share a name (a rotated key kept during a change-over): try each.
                if (key.Name == name && key.PublicKey.Length == TrustedKey.KeySize && Ed25519.Verify(signature, key.PublicKey, fingerprint))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The names the narinfo's signatures claim, distinct, in order, comma-separated (<c>cache.nixos.org-1, my-cache-1</c>),
    /// or null when it has none: for a message that says which key would have been needed. Claimed, not verified.
    /// </summary>
    public static string? SignerNames(NarInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var names = info.Signatures
            .Select(sig => TrySplit(sig, out var name, out _) ? name : null)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        return names.Length == 0 ? null : string.Join(", ", names);
    }

    private static bool TrySplit(string sig, out string name, out string encoded)
    {
        var colon = sig.IndexOf(':', StringComparison.Ordinal);
        name = colon > 0 ? sig[..colon] : string.Empty;
        encoded = colon > 0 ? sig[(colon + 1)..] : string.Empty;
        return colon > 0;
    }
}
