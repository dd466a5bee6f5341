using Nixery.Build.Oci;

namespace Nixery.Build.Tests.Oci;

public class DigestTests
{
    private const string EmptySha256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Fact]
    public void OfHashesTheContent()
    {
        Assert.Equal(EmptySha256, Digest.Of([]).Value);
        Assert.Equal("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", Digest.Of("hello"u8).Value);
    }

    [Fact]
    public void ParseKeepsTheValueAndHex()
    {
        var digest = Digest.Parse(EmptySha256);

        Assert.Equal(EmptySha256, digest.Value);
        Assert.Equal(EmptySha256, digest.ToString());
        Assert.Equal(EmptySha256["sha256:".Length..], digest.Hex);
        Assert.Equal(Digest.Of([]), digest);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555")]
    [InlineData("sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData(" sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85")]
    public void MalformedDigestsAreRejected(string? value)
    {
        Assert.False(Digest.TryParse(value, out var digest));
        Assert.Equal(default, digest);
        if (value is not null)
        {
            Assert.Throws<FormatException>(() => Digest.Parse(value));
        }
    }

    [Fact]
    public void TryParseAcceptsAWellFormedDigest()
    {
        Assert.True(Digest.TryParse(EmptySha256, out var digest));
        Assert.Equal(EmptySha256, digest.Value);
    }
}
