using System.Globalization;
using System.Text;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// Nixery's grouping under a budget, for real: the offline set's <c>widedag</c> has a closure of more than
/// 100 store paths. A popularity file makes every leaf popular, so the ideal grouping has well over 94
/// layers; the image then has exactly <c>NixLayerBudget</c> Nix layers, and still runs.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class LayerBudgetTests
{
    private const int ExtraLayers = 2; // the symlink layer and the app layer

    private readonly PackageFeed _feed;

    public LayerBudgetTests(PackageFeed feed) => _feed = feed;

    [Theory]
    [InlineData(10)]
    [InlineData(null)]
    public void WideClosureFillsExactlyTheLayerBudget(int? budget)
    {
        using var project = SampleProject.Copy(_feed);
        var popularity = Path.Combine(project.Root, "popularity.json");
        var json = new StringBuilder("{");
        for (var leaf = 1; leaf <= 120; leaf++)
        {
            json.Append(CultureInfo.InvariantCulture, $"\"wide-leaf-{leaf}-1.0\": {100 + leaf},");
        }

        File.WriteAllText(popularity, json.ToString().TrimEnd(',') + "}");
        project.AddToProject("""<ItemGroup><NixPackage Include="widedag" /></ItemGroup>""");

        var arguments = new List<string> { "-r", "linux-x64", "-p:NixPopularityFile=" + popularity };
        if (budget is { } b)
        {
            arguments.Add("-p:NixLayerBudget=" + b.ToString(CultureInfo.InvariantCulture));
        }

        var publish = project.Publish(arguments, environment: null);
        Assert.True(publish.ExitCode == 0, publish.Output);

        using var image = new ImageReader(project.DefaultArchive());
        var layers = image.Manifest().GetProperty("layers").GetArrayLength();
        Assert.Equal((budget ?? 94) + ExtraLayers, layers);

        // The most popular leaf has a layer of its own, at the bottom: popular shared layers come first.
        var history = image.Config().GetProperty("history").EnumerateArray().Select(h => h.GetProperty("created_by").GetString()).ToList();
        Assert.Equal("nix: nss-cacert-20230311", history[0]);
        Assert.Equal("symlinks", history[^2]);
        Assert.Equal("app", history[^1]);

        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedPopularityFileIsACodedErrorNamingTheEntry()
    {
        using var project = SampleProject.Copy(_feed);
        var popularity = Path.Combine(project.Root, "popularity.json");
        File.WriteAllText(popularity, """{"jq-1.6": 12, "glibc-2.36": "lots"}""");

        var publish = project.Publish("-r", "linux-x64", "-p:NixPopularityFile=" + popularity);

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG016", publish.Output, StringComparison.Ordinal);
        Assert.Contains("\"glibc-2.36\"", publish.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void BudgetThatWouldExceedTheLayerLimitIsRejected()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = project.Publish("-r", "linux-x64", "-p:NixLayerBudget=0");

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG009", publish.Output, StringComparison.Ordinal);
    }
}
