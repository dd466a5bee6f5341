using Nixery.Build.Nix;

namespace Nixery.Build.Tests.Nix;

public class NarHashTests
{
    // /nix/store/9my4my64a1fr3g7gpjk1xm648f7ivpnb-jq-1.6 on the test machine, Nix 2.8:
    // nix-store -q --hash prints the base-32 form, nix path-info --json the SRI form,
    // and nix-store --dump | nix-hash --type sha256 --flat gives the hex of the same NAR.
    private const string JqNix32 = "sha256:0i7y0v3qzs27r4888sl0ssk0ancp6m2an107kqralhhsrww432xq";
    private const string JqHex = "b88b4138cf1a42aa329e0704ab4435975905a6d6806a8410c947e88fc706fe44";
    private const string JqSri = "sha256-uItBOM8aQqoyngcEq0Q1l1kFptaAaoQQyUfoj8cG/kQ=";

    /// <summary>
    /// One hash in Nix's three forms: <c>nix-hash --type sha256 --flat [--base32] FILE</c>,
    /// <c>nix hash to-sri --type sha256 HEX</c>.
    /// </summary>
    public static TheoryData<string, string, string> Vectors => new()
    {
        { JqNix32, JqHex, JqSri },
        // The empty file.
        {
            "sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        },
        // "hello\n"
        {
            "sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq",
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
            "sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM="
        },
        // "Nixery.Build NAR hash test vector\n"
        {
            "sha256:1fr5vi23r05szd84qbnbx74inswwdr4z4z32g9qiza7b5x3d0fxp",
            "b73bd0462feba81f717a627cf2496e9c6b1bc9e9cb2e4c50fbba803c44dc25bb",
            "sha256-tzvQRi/rqB9xemJ88klunGsbyenLLkxQ+7qAPETcJbs="
        },
        {
            "sha256:" + new string('0', 52),
            new string('0', 64),
            "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        },
        {
            "sha256:1" + new string('z', 51),
            new string('f', 64),
            "sha256-//////////////////////////////////////////8="
        },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void TheThreeFormsParseToTheSameHash(string nix32, string hex, string sri)
    {
        var fromNix32 = NarHash.Parse(nix32);
        var fromHex = NarHash.Parse("sha256:" + hex);
        var fromSri = NarHash.Parse(sri);

        Assert.Equal(hex, fromNix32.Hex);
        Assert.Equal(fromNix32, fromHex);
        Assert.Equal(fromNix32, fromSri);
        Assert.Equal(fromNix32.GetHashCode(), fromSri.GetHashCode());
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void WritesEveryForm(string nix32, string hex, string sri)
    {
        var hash = NarHash.Parse(sri);

        Assert.Equal(nix32, hash.ToString());
        Assert.Equal(sri, hash.Sri);
        Assert.Equal(hex, hash.Hex);
        Assert.Equal("sha256:" + hex, hash.Digest);
        Assert.Equal(Convert.FromHexString(hex), hash.ToBytes());
    }

    [Fact]
    public void ToStringParsesBack()
    {
        var hash = NarHash.Parse(JqSri);

        Assert.Equal(hash, NarHash.Parse(hash.ToString()));
        Assert.Equal(hash, NarHash.Parse(hash.Digest));
        Assert.Equal(hash, NarHash.Parse(hash.Sri));
    }

    [Fact]
    public void UpperCaseHexIsTheSameHash()
    {
        // nix hash to-base16 accepts upper case too.
        var hash = NarHash.Parse("sha256:" + JqHex.ToUpperInvariant());

        Assert.Equal(JqHex, hash.Hex);
        Assert.Equal(NarHash.Parse(JqNix32), hash);
    }

    [Fact]
    public void SriWithSpareBitsSetIsTheSameHash()
    {
        // The last base64 digit carries two spare bits; Nix (nix hash to-base16) ignores them, and so does this.
        Assert.Equal(NarHash.Parse(JqSri), NarHash.Parse("sha256-uItBOM8aQqoyngcEq0Q1l1kFptaAaoQQyUfoj8cG/kR="));
    }

    [Fact]
    public void FromBytesWrapsASha256()
    {
        var bytes = Convert.FromHexString(JqHex);

        var hash = NarHash.FromBytes(bytes);

        Assert.Equal(NarHash.Parse(JqNix32), hash);
        Assert.Equal(JqNix32, hash.ToString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void FromBytesRejectsOtherLengths(int length)
    {
        var error = Assert.Throws<ArgumentException>(() => NarHash.FromBytes(new byte[length]));
        Assert.Contains($"not {length}", error.Message);
    }

    [Fact]
    public void ToBytesIsACopy()
    {
        var hash = NarHash.Parse(JqNix32);

        var bytes = hash.ToBytes();
        bytes[0] ^= 0xff;

        Assert.Equal(JqHex, hash.Hex);
        Assert.NotEqual(bytes, hash.ToBytes());
    }

    [Fact]
    public void EqualHashesAreOneKey()
    {
        var set = new HashSet<NarHash> { NarHash.Parse(JqNix32), NarHash.Parse(JqSri), NarHash.Parse("sha256:" + JqHex) };

        Assert.Single(set);
        Assert.NotEqual(NarHash.Parse(JqNix32), NarHash.Parse("sha256:" + new string('0', 64)));
    }

    [Theory]
    // Other algorithms.
    [InlineData("sha512:0i7y0v3qzs27r4888sl0ssk0ancp6m2an107kqralhhsrww432xq")]
    [InlineData("sha1:9my4my64a1fr3g7gpjk1xm648f7ivpnb")]
    [InlineData("md5-1B2M2Y8AsgTpgAmY7PhCfg==")]
    [InlineData("SHA256:0i7y0v3qzs27r4888sl0ssk0ancp6m2an107kqralhhsrww432xq")]
    // No algorithm, or nothing after it.
    [InlineData("0i7y0v3qzs27r4888sl0ssk0ancp6m2an107kqralhhsrww432xq")]
    [InlineData("b88b4138cf1a42aa329e0704ab4435975905a6d6806a8410c947e88fc706fe44")]
    [InlineData("sha256:")]
    [InlineData("sha256-")]
    [InlineData("sha256")]
    [InlineData("")]
    // Wrong lengths: 51 and 53 base-32 characters, 63 and 65 hex digits, 31 and 33 bytes of base64 (44 characters each), no padding.
    [InlineData("sha256:i7y0v3qzs27r4888sl0ssk0ancp6m2an107kqralhhsrww432xq")]
    [InlineData("sha256:00i7y0v3qzs27r4888sl0ssk0ancp6m2an107kqralhhsrww432xq")]
    [InlineData("sha256:88b4138cf1a42aa329e0704ab4435975905a6d6806a8410c947e88fc706fe44")]
    [InlineData("sha256:b88b4138cf1a42aa329e0704ab4435975905a6d6806a8410c947e88fc706fe440")]
    [InlineData("sha256-uItBOM8aQqoyngcEq0Q1l1kFptaAaoQQyUfoj8cG/g==")]
    [InlineData("sha256-uItBOM8aQqoyngcEq0Q1l1kFptaAaoQQyUfoj8cG/kQA")]
    [InlineData("sha256-uItBOM8aQqoyngcEq0Q1l1kFptaAaoQQyUfoj8cG/kQ")]
    // Bad characters: e, o, u and t are not Nix base-32; g is not hex; spaces and '.' are not base64.
    [InlineData("sha256:ei7y0v3qzs27r4888sl0ssk0ancp6m2an107kqralhhsrww432xq")]
    [InlineData("sha256:0i7y0v3qzs27r4888sl0ssk0ancp6m2an107kqralhhsrww432xo")]
    [InlineData("sha256:0I7Y0V3QZS27R4888SL0SSK0ANCP6M2AN107KQRALHHSRWW432XQ")]
    [InlineData("sha256:g88b4138cf1a42aa329e0704ab4435975905a6d6806a8410c947e88fc706fe44")]
    [InlineData("sha256-uItBOM8aQqoyngcEq0Q1l1kFptaAaoQQyUfoj8cG kQ=")]
    [InlineData("sha256-uItBOM8aQqoyngcEq0Q1l1kFptaAaoQQyUfoj8cG.kQ=")]
    [InlineData("sha256-uItBOM8aQqoyngcEq0Q1l1kFptaAaoQQyUfoj8cG/kQ_")]
    // Spare bits set in the first base-32 character (nix-hash rejects this too).
    [InlineData("sha256:2zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")]
    // Surrounding white space is not trimmed.
    [InlineData(" sha256:0i7y0v3qzs27r4888sl0ssk0ancp6m2an107kqralhhsrww432xq")]
    [InlineData("sha256:0i7y0v3qzs27r4888sl0ssk0ancp6m2an107kqralhhsrww432xq\n")]
    public void RejectsAnythingElse(string text)
    {
        var error = Assert.Throws<FormatException>(() => NarHash.Parse(text));

        Assert.StartsWith($"'{text}' is not a NAR hash", error.Message);
        Assert.Contains("sha256:<52 Nix base-32 characters>, sha256:<64 hex digits> or sha256-<44 base64 characters>", error.Message);
        Assert.False(NarHash.TryParse(text, out var hash));
        Assert.Null(hash);
    }

    [Theory]
    [InlineData("sha512:abc", "the algorithm is 'sha512', not sha256")]
    [InlineData("sha256:abc", "3 characters follow sha256:, not 52 or 64")]
    [InlineData("sha256-abc", "3 characters follow sha256-, not 44")]
    [InlineData("sha256:ei7y0v3qzs27r4888sl0ssk0ancp6m2an107kqralhhsrww432xq", "not valid Nix base-32")]
    [InlineData("sha256:g88b4138cf1a42aa329e0704ab4435975905a6d6806a8410c947e88fc706fe44", "not all hex digits")]
    public void SaysWhatIsWrong(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => NarHash.Parse(text));

        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void TryParseReadsEveryForm()
    {
        Assert.True(NarHash.TryParse(JqNix32, out var fromNix32));
        Assert.True(NarHash.TryParse(JqSri, out var fromSri));
        Assert.True(NarHash.TryParse("sha256:" + JqHex, out var fromHex));

        Assert.Equal(JqHex, fromNix32.Hex);
        Assert.Equal(fromNix32, fromSri);
        Assert.Equal(fromNix32, fromHex);
    }

    [Fact]
    public void NullIsNotAHash()
    {
        Assert.False(NarHash.TryParse(null, out var hash));
        Assert.Null(hash);
        Assert.Throws<ArgumentNullException>(() => NarHash.Parse(null!));
    }
}
