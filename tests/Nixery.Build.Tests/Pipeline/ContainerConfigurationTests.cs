using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Nixery.Build.Image;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Tasks;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Pipeline;

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
        task.IsAspNet = true;
        task.User = "1000:1000";
        task.WorkingDirectory = "/srv/shop";
        task.AppCommand = Items("/srv/shop/Shop");
        task.AppCommandArgs = Items("--urls-from-env");
        task.DefaultArgs = Items("--verbose");
        task.Ports = [Item("8080"), Item("5353", ("Type", "udp"))];
        task.EnvironmentVariables = [Item("ASPNETCORE_HTTP_PORTS", ("Value", "8080;8081")), Item("PATH", ("Value", "/bin")), Item("TZ", ("Value", "Europe/Vienna"))];
        task.Labels = [Item("org.opencontainers.image.title", ("Value", "Shop")), Item("com.example.team", ("Value", "checkout"))];
        task.SourceDateEpoch = "1700000000";

        AssertGolden("config-all-properties.json", Config(task));
    }

    [Fact]
    public void DefaultsAreTheSdksForAConsoleApp()
    {
        var task = Task();
        task.AppCommand = Items("/bin/dotnet", "/app/Hello.dll");
        task.DotnetRuntimePackage = "dotnetCorePackages.runtime_10_0";
        task.GenerateLabels = "false";

        AssertGolden("config-defaults-console.json", Config(task));
    }

    [Theory]
    [InlineData("", "", true)]
    [InlineData("registry.example.com", "", false)]
    [InlineData("registry.example.com", "out/image.tar", true)]
    public void ARegistryGetsTheImageInsteadOfTheArchiveUnlessAnArchivePathIsSetToo(string registry, string archiveOutputPath, bool writeArchive)
    {
        var task = Task();
        task.Registry = registry;
        task.ArchiveOutputPath = archiveOutputPath;

        var request = task.CreateRequest();

        Assert.Equal(writeArchive, request.WriteArchive);
        Assert.EndsWith(".tar", request.ArchivePath, StringComparison.Ordinal);
    }

    public void Dispose() => _temp.Dispose();

    private PrepareNixImage Task() => new()
    {
        BuildEngine = new NoBuildEngine(),
        PublishDirectory = _temp.Combine("publish"),
        ProjectDirectory = _temp.Path,
        IntermediateDirectory = _temp.Combine("obj"),
        DefaultArchiveDirectory = _temp.Combine("image"),
        AssemblyName = "Shop",
        Packages = Items("jq"),
        DefaultPackages = "cacert;iana-etc",
        DotnetRuntimePackage = "dotnetCorePackages.aspnetcore_10_0",
        NixPkgsPath = "nixpkgs",
        RuntimeIdentifier = "linux-x64",
        RequestFile = _temp.Combine("obj", "request.json"),
    };

    private string Config(PrepareNixImage task)
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

    private static ITaskItem[] Items(params string[] specs) => specs.Select(s => (ITaskItem)new TaskItem(s)).ToArray();

    private static TaskItem Item(string spec, params (string Name, string Value)[] metadata)
    {
        var item = new TaskItem(spec);
        foreach (var (name, value) in metadata)
        {
            item.SetMetadata(name, value);
        }

        return item;
    }

    /// <summary>The task builds its request without logging; an engine that refuses everything proves it.</summary>
    private sealed class NoBuildEngine : IBuildEngine
    {
        public bool ContinueOnError => false;

        public int LineNumberOfTaskNode => 0;

        public int ColumnNumberOfTaskNode => 0;

        public string ProjectFileOfTaskNode => string.Empty;

        public bool BuildProjectFile(string projectFileName, string[] targetNames, System.Collections.IDictionary globalProperties, System.Collections.IDictionary targetOutputs) => throw new NotSupportedException();

        public void LogCustomEvent(CustomBuildEventArgs e) => throw new NotSupportedException();

        public void LogErrorEvent(BuildErrorEventArgs e) => throw new NotSupportedException(e.Message);

        public void LogMessageEvent(BuildMessageEventArgs e) => throw new NotSupportedException(e.Message);

        public void LogWarningEvent(BuildWarningEventArgs e) => throw new NotSupportedException(e.Message);
    }
}
