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

    private static readonly byte[] Sample = Encoding.UTF8.GetBytes(
        "\uFEFF{\n  // a comment\n  \"glibc-2.39-52\": 48123,\n  \"jq\\u002d1.7.1\": 812,\r\n\t\"caf\u00e9-1.0\": 3, \"zero-0\": 0,\n  \""
        + new string('x', 300) + "-9\": 18446744073709551615\n}\n");

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(PopularityFile.BufferSize)]
    public void AStreamReadInAnyBufferSizeGivesTheSameCounts(int bufferSize)
    {
        var counts = PopularityFile.Read(new MemoryStream(Sample), "p.json", wanted: null, bufferSize);

        Assert.Equal(
            new Dictionary<string, ulong>(StringComparer.Ordinal)
            {
                ["glibc-2.39-52"] = 48123,
                ["jq-1.7.1"] = 812,
                ["caf\u00e9-1.0"] = 3,
                ["zero-0"] = 0,
                [new string('x', 300) + "-9"] = ulong.MaxValue,
            },
            counts);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(PopularityFile.BufferSize)]
    public void OnlyTheWantedNamesAreKept(int bufferSize)
    {
        var wanted = new HashSet<string>(["jq-1.7.1", "caf\u00e9-1.0", "absent-1"], StringComparer.Ordinal);

        var counts = PopularityFile.Read(new MemoryStream(Sample), "p.json", wanted, bufferSize);

        Assert.Equal(new Dictionary<string, ulong>(StringComparer.Ordinal) { ["jq-1.7.1"] = 812, ["caf\u00e9-1.0"] = 3 }, counts);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(PopularityFile.BufferSize)]
    public void ErrorsNameTheSamePlaceInAnyBufferSize(int bufferSize)
    {
        var syntax = Encoding.UTF8.GetBytes("{\n  \"a-1\": 1,\n  \"b-2\": 2,\n  \"c-3\" 3\n}");
        var shape = Encoding.UTF8.GetBytes("{\"a-1\": 1,\n \"b-2\": \"many\"}");

        var syntaxError = Assert.Throws<NixImageException>(() => PopularityFile.Read(new MemoryStream(syntax), "p.json", null, bufferSize));
        var shapeError = Assert.Throws<NixImageException>(() => PopularityFile.Read(new MemoryStream(shape), "p.json", null, bufferSize));

        Assert.Equal(ErrorCodes.InvalidPopularityFile, syntaxError.Code);
        Assert.Contains("line 4, byte 9", syntaxError.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCodes.InvalidPopularityFile, shapeError.Code);
        Assert.Contains("\"b-2\"", shapeError.Message, StringComparison.Ordinal);
        Assert.Contains("near byte 20", shapeError.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"a-1\": 1")]
    [InlineData("{\"a-1\": 1} {}")]
    [InlineData("")]
    public void UnclosedOrFollowedObjectsAreNiximg016(string json)
    {
        var error = Assert.Throws<NixImageException>(() => PopularityFile.Read(new MemoryStream(Encoding.UTF8.GetBytes(json)), "p.json", null, 3));

        Assert.Equal(ErrorCodes.InvalidPopularityFile, error.Code);
    }

    [Fact]
    public void LoadChecksTheWholeFileAndForReadsTheClosuresCounts()
    {
        using var temp = new TempDirectory();
        var good = temp.CreateFile("good.json", """{"jq-1.7.1": 812, "glibc-2.39-52": 48123, "bash-5.2": 150}""");
        var bad = temp.CreateFile("bad.json", """{"jq-1.7.1": 812, "glibc-2.39-52": "x"}""");

        var error = Assert.Throws<NixImageException>(() => PopularityFile.Load(bad));
        var popularity = PopularityFile.Load(good).For([Jq, "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-bash-5.2"]);

        Assert.Equal(ErrorCodes.InvalidPopularityFile, error.Code);
        Assert.Contains("glibc-2.39-52", error.Message, StringComparison.Ordinal);
        Assert.Equal(812UL, popularity.Of(Jq));
        Assert.Equal(150UL, popularity.Of("/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-bash-5.2"));
        // Not asked for: not kept, so it rates the default.
        Assert.Equal(Popularity.Default, popularity.Of("/nix/store/cccccccccccccccccccccccccccccccc-glibc-2.39-52"));
        // Asked directly, a file's popularity has every count.
        Assert.Equal(48123UL, PopularityFile.Load(good).Of("/nix/store/cccccccccccccccccccccccccccccccc-glibc-2.39-52"));
    }

    [Fact]
    public void AFileChangedAfterLoadIsStillNiximg016()
    {
        using var temp = new TempDirectory();
        var path = temp.CreateFile("p.json", """{"jq-1.7.1": 812}""");
        var popularity = PopularityFile.Load(path);
        File.WriteAllText(path, """{"jq-1.7.1": true}""");

        var error = Assert.Throws<NixImageException>(() => popularity.For([Jq]));

        Assert.Equal(ErrorCodes.InvalidPopularityFile, error.Code);
    }
}
