using Nixery.Build.Diagnostics;
using Nixery.Build.Settings;

namespace Nixery.Build.Tests.Settings;

public class ImageDefaultsTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void WithoutSourceDateEpochTheTimeIsOneSecondAfterTheEpoch(string? value)
    {
        var created = ImageRequestFactory.CreatedFrom(value);

        Assert.Equal(DateTimeOffset.Parse("1970-01-01T00:00:01Z", System.Globalization.CultureInfo.InvariantCulture), created);
        Assert.Equal(ImageDefaults.Epoch, created);
    }

    [Theory]
    [InlineData("1700000000", 1_700_000_000L)]
    [InlineData(" 1700000000 ", 1_700_000_000L)]
    [InlineData("0", 0L)]
    [InlineData("2147483647", 2_147_483_647L)]
    public void SourceDateEpochGivesThatTime(string value, long seconds)
    {
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(seconds), ImageRequestFactory.CreatedFrom(value));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("+5")]
    [InlineData("1.5")]
    [InlineData("1e9")]
    [InlineData("2147483648")]
    [InlineData("99999999999")]
    [InlineData("99999999999999999999999")]
    public void InvalidSourceDateEpochIsNiximg015(string value)
    {
        var error = Assert.Throws<NixImageException>(() => ImageRequestFactory.CreatedFrom(value));

        Assert.Equal("NIXIMG015", error.Code);
        Assert.Equal(ErrorCodes.InvalidImageSetting, error.Code);
        Assert.Contains(value, error.Message, StringComparison.Ordinal);
    }
}
