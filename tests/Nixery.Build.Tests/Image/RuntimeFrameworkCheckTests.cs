using Nixery.Build.Diagnostics;
using Nixery.Build.Image;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Sources;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Image;

/// <summary>
/// The check against a runtime laid out as nixpkgs lays it out: a wrapper whose <c>share/dotnet</c> links into the
/// unwrapped runtime, whose <c>shared/&lt;framework&gt;/&lt;version&gt;</c> folders are what the host chooses from.
/// </summary>
public sealed class RuntimeFrameworkCheckTests : IDisposable
{
    private const string Runtime = "dotnetCorePackages.runtime_10_0";
    private readonly TempDirectory _temp = new();
    private readonly RecordingLog _log = new();
    private readonly string _wrapper;
    private readonly string _unwrapped;

    public RuntimeFrameworkCheckTests()
    {
        _unwrapped = _temp.CreateDirectory("store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-dotnet-runtime-10.0.12");
        Directory.CreateDirectory(Path.Combine(_unwrapped, "share/dotnet/host/fxr/10.0.12"));
        Directory.CreateDirectory(Path.Combine(_unwrapped, "share/dotnet/shared/Microsoft.NETCore.App/10.0.12"));
        _wrapper = _temp.CreateDirectory("store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-dotnet-runtime-wrapped-10.0.12");
        Directory.CreateDirectory(Path.Combine(_wrapper, "share"));
        File.CreateSymbolicLink(Path.Combine(_wrapper, "share/dotnet"), Path.Combine(_unwrapped, "share/dotnet"));
        _temp.CreateDirectory("publish");
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void DefaultPolicyRollsToThePatchThroughTheWrappersLink()
    {
        RuntimeConfig("""{"runtimeOptions":{"framework":{"name":"Microsoft.NETCore.App","version":"10.0.0"}}}""");
        Check(Request());
        Assert.Contains(_log.Lines, l => l.Contains("Microsoft.NETCore.App 10.0.0 (Minor, the default) resolves to 10.0.12", StringComparison.Ordinal));
    }

    [Fact]
    public void DisableNamesTheVersionsThePolicyAndAPolicyThatWorks()
    {
        RuntimeConfig("""{"runtimeOptions":{"rollForward":"Disable","framework":{"name":"Microsoft.NETCore.App","version":"10.0.0"}}}""");
        var e = Assert.Throws<NixImageException>(() => Check(Request()));
        Assert.Equal(ErrorCodes.RuntimeFrameworkMissing, e.Code);
        Assert.Contains("it asks for Microsoft.NETCore.App 10.0.0 with roll-forward policy Disable (runtimeOptions.rollForward in App.runtimeconfig.json)", e.Message, StringComparison.Ordinal);
        Assert.Contains($"the runtime package '{Runtime}' has Microsoft.NETCore.App 10.0.12.", e.Message, StringComparison.Ordinal);
        Assert.Contains("Set RollForward to LatestPatch (or a more permissive policy) in the project, and 10.0.12 would be used", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AVersionAboveTheRuntimesAsksForANewerRuntime()
    {
        RuntimeConfig("""{"runtimeOptions":{"framework":{"name":"Microsoft.NETCore.App","version":"10.0.99"}}}""");
        var e = Assert.Throws<NixImageException>(() => Check(Request()));
        Assert.Equal(ErrorCodes.RuntimeFrameworkMissing, e.Code);
        Assert.Contains("Microsoft.NETCore.App 10.0.99 with roll-forward policy Minor (the default)", e.Message, StringComparison.Ordinal);
        Assert.Contains("It needs a newer runtime than the image has", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFrameworkTheRuntimeLacksNamesTheAspNetPackage()
    {
        RuntimeConfig("""{"runtimeOptions":{"frameworks":[{"name":"Microsoft.NETCore.App","version":"10.0.0"},{"name":"Microsoft.AspNetCore.App","version":"10.0.0"}]}}""");
        var e = Assert.Throws<NixImageException>(() => Check(Request()));
        Assert.Equal(ErrorCodes.RuntimeFrameworkMissing, e.Code);
        Assert.Contains($"the runtime package '{Runtime}' has no Microsoft.AspNetCore.App at all", e.Message, StringComparison.Ordinal);
        Assert.Contains("dotnetCorePackages.aspnetcore_10_0", e.Message, StringComparison.Ordinal);
        Assert.Contains("shared holds Microsoft.NETCore.App 10.0.12.", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("it asks for Microsoft.NETCore.App", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DotnetRollForwardFromContainerEnvironmentVariableDecides()
    {
        RuntimeConfig("""{"runtimeOptions":{"rollForward":"Disable","framework":{"name":"Microsoft.NETCore.App","version":"9.0.0"}}}""");
        Check(Request() with { Environment = [new("DOTNET_ROLL_FORWARD", "Major")] });

        var e = Assert.Throws<NixImageException>(() => Check(Request() with { Environment = [new("DOTNET_ROLL_FORWARD", "LatestMinor")] }));
        Assert.Contains("roll-forward policy LatestMinor (DOTNET_ROLL_FORWARD in the image's environment)", e.Message, StringComparison.Ordinal);
        Assert.Contains("Set the ContainerEnvironmentVariable DOTNET_ROLL_FORWARD to Major", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SymlinkedVersionFoldersCountAndStrayFilesDoNot()
    {
        var frameworks = Path.Combine(_unwrapped, "share/dotnet/shared/Microsoft.NETCore.App");
        var elsewhere = _temp.CreateDirectory("store/cccccccccccccccccccccccccccccccc-fx/10.0.20");
        File.CreateSymbolicLink(Path.Combine(frameworks, "10.0.20"), elsewhere);
        File.WriteAllText(Path.Combine(frameworks, "10.0.30"), "a file, not a framework");
        RuntimeConfig("""{"runtimeOptions":{"framework":{"name":"Microsoft.NETCore.App","version":"10.0.0"}}}""");
        Check(Request());
        Assert.Contains(_log.Lines, l => l.Contains("resolves to 10.0.20", StringComparison.Ordinal));
    }

    [Fact]
    public void SelfContainedAppsAndAppsWithoutRuntimeconfigAreNotChecked()
    {
        Check(Request());
        RuntimeConfig("""{"runtimeOptions":{"includedFrameworks":[{"name":"Microsoft.NETCore.App","version":"11.0.0"}]}}""");
        Check(Request() with { DotnetRuntimePackage = null });
        Assert.Contains(_log.Lines, l => l.Contains("a self-contained app", StringComparison.Ordinal));
    }

    [Fact]
    public void WithoutANixRuntimeTheCheckIsSkippedAndSaid()
    {
        RuntimeConfig("""{"runtimeOptions":{"framework":{"name":"Microsoft.NETCore.App","version":"11.0.0"}}}""");
        Check(Request() with { DotnetRuntimePackage = null });
        Assert.Contains(_log.Lines, l => l == "Nixery.Build: the app needs Microsoft.NETCore.App 11.0.0, and NixDotnetRuntimePackage is none; whether a runtime in the image can start it is not checked.");
    }

    [Fact]
    public void OnABaseImageWithoutANixRuntimeTheCheckIsSkippedAndSaid()
    {
        RuntimeConfig("""{"runtimeOptions":{"framework":{"name":"Microsoft.NETCore.App","version":"11.0.0"}}}""");
        Check(Request() with { DotnetRuntimePackage = null }, Base());
        Assert.Contains(_log.Lines, l => l == "Nixery.Build: the app needs Microsoft.NETCore.App 11.0.0, which the base image 'registry.test/dotnet/runtime:11.0' is to provide (NixDotnetRuntimePackage is none); whether it can start on that runtime is not checked.");
    }

    [Fact]
    public void TheBaseImagesDotnetRollForwardCountsUnlessTheProjectsOverridesIt()
    {
        RuntimeConfig("""{"runtimeOptions":{"framework":{"name":"Microsoft.NETCore.App","version":"9.0.0"}}}""");
        Check(Request(), Base("DOTNET_ROLL_FORWARD=Major"));
        Assert.Contains(_log.Lines, l => l.Contains("9.0.0 (Major, DOTNET_ROLL_FORWARD in the image's environment) resolves to 10.0.12", StringComparison.Ordinal));

        var e = Assert.Throws<NixImageException>(() => Check(Request() with { Environment = [new("DOTNET_ROLL_FORWARD", "Minor")] }, Base("DOTNET_ROLL_FORWARD=Major")));
        Assert.Equal(ErrorCodes.RuntimeFrameworkMissing, e.Code);
    }

    private static BaseImage Base(params string[] env)
    {
        var digest = Digest.Parse("sha256:" + new string('0', 64));
        return new BaseImage("registry.test/dotnet/runtime:11.0", digest, digest, new BaseImageConfig { Os = "linux", Architecture = "amd64", DiffIds = [], Env = env }, []);
    }

    private void RuntimeConfig(string json) => File.WriteAllText(_temp.Combine("publish/App.runtimeconfig.json"), json);

    private void Check(ImageRequest request, BaseImage? baseImage = null)
    {
        var closure = new RuntimeClosure(
            [new ResolvedPackage(Runtime, Runtime, _wrapper, "NixDotnetRuntimePackage")],
            new Dictionary<string, StorePathInfo>(StringComparer.Ordinal) { [_wrapper] = new(_wrapper, 1, [_wrapper, _unwrapped]) });
        RuntimeFrameworkCheck.Check(request, closure, DiskStore.Instance, _log, baseImage);
    }

    private ImageRequest Request() => ImageRequestFactory.Create(new ImageInputs
    {
        ProjectDirectory = _temp.Path,
        PublishDirectory = _temp.Combine("publish"),
        IntermediateDirectory = _temp.Combine("obj"),
        DefaultArchiveDirectory = _temp.Combine("out"),
        AssemblyName = "App",
        Packages = [],
        NixPkgsPath = _temp.CreateDirectory("pkgs"),
        NixSystem = "x86_64-linux",
        Repository = "demo/app",
        ArchiveOutputPath = _temp.Combine("out/app.tar"),
        AppCommand = ["/app/App"],
        CacheDirectory = _temp.Combine("cache"),
        HomeDirectory = _temp.Path,
    }) with
    { DotnetRuntimePackage = Runtime };
}
