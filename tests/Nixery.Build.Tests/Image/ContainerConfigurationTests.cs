using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Nixery.Build.Image;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Tasks;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Image;

/// <summary>
/// Every MSBuild property and item, through the task adapter, into the image config JSON: compared byte for
/// byte with golden files (set NIXERY_UPDATE_GOLDEN=1 to rewrite them on purpose, then review the diff).
/// </summary>
public sealed class ContainerConfigurationTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _runtime;

    public ContainerConfigurationTests()
    {
        _runtime = _temp.CreateDirectory("store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-aspnetcore-runtime-10.0.1");
        _temp.CreateDirectory("store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-aspnetcore-runtime-10.0.1/share/dotnet/host/fxr");
        _temp.CreateDirectory("publish");
        _temp.CreateDirectory("nixpkgs");
    }

    [Fact]
    public void EveryPropertyMapsIntoTheConfig()
    {
        var task = Task();
        task.Set("_NixImageIsAspNet", "true");
        task.Set("ContainerUser", "1000:1000");
        task.Set("ContainerWorkingDirectory", "/srv/shop");
        task.Add("ContainerAppCommand", "/srv/shop/Shop");
        task.Add("ContainerAppCommandArgs", "--urls-from-env");
        task.Add("ContainerDefaultArgs", "--verbose");
        task.Add("ContainerPort", "8080");
        task.Add("ContainerPort", "5353", ("Type", "udp"));
        task.Add("ContainerEnvironmentVariable", "ASPNETCORE_HTTP_PORTS", ("Value", "8080;8081"));
        task.Add("ContainerEnvironmentVariable", "PATH", ("Value", "/bin"));
        task.Add("ContainerEnvironmentVariable", "TZ", ("Value", "Europe/Vienna"));
        task.Add("ContainerLabel", "org.opencontainers.image.title", ("Value", "Shop"));
        task.Add("ContainerLabel", "com.example.team", ("Value", "checkout"));
        task.Set("_NixImageSourceDateEpoch", "1700000000");

        AssertGolden("config-all-properties.json", Config(task));
    }

    [Fact]
    public void DefaultsAreTheSdksForAConsoleApp()
    {
        var task = Task();
        task.Add("ContainerAppCommand", "/bin/dotnet");
        task.Add("ContainerAppCommand", "/app/Hello.dll");
        task.Set("NixDotnetRuntimePackage", "dotnetCorePackages.runtime_10_0");
        task.Set("ContainerGenerateLabels", "false");

        AssertGolden("config-defaults-console.json", Config(task));
    }

    [Theory]
    [InlineData("", "", true)]
    [InlineData("registry.example.com", "", false)]
    [InlineData("registry.example.com", "out/image.tar", true)]
    public void ARegistryGetsTheImageInsteadOfTheArchiveUnlessAnArchivePathIsSetToo(string registry, string archiveOutputPath, bool writeArchive)
    {
        var task = Task();
        task.Set("ContainerRegistry", registry);
        task.Set("ContainerArchiveOutputPath", archiveOutputPath);

        var request = task.CreateRequest();

        Assert.Equal(writeArchive, request.WriteArchive);
        Assert.EndsWith(".tar", request.ArchivePath, StringComparison.Ordinal);
    }

    public void Dispose() => _temp.Dispose();

    private SettingItems Task()
    {
        var settings = new SettingItems();
        settings.Set("_NixImagePublishDir", _temp.Combine("publish"));
        settings.Set("MSBuildProjectDirectory", _temp.Path);
        settings.Set("_NixImageIntermediateDir", _temp.Combine("obj"));
        settings.Set("_NixImageDefaultArchiveDir", _temp.Combine("image"));
        settings.Set("AssemblyName", "Shop");
        settings.Add("NixPackage", "jq");
        settings.Set("NixDefaultPackages", "cacert;iana-etc");
        settings.Set("NixDotnetRuntimePackage", "dotnetCorePackages.aspnetcore_10_0");
        settings.Set("NixPkgsPath", "nixpkgs");
        settings.Set("RuntimeIdentifier", "linux-x64");
        return settings;
    }

    private string Config(SettingItems task)
    {
        var request = task.CreateRequest();
        var closure = new RuntimeClosure(
            request.Packages.Select(p => new ResolvedPackage(p.Name, p.Name, p.Name == request.DotnetRuntimePackage ? _runtime : "/nix/store/x-" + p.Name, p.Origin)).ToList(),
            new Dictionary<string, StorePathInfo>());
        var config = new ImageConfig
        {
            Created = request.Created,
            Platform = request.Platform,
            Settings = ContainerConfiguration.Settings(request, closure, DiskStore.Instance),
            DiffIds = [Digest.Of("layer"u8)],
            History = [new HistoryEntry("app")],
        };
        return Encoding.UTF8.GetString(OciJson.Serialize(config)).Replace(_temp.Path, "<temp>", StringComparison.Ordinal) + "\n";
    }

    private static void AssertGolden(string name, string actual)
    {
        var path = Path.Combine(RepositoryRoot.Path, "tests", "Nixery.Build.Tests", "Golden", name);
        if (Environment.GetEnvironmentVariable("NIXERY_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual);
        }

        Assert.True(File.Exists(path), $"Golden file {name} is missing; run with NIXERY_UPDATE_GOLDEN=1 once and review it.");
        Assert.Equal(File.ReadAllText(path), actual);
    }

    /// <summary>
    /// The settings as the targets hand them to ComputeNixImageRequest (SettingCatalog's shapes), turned into a request
    /// the way the task does it.
    /// </summary>
    private sealed class SettingItems
    {
        private readonly List<ITaskItem> _items = [];

        public void Set(string property, string value)
        {
            _items.RemoveAll(i => i.ItemSpec == property && i.GetMetadata(ComputeNixImageRequest.SettingMetadata).Length == 0);
            var item = new TaskItem(property);
            item.SetMetadata("Value", value);
            _items.Add(item);
        }

        public void Add(string setting, string spec, params (string Name, string Value)[] metadata)
        {
            var item = new TaskItem(spec);
            item.SetMetadata(ComputeNixImageRequest.SettingMetadata, setting);
            foreach (var (name, value) in metadata)
            {
                item.SetMetadata(name, value);
            }

            _items.Add(item);
        }

        public ImageRequest CreateRequest() => ImageRequestFactory.Create(SettingCatalog.Inputs(ComputeNixImageRequest.Values(_items)));
    }
}
