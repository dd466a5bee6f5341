namespace Nixery.Build.Nix;

/// <summary>
/// Nix's base-32 text form of hashes: the one in store paths (<c>/nix/store/&lt;32 chars&gt;-jq-1.7.1</c>),
/// narinfo files and <c>nix-hash --to-base32</c>.
/// </summary>
/// <remarks>
/// This is not RFC 4648 base32 with another alphabet. Nix reads the bytes as one little-endian number
/// (bit 0 of byte 0 is the lowest bit), cuts it into 5-bit digits from the lowest bit up, and writes
/// the digits highest first, with no padding. So the first bytes end up at the end of the text, and
/// the first character holds the few top bits that the byte count leaves over.
/// The alphabet drops <c>e</c>, <c>o</c>, <c>u</c> and <c>t</c> (to keep words out of store paths).
/// </remarks>
public static class NixBase32
{
    /// <summary>The 32 digits, lowest value first.</summary>
    public const string Alphabet = "0123456789abcdfghijklmnpqrsvwxyz";

    // Digit value of each ASCII character, -1 where it is not a digit.
    private static readonly sbyte[] DigitValues = BuildDigitValues();

    /// <summary>The number of characters <see cref="Encode"/> gives for <paramref name="byteCount"/> bytes.</summary>
    /// <remarks>One character per 5 bits, rounded up: 20 bytes (a store path hash) give 32, 32 bytes (SHA-256) give 52.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="byteCount"/> is negative.</exception>
    public static int EncodedLength(int byteCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteCount);
        return checked((int)((byteCount * 8L + 4) / 5));
    }

    /// <summary>Writes <paramref name="bytes"/> in Nix's base-32, the text <c>nix-hash --to-base32</c> prints.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var length = EncodedLength(bytes.Length);
        if (length == 0)
        {
            return string.Empty;
        }

        // Hashes are short: build them on the stack.
        Span<char> chars = length <= 256 ? stackalloc char[length] : new char[length];
        for (var n = 0; n < length; n++)
        {
            // Digit n covers bits 5n .. 5n+4 of the little-endian number; it may straddle two bytes.
            var bit = n * 5;
            var index = bit / 8;
            var shift = bit % 8;
            var value = bytes[index] >> shift;
            if (index + 1 < bytes.Length)
            {
                value |= bytes[index + 1] << (8 - shift);
            }

            // The highest digit is written first.
            chars[length - 1 - n] = Alphabet[value & 0x1f];
        }

        return new string(chars);
    }

    /// <summary>Reads Nix's base-32 text back into bytes.</summary>
    /// <exception cref="FormatException">
    /// A character is not in <see cref="Alphabet"/> (upper case included), no byte count encodes to this many
    /// characters, or the first character sets bits beyond the last byte (Nix rejects those too).
    /// </exception>
    public static byte[] Decode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryDecode(text, out var bytes, out var error) ? bytes : throw new FormatException(error);
    }

    /// <summary>Reads Nix's base-32 text back into bytes, or returns false where <see cref="Decode"/> would throw.</summary>
    /// <param name="text">The base-32 text.</param>
    /// <param name="bytes">The bytes, or an empty array when the text is not valid.</param>
    public static bool TryDecode(string text, out byte[] bytes) => TryDecode(text, out bytes, out _);

    private static bool TryDecode(string? text, out byte[] bytes, out string error)
    {
        bytes = [];
        if (text is null)
        {
            error = "No Nix base-32 text was given.";
            return false;
        }

        // Every byte count has exactly one length (see EncodedLength), and 5 * length / 8 rounded down gives it back.
        var byteCount = (int)(text.Length * 5L / 8);
        if (EncodedLength(byteCount) != text.Length)
        {
            error = $"'{text}' is not Nix base-32: no byte count encodes to {text.Length} characters.";
            return false;
        }

        var result = new byte[byteCount];
        for (var n = 0; n < text.Length; n++)
        {
            var position = text.Length - 1 - n;
            var c = text[position];
            var digit = c < DigitValues.Length ? DigitValues[c] : -1;
            if (digit < 0)
            {
                error = $"'{text}' is not Nix base-32: '{c}' at position {position} is not one of {Alphabet}.";
                return false;
            }

            var bit = n * 5;
            var index = bit / 8;
            var shift = bit % 8;
            result[index] |= (byte)(digit << shift);
            var carry = digit >> (8 - shift);
            if (index + 1 < byteCount)
            {
                result[index + 1] |= (byte)carry;
            }
            else if (carry != 0)
            {
                // Only the first character can reach past the last byte; its spare bits must be zero.
                error = $"'{text}' is not Nix base-32: its first character '{c}' sets bits beyond the {byteCount} bytes that {text.Length} characters hold.";
                return false;
            }
        }

        bytes = result;
        error = string.Empty;
        return true;
    }

    private static sbyte[] BuildDigitValues()
    {
        var values = new sbyte[128];
        Array.Fill(values, (sbyte)-1);
        for (var i = 0; i < Alphabet.Length; i++)
        {
            values[Alphabet[i]] = (sbyte)i;
        }

        return values;
    }
}
