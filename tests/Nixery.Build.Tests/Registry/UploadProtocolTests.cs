using Nixery.Build.Registry;

namespace Nixery.Build.Tests.Registry;

public class UploadLocationTests
{
    private static readonly Uri Request = new("https://registry.example.com:5000/v2/team/app/blobs/uploads/");

    [Theory]
    [InlineData("https://blobs.example.com/upload/abc?_state=xyz", "https://blobs.example.com/upload/abc?_state=xyz")]
    [InlineData("/v2/team/app/blobs/uploads/uuid-1?_state=s%3D", "https://registry.example.com:5000/v2/team/app/blobs/uploads/uuid-1?_state=s%3D")]
    [InlineData("uuid-2", "https://registry.example.com:5000/v2/team/app/blobs/uploads/uuid-2")]
    [InlineData("../other", "https://registry.example.com:5000/v2/team/app/blobs/other")]
    [InlineData("  /v2/x  ", "https://registry.example.com:5000/v2/x")]
    public void LocationIsResolvedAgainstTheRequestItAnswered(string location, string expected) =>
        Assert.Equal(expected, UploadLocation.Resolve(Request, location).AbsoluteUri);

    [Fact]
    public void AnAbsolutePathIsNotMistakenForAFile() =>
        Assert.Equal("https", UploadLocation.Resolve(Request, "/v2/team/app/blobs/uploads/u").Scheme);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void AMissingLocationIsAFormatError(string? location) =>
        Assert.Throws<FormatException>(() => UploadLocation.Resolve(Request, location));

    [Theory]
    [InlineData("https://r/v2/a/blobs/uploads/u", "https://r/v2/a/blobs/uploads/u?digest=sha256%3Aabc")]
    [InlineData("https://r/v2/a/blobs/uploads/u?_state=x%3D%3D", "https://r/v2/a/blobs/uploads/u?_state=x%3D%3D&digest=sha256%3Aabc")]
    public void DigestIsAddedAfterTheRegistrysOwnQuery(string location, string expected) =>
        Assert.Equal(expected, UploadLocation.WithQuery(new Uri(location), "digest", "sha256:abc").AbsoluteUri);
}

public class ByteRangeTests
{
    [Theory]
    [InlineData(0, 1, "0-0")]
    [InlineData(0, 1024, "0-1023")]
    [InlineData(16777216, 16777216, "16777216-33554431")]
    public void ContentRangeIsInclusiveWithoutAUnit(long offset, long length, string expected) =>
        Assert.Equal(expected, ByteRange.ContentRange(offset, length));

    [Fact]
    public void AnEmptyChunkHasNoRange() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ByteRange.ContentRange(0, 0));

    [Theory]
    [InlineData("0-1023", 1024L)]
    [InlineData("bytes=0-1023", 1024L)]
    [InlineData("bytes 0-99", 100L)]
    [InlineData(" 0-0 ", 1L)]
    [InlineData("0-33554431", 33554432L)]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("5-10", null)]
    [InlineData("0-", null)]
    [InlineData("-10", null)]
    [InlineData("0-10-20", null)]
    [InlineData("10-5", null)]
    [InlineData("a-b", null)]
    public void RangeTellsHowManyBytesTheRegistryHolds(string? header, long? expected) =>
        Assert.Equal(expected, ByteRange.ReceivedLength(header));
}
