using System.Text;
using Nixery.Build.LayerFormat;
using Nixery.Build.Layers;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Layers;

public sealed class AppLayerSplitTests : IDisposable
{
    // A deps.json as the SDK writes it for `dotnet publish -r linux-x64` of an app "Shop" with a NuGet package
    // (runtime, native and resources assets) and a project reference "Shop.Core".
    private const string DepsJson = """
        {
          "runtimeTarget": { "name": ".NETCoreApp,Version=v10.0/linux-x64", "signature": "" },
          "compilationOptions": {},
          "targets": {
            ".NETCoreApp,Version=v10.0": {},
            ".NETCoreApp,Version=v10.0/linux-x64": {
              "Shop/1.0.0": { "dependencies": { "Newtonsoft.Json": "13.0.3", "Shop.Core": "1.0.0" }, "runtime": { "Shop.dll": {} } },
              "Newtonsoft.Json/13.0.3": {
                "runtime": { "lib/net6.0/Newtonsoft.Json.dll": { "assemblyVersion": "13.0.0.0" } },
                "native": { "runtimes/linux-x64/native/libfast.so": {} },
                "resources": { "lib/net6.0/de/Newtonsoft.Json.resources.dll": { "locale": "de" } }
              },
              "Portable.Native/1.0.0": {
                "runtimeTargets": { "runtimes/linux-arm64/native/libother.so": { "rid": "linux-arm64", "assetType": "native" } }
              },
              "Shop.Core/1.0.0": { "runtime": { "Shop.Core.dll": {} } }
            }
          },
          "libraries": {
            "Shop/1.0.0": { "type": "project", "serviceable": false, "sha512": "" },
            "Newtonsoft.Json/13.0.3": { "type": "package", "serviceable": true, "sha512": "x", "path": "newtonsoft.json/13.0.3" },
            "Portable.Native/1.0.0": { "type": "package", "serviceable": true, "sha512": "y", "path": "portable.native/1.0.0" },
            "Shop.Core/1.0.0": { "type": "project", "serviceable": false, "sha512": "" }
          }
        }
        """;

    private readonly TempDirectory _publish = new();
    private readonly RecordingLog _log = new();

    public AppLayerSplitTests()
    {
        foreach (var file in new[]
        {
            "Shop", "Shop.dll", "Shop.pdb", "Shop.runtimeconfig.json", "appsettings.json", "wwwroot/site.css",
            "Newtonsoft.Json.dll", "Newtonsoft.Json.pdb", "libfast.so", "de/Newtonsoft.Json.resources.dll",
            "runtimes/linux-arm64/native/libother.so", "Shop.Core.dll", "Shop.Core.pdb",
        })
        {
            _publish.CreateFile(file, file);
        }

        _publish.CreateFile("Shop.deps.json", DepsJson);
    }

    [Fact]
    public void PackagesThenProjectReferencesThenTheApp()
    {
        var groups = AppLayerSplit.Split(_publish.Path, "Shop", _log);

        Assert.Equal(["app: NuGet packages", "app: project references", "app"], groups.Select(g => g.Description));
        Assert.Equal(
            ["de/Newtonsoft.Json.resources.dll", "libfast.so", "Newtonsoft.Json.dll", "Newtonsoft.Json.pdb", "runtimes/linux-arm64/native/libother.so"],
            Files(groups[0]));
        Assert.Equal(["Shop.Core.dll", "Shop.Core.pdb"], Files(groups[1]));
        Assert.Equal(
            ["appsettings.json", "Shop", "Shop.deps.json", "Shop.dll", "Shop.pdb", "Shop.runtimeconfig.json", "wwwroot/site.css"],
            Files(groups[2]));
        Assert.Empty(_log.Warnings);
    }

    [Fact]
    public void EveryFileIsInExactlyOneLayerAndFoldersGoWhereTheirFilesAre()
    {
        var groups = AppLayerSplit.Split(_publish.Path, "Shop", _log);
        var entries = groups.Select(g => AppLayer.Entries(_publish.Path, "/app", g).ToList()).ToList();

        var files = entries.SelectMany(e => e).Where(e => e is not DirectoryEntry).Select(e => e.Path).ToList();
        Assert.Equal(files.Distinct(StringComparer.Ordinal).Count(), files.Count);
        Assert.Equal(AppLayer.Entries(_publish.Path, "/app").Count(e => e is not DirectoryEntry), files.Count);
        Assert.Contains(new DirectoryEntry("app/de", UnixModes.Executable), entries[0]);
        Assert.DoesNotContain(new DirectoryEntry("app/wwwroot", UnixModes.Executable), entries[0]);
        Assert.Contains(new DirectoryEntry("app/wwwroot", UnixModes.Executable), entries[2]);
    }

    [Fact]
    public void WithoutPackagesOrProjectsTheAppIsOneLayer()
    {
        using var publish = new TempDirectory();
        publish.CreateFile("Hello.dll", "x");
        publish.CreateFile("Hello.deps.json", """{"runtimeTarget":{"name":"t"},"targets":{"t":{"Hello/1.0.0":{"runtime":{"Hello.dll":{}}}}},"libraries":{"Hello/1.0.0":{"type":"project"}}}""");

        var groups = AppLayerSplit.Split(publish.Path, "Hello", _log);

        Assert.Equal(["app"], groups.Select(g => g.Description));
    }

    [Fact]
    public void MissingDepsFileMeansOneLayer()
    {
        File.Delete(_publish.Combine("Shop.deps.json"));

        Assert.Same(AppFileGroup.Everything, Assert.Single(AppLayerSplit.Split(_publish.Path, "Shop", _log)));
    }

    [Fact]
    public void UnreadableDepsFileWarnsWithNiximg024AndKeepsEverything()
    {
        File.WriteAllText(_publish.Combine("Shop.deps.json"), "{ not json", Encoding.UTF8);

        Assert.Same(AppFileGroup.Everything, Assert.Single(AppLayerSplit.Split(_publish.Path, "Shop", _log)));
        Assert.Equal("NIXIMG024", Assert.Single(_log.Warnings).Code);
    }

    public void Dispose() => _publish.Dispose();

    private List<string> Files(AppFileGroup group) =>
        Directory.EnumerateFiles(_publish.Path, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(_publish.Path, f))
            .Where(group.Holds)
            .Order(StringComparer.OrdinalIgnoreCase)
            .ToList();
}
