using System.Text.Json;
using Nixery.Build.Nix;

namespace Nixery.Build.Tests.Nix;

public class ParsePathInfoTests
{
    private const string Hello = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-hello-2.12.1";
    private const string Glibc = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-glibc-2.39";
    private const string Libidn = "/nix/store/cccccccccccccccccccccccccccccccc-libidn2-2.3.7";

    /// <summary>What <c>nix path-info --json --recursive</c> prints in Nix 2.4 to 2.18: a list with "path".</summary>
    private const string ArrayShape = $$"""
        [
          {"path":"{{Hello}}","narHash":"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","narSize":226560,"references":["{{Libidn}}","{{Hello}}","{{Glibc}}"],"valid":true},
          {"path":"{{Glibc}}","narSize":30000000,"references":["{{Glibc}}"]},
          {"path":"{{Libidn}}","narSize":400000,"references":["{{Glibc}}","{{Libidn}}"]}
        ]
        """;

    /// <summary>What Nix 2.19 and later print: an object keyed by store path.</summary>
    private const string ObjectShape = $$"""
        {
          "{{Libidn}}":{"narSize":400000,"references":["{{Libidn}}","{{Glibc}}"]},
          "{{Hello}}":{"narHash":"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","narSize":226560,"references":["{{Hello}}","{{Glibc}}","{{Libidn}}"]},
          "{{Glibc}}":{"narSize":30000000,"references":["{{Glibc}}"]}
        }
        """;

    [Fact]
    public void ReadsTheListShapeOfOlderNix()
    {
        var paths = NixClient.ParsePathInfo(ArrayShape);

        Assert.Equal([Glibc, Hello, Libidn], paths.Keys);
        var hello = paths[Hello];
        Assert.Equal(Hello, hello.Path);
        Assert.Equal(226560, hello.NarSize);
        Assert.Equal([Glibc, Hello, Libidn], hello.References);
        Assert.Equal([Glibc, Libidn], paths[Libidn].References);
        Assert.Equal(NarHash.FromBytes(new byte[32]), hello.NarHash);
    }

    [Fact]
    public void ReadsTheObjectShapeOfNewerNix()
    {
        var paths = NixClient.ParsePathInfo(ObjectShape);

        Assert.Equal([Glibc, Hello, Libidn], paths.Keys);
        Assert.Equal(30000000, paths[Glibc].NarSize);
        Assert.Equal([Glibc, Hello, Libidn], paths[Hello].References);
    }

    [Fact]
    public void BothShapesGiveTheSameClosure()
    {
        var fromArray = NixClient.ParsePathInfo(ArrayShape);
        var fromObject = NixClient.ParsePathInfo(ObjectShape);

        Assert.Equal(fromArray.Keys, fromObject.Keys);
        foreach (var path in fromArray.Keys)
        {
            Assert.Equal(fromArray[path].NarSize, fromObject[path].NarSize);
            Assert.Equal(fromArray[path].References, fromObject[path].References);
        }
    }

    [Fact]
    public void ReferencesWithoutTheStoreDirectoryGetIt()
    {
        var json = $$$"""{"{{{Hello}}}":{"narSize":1,"references":["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-glibc-2.39"]}}""";

        Assert.Equal([Glibc], NixClient.ParsePathInfo(json)[Hello].References);
    }

    [Fact]
    public void NullEntryOfTheObjectShapeIsAnError()
    {
        var json = $$"""{"{{Hello}}":null}""";

        var error = Assert.Throws<InvalidOperationException>(() => NixClient.ParsePathInfo(json));
        Assert.Contains(Hello, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidEntryOfTheListShapeIsAnError()
    {
        var json = $$"""[{"path":"{{Hello}}","valid":false}]""";

        var error = Assert.Throws<InvalidOperationException>(() => NixClient.ParsePathInfo(json));
        Assert.Contains(Hello, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedAnswersFailWithExceptionsTheClientTurnsIntoNiximg005()
    {
        // GetRuntimeClosureAsync maps JsonException, InvalidOperationException, KeyNotFoundException
        // and FormatException to NIXIMG005; anything else would escape as a crash.
        Assert.ThrowsAny<JsonException>(() => NixClient.ParsePathInfo("not json"));
        Assert.Throws<KeyNotFoundException>(() => NixClient.ParsePathInfo($$$"""{"{{{Hello}}}":{"narSize":1}}"""));
        Assert.Throws<KeyNotFoundException>(() => NixClient.ParsePathInfo("""[{"narSize":1,"references":[]}]"""));
        Assert.Throws<InvalidOperationException>(() => NixClient.ParsePathInfo($$$"""{"{{{Hello}}}":{"narSize":"big","references":[]}}"""));
    }

    [Fact]
    public void EmptyAnswerIsAnEmptyClosure()
    {
        Assert.Empty(NixClient.ParsePathInfo("[]"));
        Assert.Empty(NixClient.ParsePathInfo("{}"));
    }
}
