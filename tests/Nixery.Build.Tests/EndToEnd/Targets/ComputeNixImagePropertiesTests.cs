using System.Text.Json;
using System.Text.RegularExpressions;
using Nixery.Build.Cache;
using Nixery.Build.Settings;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd.Targets;

/// <summary>
/// build/Nixery.Build.targets evaluated for real: a small project imports the package's props and targets with the
/// task assembly of this build, and <c>dotnet msbuild -t:ComputeNixImageProperties -getProperty:…</c> prints what
/// the target resolved. The defaults must be the factory's and the ones docs/configuration.md lists, so docs,
/// targets and code cannot drift apart.
/// </summary>
public sealed partial class ComputeNixImagePropertiesTests : IDisposable
{
    private static readonly string[] Properties =
    [
        "ContainerImageTags", "ContainerWorkingDirectory", "ContainerUser", "ContainerImageFormat", "NixImageArchiveFile",
        "NixLayerBudget", "NixDefaultPackages", "NixImageCacheDirectory", "NixImageCacheMaxSize", "NixImageCompressionLevel",
        "NixImageOciLayoutPath", "NixImageWritesArchive", "NixMode", "NixLockFile", "NixBinaryCaches", "NixTrustedPublicKeys",
    ];

    private readonly TempDirectory _temp = new();

    [GeneratedRegex(@"^\|\s*`(?<name>[A-Za-z]+)`[^|]*\|\s*(?<default>[^|]*?)\s*\|\s*$")]
    private static partial Regex TableRow();

    [Fact]
    public void ResolvedDefaultsAreTheFactorysAndTheDocumentedOnes()
    {
        var resolved = Compute();
        var documented = DocumentedDefaults();
        var xdg = _temp.Combine("xdg");

        // The factory's constants, through the targets.
        Assert.Equal(ImageRequestFactory.DefaultTag, resolved["ContainerImageTags"]);
        Assert.Equal(ImageRequestFactory.DefaultWorkingDirectory, resolved["ContainerWorkingDirectory"]);
        Assert.Equal(ImageRequestFactory.DefaultUser, resolved["ContainerUser"]);
        Assert.Equal("94", resolved["NixLayerBudget"]);
        Assert.Equal(ImageRequestFactory.DefaultPackages, resolved["NixDefaultPackages"]);
        Assert.Equal(ImageRequestFactory.DefaultCacheMaxSizeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), resolved["NixImageCacheMaxSize"]);
        Assert.Equal("true", resolved["NixImageWritesArchive"]);

        // The docs' table, row by row.
        Assert.Equal(documented["ContainerImageTags"], resolved["ContainerImageTags"]);
        Assert.Equal(documented["ContainerWorkingDirectory"], resolved["ContainerWorkingDirectory"]);
        Assert.Equal(documented["ContainerUser"], resolved["ContainerUser"]);
        Assert.Equal(documented["ContainerImageFormat"], resolved["ContainerImageFormat"]);
        Assert.Equal(documented["NixLayerBudget"], resolved["NixLayerBudget"]);
        Assert.Equal(documented["NixDefaultPackages"], resolved["NixDefaultPackages"]);
        Assert.Equal(documented["NixImageCompressionLevel"], resolved["NixImageCompressionLevel"]);
        Assert.Equal(LayerCache.ParseSize(documented["NixImageCacheMaxSize"]).ToString(System.Globalization.CultureInfo.InvariantCulture), resolved["NixImageCacheMaxSize"]);
        Assert.Equal(10_000_000_000L, LayerCache.ParseSize(documented["NixImageCacheMaxSize"]));
        Assert.Equal(documented["NixImageCacheDirectory"].Replace("$XDG_CACHE_HOME", xdg, StringComparison.Ordinal), resolved["NixImageCacheDirectory"]);
        Assert.Equal(
            Path.Combine(_temp.Combine("shop"), documented["ContainerArchiveOutputPath"].Replace("$(OutputPath)", "bin/Release/net10.0/", StringComparison.Ordinal).Replace("<repository>", "shop", StringComparison.Ordinal)),
            resolved["NixImageArchiveFile"]);
        Assert.Equal("none", documented["NixImageOciLayoutPath"]);
        Assert.Equal(string.Empty, resolved["NixImageOciLayoutPath"]);
        Assert.Equal(documented["NixMode"], resolved["NixMode"]);
        Assert.Equal(Path.Combine(_temp.Combine("shop"), documented["NixLockFile"]), resolved["NixLockFile"]);
        Assert.Equal(documented["NixBinaryCaches"], resolved["NixBinaryCaches"]);
        Assert.Equal(documented["NixTrustedPublicKeys"], resolved["NixTrustedPublicKeys"]);
        Assert.Equal(NixModeSettings.DefaultCache, resolved["NixBinaryCaches"]);
    }

    [Fact]
    public void SetValuesAreResolvedToWhatTheImageStepUses()
    {
        var resolved = Compute(
            "-p:NixLayerBudget=50",
            "-p:ContainerWorkingDirectory=/srv//shop/./",
            "-p:NixImageCacheMaxSize=2GiB",
            "-p:NixImageOciLayoutPath=out/layout/",
            "-p:ContainerImageTags=\"1.0;1.0;stable\"",
            "-p:NixDefaultPackages=none");

        Assert.Equal("50", resolved["NixLayerBudget"]);
        Assert.Equal("/srv/shop", resolved["ContainerWorkingDirectory"]);
        Assert.Equal((2L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture), resolved["NixImageCacheMaxSize"]);
        Assert.Equal(_temp.Combine("shop", "out", "layout"), resolved["NixImageOciLayoutPath"]);
        Assert.Equal("1.0;stable", resolved["ContainerImageTags"]);
        Assert.Equal("none", resolved["NixDefaultPackages"]);
    }

    [Fact]
    public void AnOciLayoutPathThatIsAFileIsNiximg015()
    {
        _temp.CreateFile("shop/layout.tar", "not a folder");

        var result = Run("-p:NixImageOciLayoutPath=layout.tar");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("NIXIMG015", result.Output, StringComparison.Ordinal);
        Assert.Contains("NixImageOciLayoutPath 'layout.tar' is a file", result.Output, StringComparison.Ordinal);
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>The defaults table of docs/configuration.md: property → its first backticked value, or the word none.</summary>
    private static Dictionary<string, string> DocumentedDefaults()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot.Path, "docs", "configuration.md"));
        var start = Array.IndexOf(lines, "## Defaults, resolved");
        Assert.True(start >= 0, "docs/configuration.md has no '## Defaults, resolved' section.");
        var defaults = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(start + 1).SkipWhile(l => !l.StartsWith("| property | default |", StringComparison.Ordinal)).Skip(2).TakeWhile(l => l.StartsWith('|')))
        {
            var match = TableRow().Match(line);
            Assert.True(match.Success, $"Not a row of the defaults table: {line}");
            var cell = match.Groups["default"].Value;
            var code = Regex.Match(cell, "`([^`]*)`");
            defaults[match.Groups["name"].Value] = code.Success ? code.Groups[1].Value : cell.Trim();
        }

        return defaults;
    }

    private Dictionary<string, string> Compute(params string[] arguments)
    {
        var result = Run([.. arguments, .. Properties.Select(p => "-getProperty:" + p)]).EnsureSuccess();
        using var json = JsonDocument.Parse(result.StandardOutput);
        return json.RootElement.GetProperty("Properties").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? string.Empty);
    }

    private CommandResult Run(params string[] arguments)
    {
        var tasks = typeof(ImageRequestFactory).Assembly.Location;
        var root = RepositoryRoot.Path;
        _temp.CreateFile("shop/Shop.csproj", $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <NixeryBuildTasksAssembly>{tasks}</NixeryBuildTasksAssembly>
                <TargetFramework>net10.0</TargetFramework>
                <OutputType>Exe</OutputType>
              </PropertyGroup>
              <Import Project="{root}/build/Nixery.Build.props" />
              <Import Project="{root}/build/Nixery.Build.targets" />
            </Project>
            """);
        return Command.Run(
            "dotnet",
            ["msbuild", "-nologo", "-nodeReuse:false", "-p:Configuration=Release", "-t:ComputeNixImageProperties", .. arguments],
            workingDirectory: _temp.Combine("shop"),
            environment: new Dictionary<string, string?>
            {
                ["XDG_CACHE_HOME"] = _temp.Combine("xdg"),
                ["SOURCE_DATE_EPOCH"] = null,
                ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
                ["MSBUILDDISABLENODEREUSE"] = "1",
            },
            timeout: TimeSpan.FromMinutes(2));
    }
}
