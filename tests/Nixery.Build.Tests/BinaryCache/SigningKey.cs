using System.Numerics;
using System.Security.Cryptography;

namespace Nixery.Build.Tests.BinaryCache;

/// <summary>An Ed25519 key (RFC 8032) as a Nix binary cache has one: a name and a 32-byte seed.</summary>
internal sealed class SigningKey(string name, byte[] seed)
{
    public string Name { get; } = name;

    /// <summary>The public key as NixTrustedPublicKeys takes it: <c>name:base64</c>.</summary>
    public string PublicKeyText => Name + ":" + Convert.ToBase64String(Ed25519.PublicKey(seed));

    public byte[] Sign(byte[] message) => Ed25519.Sign(seed, message);
}

/// <summary>
/// Ed25519 signing after RFC 8032's reference code (section 6), slow and simple: the test project cannot compile
/// against the product's BouncyCastle (a private asset of the tasks project), and an independent signer checks the
/// product's verification better anyway.
/// </summary>
internal static class Ed25519
{
    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
    private static readonly BigInteger Q = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493", System.Globalization.CultureInfo.InvariantCulture);
    private static readonly BigInteger D = Mod(-121665 * Inverse(121666));
    private static readonly BigInteger SqrtMinus1 = BigInteger.ModPow(2, (P - 1) / 4, P);
    private static readonly Point Base = BasePoint();

    public static byte[] PublicKey(byte[] seed) => Encode(Multiply(Expand(seed).Scalar, Base));

    public static byte[] Sign(byte[] seed, byte[] message)
    {
        var (a, prefix) = Expand(seed);
        var publicKey = Encode(Multiply(a, Base));
        var r = FromBytes(SHA512.HashData([.. prefix, .. message])) % Q;
        var encodedR = Encode(Multiply(r, Base));
        var h = FromBytes(SHA512.HashData([.. encodedR, .. publicKey, .. message])) % Q;
        var s = (r + (h * a)) % Q;
        return [.. encodedR, .. ToBytes(s)];
    }

    private static (BigInteger Scalar, byte[] Prefix) Expand(byte[] seed)
    {
        var hash = SHA512.HashData(seed);
        var a = FromBytes(hash[..32]);
        a &= (BigInteger.One << 254) - 8;
        a |= BigInteger.One << 254;
        return (a, hash[32..]);
    }

    private static BigInteger Mod(BigInteger value)
    {
        var r = value % P;
        return r.Sign < 0 ? r + P : r;
    }

    private static BigInteger Inverse(BigInteger value) => BigInteger.ModPow(Mod(value), P - 2, P);

    private static Point BasePoint()
    {
        var y = Mod(4 * Inverse(5));
        var x2 = Mod(((y * y) - 1) * Inverse((D * y * y) + 1));
        var x = BigInteger.ModPow(x2, (P + 3) / 8, P);
        if (Mod((x * x) - x2) != 0)
        {
            x = Mod(x * SqrtMinus1);
        }

        if (!x.IsEven)
        {
            x = P - x;
        }

        return new Point(x, y, 1, Mod(x * y));
    }

    private static Point Add(Point p, Point q)
    {
        var a = Mod((p.Y - p.X) * (q.Y - q.X));
        var b = Mod((p.Y + p.X) * (q.Y + q.X));
        var c = Mod(2 * p.T * q.T * D);
        var d = Mod(2 * p.Z * q.Z);
        var (e, f, g, h) = (b - a, d - c, d + c, b + a);
        return new Point(Mod(e * f), Mod(g * h), Mod(f * g), Mod(e * h));
    }

    private static Point Multiply(BigInteger scalar, Point point)
    {
        var result = new Point(0, 1, 1, 0);
        while (scalar > 0)
        {
            if (!scalar.IsEven)
            {
                result = Add(result, point);
            }

            point = Add(point, point);
            scalar >>= 1;
        }

        return result;
    }

    private static byte[] Encode(Point point)
    {
        var zInverse = Inverse(point.Z);
        var x = Mod(point.X * zInverse);
        var y = Mod(point.Y * zInverse);
        return ToBytes(y | ((x & 1) << 255));
    }

    private static BigInteger FromBytes(byte[] littleEndian) => new(littleEndian, isUnsigned: true, isBigEndian: false);

    private static byte[] ToBytes(BigInteger value)
    {
        var bytes = new byte[32];
        value.ToByteArray(isUnsigned: true, isBigEndian: false).CopyTo(bytes, 0);
        return bytes;
    }

    private readonly record struct Point(BigInteger X, BigInteger Y, BigInteger Z, BigInteger T);
}
