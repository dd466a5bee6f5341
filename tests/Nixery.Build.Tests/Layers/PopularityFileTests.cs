using System.Text;
using Nixery.Build.Diagnostics;
using Nixery.Build.Layers;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Layers;

public class PopularityFileTests
{
    private const string Jq = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-jq-1.7.1";

    [Fact]
    public void MapEntriesRateTheirPaths()
    {
        var popularity = PopularityFile.Parse("""{"jq-1.7.1": 812, "glibc-2.39-52": 48123}"""u8, "p.json");

        Assert.Equal(812UL, popularity.Of(Jq));
    }

    [Fact]
    public void MissingFileIsNiximg016()
    {
        using var temp = new TempDirectory();
        var error = Assert.Throws<NixImageException>(() => PopularityFile.Load(temp.Combine("nope.json")));

        Assert.Equal(ErrorCodes.InvalidPopularityFile, error.Code);
        Assert.Contains("nope.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SyntaxErrorNamesTheLine()
    {
        var error = Assert.Throws<NixImageException>(() => PopularityFile.Parse(Encoding.UTF8.GetBytes("{\n  \"a-1\": 1,\n  \"b-2\" 2\n}"), "p.json"));

        Assert.Equal(ErrorCodes.InvalidPopularityFile, error.Code);
        Assert.Contains("line 3", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"glibc-2.36": "lots"}""", "\"glibc-2.36\"")]
    [InlineData("""{"glibc-2.36": -1}""", "\"glibc-2.36\"")]
    [InlineData("""{"glibc-2.36": 1.5}""", "\"glibc-2.36\"")]
    [InlineData("""["glibc-2.36"]""", "not a JSON object")]
    public void WrongShapesNameWhatIsWrong(string json, string expected)
    {
        var error = Assert.Throws<NixImageException>(() => PopularityFile.Parse(Encoding.UTF8.GetBytes(json), "p.json"));

        Assert.Equal(ErrorCodes.InvalidPopularityFile, error.Code);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ByteOrderMarkIsAccepted()
    {
        var popularity = PopularityFile.Parse([0xEF, 0xBB, 0xBF, .. """{"jq-1.7.1": 812}"""u8], "p.json");

        Assert.Equal(812UL, popularity.Of(Jq));
    }

    [Fact]
    public void NameThatIsNotUtf8IsNiximg016()
    {
        byte[] json = [.. "{\""u8, 0xFF, 0xFE, .. "-1.0\": 1}"u8];

        var error = Assert.Throws<NixImageException>(() => PopularityFile.Parse(json, "p.json"));

        Assert.Equal(ErrorCodes.InvalidPopularityFile, error.Code);
        Assert.Contains("not valid UTF-8", error.Message, StringComparison.Ordinal);
    }
}
