using System.Text.Json.Nodes;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Sbom;

/// <summary>
/// Writes a project.assets.json as NuGet restore writes it (the parts the reader uses: targets, libraries,
/// projectFileDependencyGroups, packageFolders, project.frameworks) and a package folder with nuspecs.
/// </summary>
internal sealed class AssetsFileBuilder
{
    private readonly JsonObject _target = [];
    private readonly JsonObject _libraries = [];
    private readonly JsonObject _dependencies = [];
    private readonly JsonArray _direct = [];
    private readonly TempDirectory _root;

    public AssetsFileBuilder(TempDirectory root)
    {
        _root = root;
        PackageFolder = root.CreateDirectory("packages") + "/";
    }

    public string PackageFolder { get; }

    public string TargetFramework { get; set; } = "net10.0";

    public string RuntimeIdentifier { get; set; } = "linux-x64";

    /// <summary>A package in the target, with its assets per group (<c>runtime</c>, <c>native</c>, ...), its nuspec and its library entry.</summary>
    public AssetsFileBuilder Package(
        string id,
        string version,
        Dictionary<string, string[]>? assets = null,
        string[]? dependencies = null,
        string? licenseExpression = null,
        string? licenseUrl = null,
        string? privateAssets = null,
        bool direct = false,
        string? libraryPath = null,
        string? sha512 = null)
    {
        var entry = new JsonObject { ["type"] = "package" };
        if (dependencies is not null)
        {
            entry["dependencies"] = new JsonObject(dependencies.Select(d => KeyValuePair.Create(d, (JsonNode?)"1.0.0")));
        }

        foreach (var (group, files) in assets ?? [])
        {
            entry[group] = new JsonObject(files.Select(f => KeyValuePair.Create(f, (JsonNode?)new JsonObject())));
        }

        _target[$"{id}/{version}"] = entry;
        var path = libraryPath ?? $"{id.ToLowerInvariant()}/{version.ToLowerInvariant()}";
        var nuspecName = id.ToLowerInvariant() + ".nuspec";
        var hashName = $"{id.ToLowerInvariant()}.{version.ToLowerInvariant()}.nupkg.sha512";
        _libraries[$"{id}/{version}"] = new JsonObject
        {
            // NuGet's content hash: what the reader does not use (it is not the .nupkg's hash for a signed package).
            ["sha512"] = Convert.ToBase64String(new byte[64]),
            ["type"] = "package",
            ["path"] = path,
            ["files"] = new JsonArray(nuspecName, hashName, "lib/net10.0/" + id + ".dll"),
        };

        var license = licenseExpression is not null ? $"<license type=\"expression\">{licenseExpression}</license>"
            : licenseUrl is not null ? $"<licenseUrl>{licenseUrl}</licenseUrl>" : string.Empty;
        if (libraryPath is null)
        {
            _root.CreateFile(Path.Combine("packages", path, hashName), sha512 ?? NupkgHash(id, version));
            _root.CreateFile(Path.Combine("packages", path, nuspecName), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
                  <metadata>
                    <id>{id}</id>
                    <version>{version}</version>
                    {license}
                  </metadata>
                </package>
                """);
        }

        if (direct || privateAssets is not null)
        {
            var dependency = new JsonObject { ["target"] = "Package", ["version"] = $"[{version}, )" };
            if (privateAssets is not null)
            {
                dependency["suppressParent"] = privateAssets;
            }

            _dependencies[id] = dependency;
            _direct.Add($"{id} >= {version}");
        }

        return this;
    }

    /// <summary>The .nupkg.sha512 the builder writes for a package unless told otherwise (base64 of 64 bytes).</summary>
    public static string NupkgHash(string id, string version) =>
        Convert.ToBase64String(System.Security.Cryptography.SHA512.HashData(System.Text.Encoding.UTF8.GetBytes(id + version)));

    public AssetsFileBuilder Project(string name, string version, string[]? dependencies = null, bool direct = true)
    {
        var entry = new JsonObject
        {
            ["type"] = "project",
            ["framework"] = ".NETCoreApp,Version=v10.0",
            ["compile"] = new JsonObject { ["bin/placeholder/" + name + ".dll"] = new JsonObject() },
            ["runtime"] = new JsonObject { ["bin/placeholder/" + name + ".dll"] = new JsonObject() },
        };
        if (dependencies is not null)
        {
            entry["dependencies"] = new JsonObject(dependencies.Select(d => KeyValuePair.Create(d, (JsonNode?)"1.0.0")));
        }

        _target[$"{name}/{version}"] = entry;
        _libraries[$"{name}/{version}"] = new JsonObject { ["type"] = "project", ["path"] = $"../{name}/{name}.csproj", ["msbuildProject"] = $"../{name}/{name}.csproj" };
        if (direct)
        {
            _direct.Add($"{name} >= {version}");
        }

        return this;
    }

    public string Write()
    {
        var document = new JsonObject
        {
            ["version"] = 3,
            ["targets"] = new JsonObject
            {
                [TargetFramework] = JsonNode.Parse(_target.ToJsonString()),
                [TargetFramework + "/" + RuntimeIdentifier] = JsonNode.Parse(_target.ToJsonString()),
            },
            ["libraries"] = JsonNode.Parse(_libraries.ToJsonString()),
            ["projectFileDependencyGroups"] = new JsonObject { [TargetFramework] = JsonNode.Parse(_direct.ToJsonString()) },
            ["packageFolders"] = new JsonObject { [PackageFolder] = new JsonObject() },
            ["project"] = new JsonObject
            {
                ["version"] = "1.0.0",
                ["frameworks"] = new JsonObject
                {
                    [TargetFramework] = new JsonObject
                    {
                        ["targetAlias"] = TargetFramework,
                        ["dependencies"] = JsonNode.Parse(_dependencies.ToJsonString()),
                    },
                },
            },
        };
        return _root.CreateFile("obj/project.assets.json", document.ToJsonString());
    }
}
