using Nixery.Build.BinaryCache;

namespace Nixery.Build.Tests.BinaryCache;

/// <summary>
/// Signatures that Nix made (<c>nix store sign</c>) and that cache.nixos.org made verify against their keys; a
/// narinfo whose signed fields were changed, a key with the right name but other bytes, or a signature no key has the
/// name of, do not. What the fingerprint leaves out (URL, compression, file hash) may change without a word.
/// </summary>
public class NarSignaturesTests
{
    private static readonly TrustedKey TestCache1 = TrustedKey.Parse(NarInfoTests.TestCache1Key);
    private static readonly TrustedKey TestCache2 = TrustedKey.Parse(NarInfoTests.TestCache2Key);
    private static readonly TrustedKey Impostor = TrustedKey.Parse(NarInfoTests.TestCache1ImpostorKey);
    private static readonly TrustedKey NixosOrg = TrustedKey.Parse(TrustedKey.CacheNixosOrg);

    private static NarInfo DirTest => NarInfo.Parse(NarInfoTests.DirTestNarInfo);

    [Fact]
    public void ASignatureNixMadeVerifiesWithItsKey()
    {
        Assert.True(NarSignatures.IsTrusted(DirTest, [TestCache1]));
        Assert.True(NarSignatures.IsTrusted(NarInfo.Parse(NarInfoTests.RefTestNarInfo), [TestCache1]));
        Assert.True(NarSignatures.IsTrusted(NarInfo.Parse(NarInfoTests.GreetingNarInfo), [TestCache1]));
    }

    [Fact]
    public void AnyOneOfSeveralSignaturesIsEnough()
    {
        Assert.True(NarSignatures.IsTrusted(DirTest, [TestCache2]));
        Assert.True(NarSignatures.IsTrusted(DirTest, [NixosOrg, TestCache2]));
        Assert.False(NarSignatures.IsTrusted(NarInfo.Parse(NarInfoTests.RefTestNarInfo), [TestCache2]));
    }

    [Fact]
    public void AKeyWithTheSameNameButOtherBytesDoesNotVerify()
    {
        Assert.Equal(TestCache1.Name, Impostor.Name);

        Assert.False(NarSignatures.IsTrusted(DirTest, [Impostor]));
        Assert.True(NarSignatures.IsTrusted(DirTest, [Impostor, TestCache1]));
    }

    [Fact]
    public void ASignatureMadeWithOneKeyDoesNotVerifyUnderAnotherKeysName()
    {
        // test-cache-2's signature relabelled as test-cache-1's.
        var info = DirTest with { Signatures = [DirTest.Signatures[1].Replace("test-cache-2:", "test-cache-1:", StringComparison.Ordinal)] };

        Assert.False(NarSignatures.IsTrusted(info, [TestCache1]));
    }

    [Fact]
    public void NoKeyWithASignaturesNameMeansUntrusted()
    {
        Assert.False(NarSignatures.IsTrusted(DirTest, [NixosOrg]));
        Assert.False(NarSignatures.IsTrusted(DirTest, []));
        Assert.False(NarSignatures.IsTrusted(DirTest with { Signatures = [] }, [TestCache1, TestCache2]));
    }

    public static TheoryData<string, Func<NarInfo, NarInfo>> Tamperings => new()
    {
        { "NarHash", i => i with { NarHash = "sha256:18f3192qa21p0ds2jb2lq30m1adxminpdk329srjj8fsgr3k83qj" } },
        { "NarSize", i => i with { NarSize = i.NarSize + 1 } },
        { "StorePath", i => i with { StorePath = "/nix/store/j706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-tesT" } },
        { "a reference dropped", i => i with { References = i.References.Skip(1).ToArray() } },
        { "a reference added", i => i with { References = [.. i.References, "/nix/store/ibsrwda8sbch2k6rzalh1c71pq3hsxkm-bootstrap-busybox"] } },
        { "a reference swapped", i => i with { References = [.. i.References.SkipLast(1), "/nix/store/m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.tx"] } },
    };

    [Theory]
    [MemberData(nameof(Tamperings))]
    public void ChangingASignedFieldBreaksTheSignature(string field, Func<NarInfo, NarInfo> tamper)
    {
        var tampered = tamper(DirTest);

        Assert.False(NarSignatures.IsTrusted(tampered, [TestCache1, TestCache2]), field);
    }

    [Fact]
    public void ATamperedLineInTheFileBreaksTheSignature()
    {
        var text = NarInfoTests.DirTestNarInfo.Replace("NarSize: 10920", "NarSize: 10921", StringComparison.Ordinal);

        Assert.False(NarSignatures.IsTrusted(NarInfo.Parse(text), [TestCache1, TestCache2]));
    }

    [Fact]
    public void TheUrlAndCompressionAreNotSigned()
    {
        // Nix signs the NAR's content (hash and size), not where or how it is stored: the NAR's hash is the check.
        var moved = DirTest with { Url = "nar/elsewhere.nar.zst", Compression = "zstd", FileHash = null, FileSize = null, Deriver = null };

        Assert.True(NarSignatures.IsTrusted(moved, [TestCache1]));
    }

    [Fact]
    public void MalformedSignaturesAreSkippedNotThrown()
    {
        var good = DirTest.Signatures[0];
        string[] junk =
        [
            "no-colon-at-all",
            ":bm90aGluZw==",
            "test-cache-1:",
            "test-cache-1:not base64!",
            "test-cache-1:" + Convert.ToBase64String(new byte[63]),
            "test-cache-1:" + Convert.ToBase64String(new byte[65]),
            "test-cache-1:" + Convert.ToBase64String(new byte[64]),
        ];

        Assert.False(NarSignatures.IsTrusted(DirTest with { Signatures = junk }, [TestCache1]));
        Assert.True(NarSignatures.IsTrusted(DirTest with { Signatures = [.. junk, good] }, [TestCache1]));
    }

    [Fact]
    public void AKeyThatIsNotAnEd25519PointVerifiesNothing()
    {
        var garbage = new TrustedKey("test-cache-1", Enumerable.Repeat((byte)0xff, 32).ToArray());
        var tooShort = new TrustedKey("test-cache-1", new byte[31]);

        Assert.False(NarSignatures.IsTrusted(DirTest, [garbage, tooShort]));
    }

    [Fact]
    public void KeysFromAPropertyListWork() =>
        Assert.True(NarSignatures.IsTrusted(DirTest, TrustedKey.ParseList($"{TrustedKey.CacheNixosOrg}; {NarInfoTests.TestCache1ImpostorKey} {NarInfoTests.TestCache2Key}")));

    [Theory]
    [InlineData(NarInfoTests.CacheNixosOrgHello)]
    [InlineData(NarInfoTests.CacheNixosOrgCurl)]
    [InlineData(NarInfoTests.CacheNixosOrgRipgrep)]
    public void CacheNixosOrgSignaturesVerifyWithItsKey(string text)
    {
        var info = NarInfo.Parse(text);

        Assert.True(NarSignatures.IsTrusted(info, [NixosOrg]));
        Assert.False(NarSignatures.IsTrusted(info with { NarSize = info.NarSize - 1 }, [NixosOrg]));
        Assert.False(NarSignatures.IsTrusted(info, [TestCache1, TestCache2]));
    }

    [Fact]
    public void TheSignersAreNamedForMessages()
    {
        Assert.Equal("test-cache-1, test-cache-2", NarSignatures.SignerNames(DirTest));
        Assert.Equal("cache.nixos.org-1", NarSignatures.SignerNames(NarInfo.Parse(NarInfoTests.CacheNixosOrgCurl)));
        Assert.Null(NarSignatures.SignerNames(DirTest with { Signatures = [] }));
        Assert.Null(NarSignatures.SignerNames(DirTest with { Signatures = ["no-colon"] }));
        Assert.Equal("a", NarSignatures.SignerNames(DirTest with { Signatures = ["a:x", "a:y"] }));
    }
}
