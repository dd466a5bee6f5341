using Nixery.Build.BinaryCache;

namespace Nixery.Build.Tests.BinaryCache;

/// <summary>
/// Narinfo files as Nix writes them. The test-cache vectors are real: Nix 2.8 built the paths (a directory that refers
/// to itself and two other paths, a file that refers to one, a file added with <c>nix-store --add</c>), copied them to
/// <c>file://</c> caches with <c>nix copy</c> and signed them with <c>nix store sign</c> and keys from
/// <c>nix-store --generate-binary-cache-key</c>. The cache.nixos.org ones are published copies whose signatures
/// verify against cache.nixos.org's key (<see cref="NarSignaturesTests"/>).
/// </summary>
public class NarInfoTests
{
    /// <summary>The directory path, from the xz cache, signed by test-cache-1 and test-cache-2.</summary>
    internal const string DirTestNarInfo =
        "StorePath: /nix/store/j706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-test\n" +
        "URL: nar/00l5c3jm1y4mnpsayzi17kgi3a4x78lmhpjr9ba8cr92d3py2qdr.nar.xz\n" +
        "Compression: xz\n" +
        "FileHash: sha256:00l5c3jm1y4mnpsayzi17kgi3a4x78lmhpjr9ba8cr92d3py2qdr\n" +
        "FileSize: 660\n" +
        "NarHash: sha256:18f3192qa21p0ds2jb2lq30m1adxminpdk329srjj8fsgr3k83qk\n" +
        "NarSize: 10920\n" +
        "References: j706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-test kij46pa2grqhqq9cqf7wqb184z3ibbhh-nixery-ref-test m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.txt\n" +
        "Deriver: ra3n9cyck5908hdp6fak21l666826dzs-nixery-dir-test.drv\n" +
        "Sig: test-cache-1:nqxXs4n/dioV7B5iIXUbUgTuPgsmjtroKXztZeQBzsDv8YyGg/Jg0BmemMtOlnTNDyUsV/Rnv5S3+CkfUIFEBg==\n" +
        "Sig: test-cache-2:5pEMzTrHn1gNB4DbEcG4sTKk94rbmnwPW7BQr3qMT155okz2PjBVkqdNch/En3zW2Den2p+pZt5aKdHuKM3dAA==\n";

    /// <summary>What Nix signed for <see cref="DirTestNarInfo"/>: both of its signatures verify against this.</summary>
    internal const string DirTestFingerprint =
        "1;/nix/store/j706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-test;sha256:18f3192qa21p0ds2jb2lq30m1adxminpdk329srjj8fsgr3k83qk;10920;" +
        "/nix/store/j706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-test,/nix/store/kij46pa2grqhqq9cqf7wqb184z3ibbhh-nixery-ref-test," +
        "/nix/store/m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.txt";

    /// <summary>The file that refers to the greeting, from the zstd cache, signed by test-cache-1.</summary>
    internal const string RefTestNarInfo =
        "StorePath: /nix/store/kij46pa2grqhqq9cqf7wqb184z3ibbhh-nixery-ref-test\n" +
        "URL: nar/0fq5xh3nnf58js3nvavxlfsb8rlijg60rppp2di36azwb5qxsnsi.nar.zst\n" +
        "Compression: zstd\n" +
        "FileHash: sha256:0fq5xh3nnf58js3nvavxlfsb8rlijg60rppp2di36azwb5qxsnsi\n" +
        "FileSize: 143\n" +
        "NarHash: sha256:13vsf3c4qqk9s30pnpcnlxhyn98z0j6hrxfslz8sq6f87q63rhmr\n" +
        "NarSize: 184\n" +
        "References: m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.txt\n" +
        "Deriver: sazbqg9s7ihpqj87511h9r0vy4p6rdk0-nixery-ref-test.drv\n" +
        "Sig: test-cache-1:J7X6kOg0BjVhGDRrpCJ/TZDSxChUOofLAeKa5M4l+f/cclKcpRM72asUf+mxgxbiP7qjUiXN0RsRG+LxA8VNAg==\n";

    /// <summary>
    /// The file added with <c>nix-store --add</c>, from the xz cache: no references (Nix writes <c>References: </c>
    /// with its trailing space), no deriver, and a <c>CA</c> line.
    /// </summary>
    internal const string GreetingNarInfo =
        "StorePath: /nix/store/m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.txt\n" +
        "URL: nar/1rcvjjsifj2mfmd82b7y5apmbhgm30ynzysbk1y1y3gp2r8ii601.nar.xz\n" +
        "Compression: xz\n" +
        "FileHash: sha256:1rcvjjsifj2mfmd82b7y5apmbhgm30ynzysbk1y1y3gp2r8ii601\n" +
        "FileSize: 160\n" +
        "NarHash: sha256:0kxgj2pvw7jn1cysip5c8x8bgh8gy7zrzby4f23qz4x88hjxcvrs\n" +
        "NarSize: 152\n" +
        "References: \n" +
        "Sig: test-cache-1:qmNPYjuGyB4EqbZm69wg+iW0+8r4nA7axh6t5yIzrKsewIBFHvXOUpN2r9bP+N9+hWvy31LlHfjv7RkUNV3uDg==\n" +
        "CA: fixed:r:sha256:0kxgj2pvw7jn1cysip5c8x8bgh8gy7zrzby4f23qz4x88hjxcvrs\n";

    /// <summary>test-cache-1's public key (<c>nix-store --generate-binary-cache-key test-cache-1 sk pk</c>).</summary>
    internal const string TestCache1Key = "test-cache-1:JHDePA0KwWzkItFPRAd4gAoEWEVbo8pjdfk9ulpCokk=";

    /// <summary>Another key generated with the same name, test-cache-1: it signed nothing here.</summary>
    internal const string TestCache1ImpostorKey = "test-cache-1:tE957FNgv469PMLt0i/JDT9A/58jMqPfG2en8aBmX8s=";

    /// <summary>test-cache-2's public key: it signed <see cref="DirTestNarInfo"/> only.</summary>
    internal const string TestCache2Key = "test-cache-2:Zq5TiQPDCw08gPuRcsNfbg67AA+7nbM49DuVNYcHQ2E=";

    /// <summary>
    /// cache.nixos.org's narinfo for hello-2.10 (xz, 2020), as Tweag's Trustix introduction (tweag.io, 2020) shows it.
    /// </summary>
    internal const string CacheNixosOrgHello =
        "StorePath: /nix/store/w9yy7v61ipb5rx6i35zq1mvc2iqfmps1-hello-2.10\n" +
        "URL: nar/15zk4zszw9lgkdkkwy7w11m5vag11n5dhv2i6hj308qpxczvdddx.nar.xz\n" +
        "Compression: xz\n" +
        "FileHash: sha256:15zk4zszw9lgkdkkwy7w11m5vag11n5dhv2i6hj308qpxczvdddx\n" +
        "FileSize: 41232\n" +
        "NarHash: sha256:1mi14cqk363wv368ffiiy01knardmnlyphi6h9xv6dkjz44hk30i\n" +
        "NarSize: 205968\n" +
        "References: 9df65igwjmf2wbw0gbrrgair6piqjgmi-glibc-2.31 w9yy7v61ipb5rx6i35zq1mvc2iqfmps1-hello-2.10\n" +
        "Sig: cache.nixos.org-1:uP5KU8MCmyRnKGlN5oEv6xWJBI5EO/Pf5aFztZuLSz8BpCcZ1fdBnJkVXhBAlxkdm/CemsgQskhwvyd2yghTAg==\n";

    /// <summary>cache.nixos.org's narinfo for curl-7.82.0's bin output (xz, with a deriver), as published in a test suite.</summary>
    internal const string CacheNixosOrgCurl =
        "StorePath: /nix/store/syd87l2rxw8cbsxmxl853h0r6pdwhwjr-curl-7.82.0-bin\n" +
        "URL: nar/05ra3y72i3qjri7xskf9qj8kb29r6naqy1sqpbs3azi3xcigmj56.nar.xz\n" +
        "Compression: xz\n" +
        "FileHash: sha256:05ra3y72i3qjri7xskf9qj8kb29r6naqy1sqpbs3azi3xcigmj56\n" +
        "FileSize: 68852\n" +
        "NarHash: sha256:1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0\n" +
        "NarSize: 196040\n" +
        "References: 0jqd0rlxzra1rs38rdxl43yh6rxchgc6-curl-7.82.0 6w8g7njm4mck5dmjxws0z1xnrxvl81xa-glibc-2.34-115 j5jxw3iy7bbz4a57fh9g2xm2gxmyal8h-zlib-1.2.12 yxvjs9drzsphm9pcf42a4byzj1kb9m7k-openssl-1.1.1n\n" +
        "Deriver: 5rwxzi7pal3qhpsyfc16gzkh939q1np6-curl-7.82.0.drv\n" +
        "Sig: cache.nixos.org-1:TsTTb3WGTZKphvYdBHXwo6weVILmTytUjLB+vcX89fOjjRicCHmKA4RCPMVLkj6TMJ4GMX3HPVWRdD1hkeKZBQ==\n";

    /// <summary>cache.nixos.org's narinfo for ripgrep-15.2.0 (zstd, no deriver line), as published in a test suite.</summary>
    internal const string CacheNixosOrgRipgrep =
        "StorePath: /nix/store/axp6zlky4x2v3jwcbq24a2cz25hzlw9b-ripgrep-15.2.0\n" +
        "URL: nar/19yag7za8bz38dzxd7g20p8738bmb80n4ci9y3hfaxhy15rxxxyh.nar.zst\n" +
        "Compression: zstd\n" +
        "FileHash: sha256:1lhgjf25d2ca7sx1ka4g5lsskicr484vqi7cbndzhz598hbr18zy\n" +
        "FileSize: 2133450\n" +
        "NarHash: sha256:19yag7za8bz38dzxd7g20p8738bmb80n4ci9y3hfaxhy15rxxxyh\n" +
        "NarSize: 7088584\n" +
        "References: 0d8g8n0a11v6f5m2h416ajyxmnkwc3md-glibc-2.42-67 dsn500c5j62qz9f49mi3nhx74jbkf6xq-pcre2-10.47 r48746qznwqxxl9qzd8f08ny8mg1dg2y-gcc-15.3.0-lib\n" +
        "Sig: cache.nixos.org-1:u47N81GjFd/qpAQ8bRz3Ve584pYwp/gWswtHa6PwWSzhfYvw7oTBW0DThOzapKGuxqqnvw9HfKRnggOniyPBDw==\n";

    [Fact]
    public void ARealNarinfoIsReadAsNixWroteIt()
    {
        var info = NarInfo.Parse(DirTestNarInfo);

        Assert.Equal("/nix/store/j706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-test", info.StorePath);
        Assert.Equal("nar/00l5c3jm1y4mnpsayzi17kgi3a4x78lmhpjr9ba8cr92d3py2qdr.nar.xz", info.Url);
        Assert.Equal("xz", info.Compression);
        Assert.Equal("sha256:18f3192qa21p0ds2jb2lq30m1adxminpdk329srjj8fsgr3k83qk", info.NarHash);
        Assert.Equal(10920, info.NarSize);
        Assert.Equal("sha256:00l5c3jm1y4mnpsayzi17kgi3a4x78lmhpjr9ba8cr92d3py2qdr", info.FileHash);
        Assert.Equal(660, info.FileSize);
        Assert.Equal("/nix/store/ra3n9cyck5908hdp6fak21l666826dzs-nixery-dir-test.drv", info.Deriver);
        Assert.Equal(
            [
                "test-cache-1:nqxXs4n/dioV7B5iIXUbUgTuPgsmjtroKXztZeQBzsDv8YyGg/Jg0BmemMtOlnTNDyUsV/Rnv5S3+CkfUIFEBg==",
                "test-cache-2:5pEMzTrHn1gNB4DbEcG4sTKk94rbmnwPW7BQr3qMT155okz2PjBVkqdNch/En3zW2Den2p+pZt5aKdHuKM3dAA==",
            ],
            info.Signatures);
    }

    [Fact]
    public void ReferencesAreFullStorePathsSortedAndMayIncludeThePathItself()
    {
        var shuffled = DirTestNarInfo.Replace(
            "References: j706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-test kij46pa2grqhqq9cqf7wqb184z3ibbhh-nixery-ref-test m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.txt",
            "References:  m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.txt j706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-test  kij46pa2grqhqq9cqf7wqb184z3ibbhh-nixery-ref-test ",
            StringComparison.Ordinal);

        var info = NarInfo.Parse(shuffled);

        Assert.Equal(
            [
                "/nix/store/j706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-test",
                "/nix/store/kij46pa2grqhqq9cqf7wqb184z3ibbhh-nixery-ref-test",
                "/nix/store/m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.txt",
            ],
            info.References);
        Assert.Equal(DirTestFingerprint, info.Fingerprint());
    }

    [Fact]
    public void APathWithoutReferencesOrDeriverHasNoneAndUnknownKeysAreSkipped()
    {
        var info = NarInfo.Parse(GreetingNarInfo + "System: x86_64-linux\nSomethingNew: 1\n");

        Assert.Empty(info.References);
        Assert.Null(info.Deriver);
        Assert.Equal(152, info.NarSize);
        Assert.Single(info.Signatures);
    }

    [Fact]
    public void TheFingerprintIsWhatNixSigned()
    {
        Assert.Equal(DirTestFingerprint, NarInfo.Parse(DirTestNarInfo).Fingerprint());
        Assert.Equal(
            "1;/nix/store/kij46pa2grqhqq9cqf7wqb184z3ibbhh-nixery-ref-test;sha256:13vsf3c4qqk9s30pnpcnlxhyn98z0j6hrxfslz8sq6f87q63rhmr;184;" +
            "/nix/store/m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.txt",
            NarInfo.Parse(RefTestNarInfo).Fingerprint());
    }

    [Fact]
    public void WithoutReferencesTheFingerprintEndsInASemicolon() => Assert.Equal(
        "1;/nix/store/m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.txt;sha256:0kxgj2pvw7jn1cysip5c8x8bgh8gy7zrzby4f23qz4x88hjxcvrs;152;",
        NarInfo.Parse(GreetingNarInfo).Fingerprint());

    [Fact]
    public void ACacheNixosOrgFingerprintListsItsReferencesInFull() => Assert.Equal(
        "1;/nix/store/syd87l2rxw8cbsxmxl853h0r6pdwhwjr-curl-7.82.0-bin;sha256:1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0;196040;" +
        "/nix/store/0jqd0rlxzra1rs38rdxl43yh6rxchgc6-curl-7.82.0,/nix/store/6w8g7njm4mck5dmjxws0z1xnrxvl81xa-glibc-2.34-115," +
        "/nix/store/j5jxw3iy7bbz4a57fh9g2xm2gxmyal8h-zlib-1.2.12,/nix/store/yxvjs9drzsphm9pcf42a4byzj1kb9m7k-openssl-1.1.1n",
        NarInfo.Parse(CacheNixosOrgCurl).Fingerprint());

    [Fact]
    public void TheFingerprintSortsReferencesEvenWhenTheRecordWasBuiltUnsorted()
    {
        var info = NarInfo.Parse(DirTestNarInfo);

        var reversed = info with { References = info.References.Reverse().ToArray() };

        Assert.Equal(DirTestFingerprint, reversed.Fingerprint());
    }

    [Fact]
    public void WithoutACompressionLineTheNarIsBzip2AsNixReadsIt()
    {
        var info = NarInfo.Parse(DirTestNarInfo.Replace("Compression: xz\n", string.Empty, StringComparison.Ordinal));

        Assert.Equal("bzip2", info.Compression);
        Assert.Equal(NarInfo.DefaultCompression, info.Compression);
    }

    [Fact]
    public void FileHashAndFileSizeAreOptional()
    {
        var text = DirTestNarInfo
            .Replace("FileHash: sha256:00l5c3jm1y4mnpsayzi17kgi3a4x78lmhpjr9ba8cr92d3py2qdr\n", string.Empty, StringComparison.Ordinal)
            .Replace("FileSize: 660\n", string.Empty, StringComparison.Ordinal);

        var info = NarInfo.Parse(text);

        Assert.Null(info.FileHash);
        Assert.Null(info.FileSize);
    }

    [Fact]
    public void AnUnknownDeriverIsNoDeriver() => Assert.Null(NarInfo.Parse(
        DirTestNarInfo.Replace("ra3n9cyck5908hdp6fak21l666826dzs-nixery-dir-test.drv", "unknown-deriver", StringComparison.Ordinal)).Deriver);

    [Fact]
    public void CarriageReturnsAndAMissingFinalNewlineReadTheSame()
    {
        var crlf = DirTestNarInfo.Replace("\n", "\r\n", StringComparison.Ordinal).TrimEnd();

        Assert.Equal(DirTestFingerprint, NarInfo.Parse(crlf).Fingerprint());
        Assert.Equal(NarInfo.Parse(DirTestNarInfo).Signatures, NarInfo.Parse(crlf).Signatures);
    }

    [Theory]
    [InlineData("StorePath")]
    [InlineData("URL")]
    [InlineData("NarHash")]
    [InlineData("NarSize")]
    public void ARequiredKeyThatIsMissingIsNamed(string key)
    {
        var text = string.Join('\n', DirTestNarInfo.Split('\n').Where(line => !line.StartsWith(key + ":", StringComparison.Ordinal)));

        var e = Assert.Throws<FormatException>(() => NarInfo.Parse(text));

        Assert.Contains($"'{key}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARequiredKeyThatIsEmptyIsMissing()
    {
        var e = Assert.Throws<FormatException>(() => NarInfo.Parse(DirTestNarInfo.Replace(
            "URL: nar/00l5c3jm1y4mnpsayzi17kgi3a4x78lmhpjr9ba8cr92d3py2qdr.nar.xz", "URL: ", StringComparison.Ordinal)));

        Assert.Contains("'URL'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/gnu/store/j706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-test")]
    [InlineData("/nix/store-other/j706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-test")]
    [InlineData("/nix/store/j706w7hf0nswjvib1if29ycvish9gpss")]
    [InlineData("/nix/store/../../etc/passwd")]
    [InlineData("/nix/store/j706w7hf0nswjvib1if29ycvish9gpss-nixery/dir-test")]
    [InlineData("/nix/store/e706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-test")]
    public void AStorePathOutsideTheStoreDirectoryIsRejected(string storePath)
    {
        var text = DirTestNarInfo.Replace("/nix/store/j706w7hf0nswjvib1if29ycvish9gpss-nixery-dir-test", storePath, StringComparison.Ordinal);

        var e = Assert.Throws<FormatException>(() => NarInfo.Parse(text));

        Assert.Contains("StorePath", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnotherStoreDirectoryIsHonouredForAllPaths()
    {
        var info = NarInfo.Parse(GreetingNarInfo.Replace("/nix/store/", "/opt/store/", StringComparison.Ordinal), "/opt/store/");

        Assert.Equal("/opt/store/m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.txt", info.StorePath);
        Assert.Throws<FormatException>(() => NarInfo.Parse(DirTestNarInfo, "/opt/store"));
    }

    [Theory]
    [InlineData("References: ../../etc/passwd")]
    [InlineData("References: m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.txt /nix/store/kij46pa2grqhqq9cqf7wqb184z3ibbhh-nixery-ref-test")]
    [InlineData("References: short-name")]
    [InlineData("Deriver: ../ra3n9cyck5908hdp6fak21l666826dzs-nixery-dir-test.drv")]
    public void AReferenceOrDeriverThatIsNotAStorePathBaseNameIsRejected(string line)
    {
        var key = line[..line.IndexOf(':', StringComparison.Ordinal)];
        var text = string.Join('\n', DirTestNarInfo.Split('\n').Select(l => l.StartsWith(key + ":", StringComparison.Ordinal) ? line : l));

        var e = Assert.Throws<FormatException>(() => NarInfo.Parse(text));

        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("NarSize: ten")]
    [InlineData("NarSize: -1")]
    [InlineData("NarSize: 0")]
    [InlineData("NarSize: 99999999999999999999")]
    [InlineData("FileSize: 1.5")]
    public void ASizeThatIsNotAPositiveNumberIsRejected(string line)
    {
        var key = line[..line.IndexOf(':', StringComparison.Ordinal)];
        var text = string.Join('\n', DirTestNarInfo.Split('\n').Select(l => l.StartsWith(key + ":", StringComparison.Ordinal) ? line : l));

        var e = Assert.Throws<FormatException>(() => NarInfo.Parse(text));

        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AKeyGivenTwiceIsRejected()
    {
        var e = Assert.Throws<FormatException>(() => NarInfo.Parse(
            DirTestNarInfo + "StorePath: /nix/store/m29hd6v9wsyfwlkb9cnjari38av6z2gb-greeting.txt\n"));

        Assert.Contains("'StorePath' twice", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALineWithoutAColonIsRejectedWithItsNumber()
    {
        var e = Assert.Throws<FormatException>(() => NarInfo.Parse(DirTestNarInfo.Replace("NarSize: 10920", "NarSize 10920", StringComparison.Ordinal)));

        Assert.Contains("line 7", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CacheNixosOrgHello, 2, null, "xz")]
    [InlineData(CacheNixosOrgCurl, 4, "/nix/store/5rwxzi7pal3qhpsyfc16gzkh939q1np6-curl-7.82.0.drv", "xz")]
    [InlineData(CacheNixosOrgRipgrep, 3, null, "zstd")]
    public void CacheNixosOrgNarinfosAreRead(string text, int references, string? deriver, string compression)
    {
        var info = NarInfo.Parse(text);

        Assert.Equal(references, info.References.Count);
        Assert.All(info.References, r => Assert.StartsWith("/nix/store/", r, StringComparison.Ordinal));
        Assert.Equal(deriver, info.Deriver);
        Assert.Equal(compression, info.Compression);
        Assert.StartsWith("cache.nixos.org-1:", Assert.Single(info.Signatures), StringComparison.Ordinal);
    }
}
