using Nixery.Build.Nix;

namespace Nixery.Build.Tests.Nix;

public class NixBase32Tests
{
    /// <summary>
    /// Hex and the base-32 Nix 2.8 prints for it: <c>nix-hash --type T --flat [--base32] FILE</c> on small files,
    /// <c>nix-hash --to-base32 --type T HEX</c> and <c>nix-hash --to-base16 --type sha1 HASHPART</c> for store paths.
    /// md5, sha1, sha256 and sha512 give 16, 20, 32 and 64 bytes: 2, 0, 4 and 3 spare bits in the first character.
    /// </summary>
    public static TheoryData<string, string> NixVectors => new()
    {
        // "hello\n"
        { "b1946ac92492d2347c6235b4d2611184", "4425hx5d1mc9y39llj4k4nm55i" },
        { "f572d396fae9206628714fb2ce00f72e94f2258f", "iwjz551fyw0cxcjgf4l6c879zabd6wpm" },
        { "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", "00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq" },
        {
            "e7c22b994c59d9cf2b48e549b1e24666636045930d3da7c1acb299d1c3b7f931f94aae41edda2c2b207a36e10f8bcb8d45223e54878f5b316e7ce3b6bc019629",
            "0lrc0dwnvipqviibf7qfm1y492qvjwb1zhkcyi05cndmva1mr5gjcgrnz1x36djmk0sfg8djd2n0qv68vib2jg590mwznar9jcjphp7"
        },
        // The empty file.
        { "d41d8cd98f00b204e9800998ecf8427e", "3y8bwfr609h3lh9ch0izcqq7fl" },
        { "da39a3ee5e6b4b0d3255bfef95601890afd80709", "143xibwh31h9bvxzalr0sjvbbvpa6ffs" },
        { "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73" },
        {
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
            "0zdl9zrg8r3i9c1g90lgg9ip5ijzv3yhz91i0zzn3r8ap9ws784gkp9dk9j3aglhgf1amqb0pj21mh7h1nxcl18akqvvf7ggqsy30yg"
        },
        // "Nixery.Build NAR hash test vector\n"
        { "b73bd0462feba81f717a627cf2496e9c6b1bc9e9cb2e4c50fbba803c44dc25bb", "1fr5vi23r05szd84qbnbx74inswwdr4z4z32g9qiza7b5x3d0fxp" },
        // Store path hash parts (20 bytes): /nix/store/9my4my64...-jq-1.6 and its deriver /nix/store/035r0afx...-jq-1.6.drv.
        { "cbde1d8f43c4d41ea6bcefbc915d50c4f84a7c4d", "9my4my64a1fr3g7gpjk1xm648f7ivpnb" },
        { "03ce794e066a57f50e6e91dc6f5cb5dd2990cb00", "035r0afxnmf6zp4idq7gamva0r77kkh3" },
        // Counting bytes: the first bytes land at the end of the text.
        { "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "07qy3lf1n6hr30bic58l2c91240g1q6hq2qa1440f1h50h1h4080" },
        { "0102030405060708090a0b0c0d0e0f1011121314", "2h9i448h1w70s30b184hh1q60l2060h1" },
        { "0123456789abcdef0123456789abcdef", "7grnmqjrs54c0yzkdbi5kla8q1" },
        // Every digit, forwards and backwards (nix-hash --to-base16).
        { "df77be75c6d7563a6584cf35b65442c714324400", "0123456789abcdfghijklmnpqrsvwxyz" },
        { "2088418a3928a9c59a7b30ca49abbd38ebcdbbff", "zyxwvsrqpnmlkjihgfdcba9876543210" },
        { "32c2e71a5b2aa1630a192280ef3bdf3ae36b2b9d32c2e71a5b2aa1630a192200", "00123456789abcdfghijklmnpqrsvwxyz0123456789abcdfghij" },
        // All-zero and all-0xff bytes; the first character of the 0xff ones shows the spare bits.
        { new string('0', 64), new string('0', 52) },
        { new string('f', 32), "7" + new string('z', 25) },
        { new string('f', 40), new string('z', 32) },
        { new string('f', 64), "1" + new string('z', 51) },
        { new string('f', 128), "3" + new string('z', 102) },
    };

    [Theory]
    [MemberData(nameof(NixVectors))]
    public void EncodesAsNixDoes(string hex, string nix32)
    {
        Assert.Equal(nix32, NixBase32.Encode(Convert.FromHexString(hex)));
    }

    [Theory]
    [MemberData(nameof(NixVectors))]
    public void DecodesWhatNixPrints(string hex, string nix32)
    {
        Assert.Equal(Convert.FromHexString(hex), NixBase32.Decode(nix32));
        Assert.True(NixBase32.TryDecode(nix32, out var bytes));
        Assert.Equal(Convert.FromHexString(hex), bytes);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(3, 5)]
    [InlineData(4, 7)]
    [InlineData(5, 8)]
    [InlineData(16, 26)]
    [InlineData(20, 32)]
    [InlineData(32, 52)]
    [InlineData(64, 103)]
    public void EncodedLengthIsOneCharacterPerFiveBitsRoundedUp(int byteCount, int length)
    {
        Assert.Equal(length, NixBase32.EncodedLength(byteCount));
        Assert.Equal(length, NixBase32.Encode(new byte[byteCount]).Length);
    }

    [Fact]
    public void EncodedLengthRejectsANegativeCount()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => NixBase32.EncodedLength(-1));
    }

    [Fact]
    public void EmptyInputIsEmptyText()
    {
        Assert.Equal("", NixBase32.Encode([]));
        Assert.Empty(NixBase32.Decode(""));
        Assert.True(NixBase32.TryDecode("", out var bytes));
        Assert.Empty(bytes);
    }

    [Fact]
    public void EveryDigitDecodesToItsPlaceInTheAlphabet()
    {
        Assert.Equal("0123456789abcdfghijklmnpqrsvwxyz", NixBase32.Alphabet);
        for (var value = 0; value < 32; value++)
        {
            // One byte takes two characters; the low five bits are the last one.
            var text = "0" + NixBase32.Alphabet[value];
            Assert.Equal([(byte)value], NixBase32.Decode(text));
            Assert.Equal(text, NixBase32.Encode([(byte)value]));
        }
    }

    [Fact]
    public void BitOrderIsLittleEndianAndWrittenHighestDigitFirst()
    {
        // RFC 4648 would write 01 00 as "AEAA====": bits taken from the top of the first byte, first byte first.
        // Nix reads the bytes as the number 0x0001 and writes it highest digit first, like a numeral.
        Assert.Equal("0001", NixBase32.Encode([0x01, 0x00]));
        Assert.Equal("0080", NixBase32.Encode([0x00, 0x01]));
        Assert.Equal("1zzz", NixBase32.Encode([0xff, 0xff]));
    }

    [Theory]
    [InlineData('e')]
    [InlineData('o')]
    [InlineData('u')]
    [InlineData('t')]
    [InlineData('A')]
    [InlineData('Z')]
    [InlineData('-')]
    [InlineData(' ')]
    [InlineData('=')]
    [InlineData('é')]
    [InlineData('\0')]
    public void RejectsCharactersOutsideTheAlphabet(char bad)
    {
        foreach (var position in new[] { 0, 17, 31 })
        {
            var text = "9my4my64a1fr3g7gpjk1xm648f7ivpnb".Remove(position, 1).Insert(position, bad.ToString());

            var error = Assert.Throws<FormatException>(() => NixBase32.Decode(text));
            Assert.Contains($"'{bad}' at position {position}", error.Message);
            Assert.Contains(NixBase32.Alphabet, error.Message);
            Assert.False(NixBase32.TryDecode(text, out var bytes));
            Assert.Empty(bytes);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(9)]
    [InlineData(30)]
    [InlineData(33)]
    [InlineData(51)]
    [InlineData(102)]
    public void RejectsLengthsNoByteCountGives(int length)
    {
        var text = new string('0', length);

        var error = Assert.Throws<FormatException>(() => NixBase32.Decode(text));
        Assert.Contains($"{length} characters", error.Message);
        Assert.False(NixBase32.TryDecode(text, out _));
    }

    [Fact]
    public void EveryLengthThatABytesCountGivesIsAccepted()
    {
        for (var byteCount = 0; byteCount <= 70; byteCount++)
        {
            Assert.Equal(new byte[byteCount], NixBase32.Decode(new string('0', NixBase32.EncodedLength(byteCount))));
        }
    }

    [Theory]
    // 52 characters carry 260 bits for 256: the first may only be 0 or 1 (nix-hash --to-base16 agrees).
    [InlineData("2zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")]
    [InlineData("g000000000000000000000000000000000000000000000000000")]
    [InlineData("h000000000000000000000000000000000000000000000000000")]
    // 26 characters carry 130 bits for 128: at most 7.
    [InlineData("8zzzzzzzzzzzzzzzzzzzzzzzzz")]
    // One byte in two characters: at most 7.
    [InlineData("80")]
    public void RejectsSpareBitsInTheFirstCharacter(string text)
    {
        var error = Assert.Throws<FormatException>(() => NixBase32.Decode(text));
        Assert.Contains("beyond", error.Message);
        Assert.Contains(text, error.Message);
        Assert.False(NixBase32.TryDecode(text, out _));
    }

    [Fact]
    public void RejectsSpareBitsOfASha512()
    {
        // 103 characters carry 515 bits for 512: at most 3.
        Assert.Equal(64, NixBase32.Decode("3" + new string('z', 102)).Length);
        Assert.Throws<FormatException>(() => NixBase32.Decode("4" + new string('z', 102)));
    }

    [Fact]
    public void DecodeRejectsNull()
    {
        Assert.Throws<ArgumentNullException>(() => NixBase32.Decode(null!));
        Assert.False(NixBase32.TryDecode(null!, out var bytes));
        Assert.Empty(bytes);
    }

    [Fact]
    public void RandomBytesRoundTrip()
    {
        var random = new Random(20240611);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(0, 130)];
            random.NextBytes(bytes);

            var text = NixBase32.Encode(bytes);

            Assert.Equal(NixBase32.EncodedLength(bytes.Length), text.Length);
            Assert.All(text, c => Assert.Contains(c, NixBase32.Alphabet));
            Assert.Equal(bytes, NixBase32.Decode(text));
        }
    }

    [Fact]
    public void RandomValidTextRoundTrips()
    {
        var random = new Random(7);
        foreach (var byteCount in new[] { 1, 2, 3, 16, 20, 32, 33, 64 })
        {
            var length = NixBase32.EncodedLength(byteCount);
            var spareBits = length * 5 - byteCount * 8;
            for (var i = 0; i < 200; i++)
            {
                var digits = new char[length];
                for (var d = 0; d < length; d++)
                {
                    digits[d] = NixBase32.Alphabet[random.Next(32)];
                }

                // Keep the first digit within the bits the bytes hold.
                digits[0] = NixBase32.Alphabet[random.Next(32 >> spareBits)];
                var text = new string(digits);

                Assert.Equal(text, NixBase32.Encode(NixBase32.Decode(text)));
            }
        }
    }
}
