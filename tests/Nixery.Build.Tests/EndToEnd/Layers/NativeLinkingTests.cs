using Nixery.Build.Diagnostics;
using Nixery.Build.Elf;
using Nixery.Build.LayerFormat;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd.Layers;

/// <summary>
/// Which interpreter and RUNPATH each ELF file of a publish folder gets. A small closure, drawn:
/// <code>
///   app-host packages:  aaaa-glibc/lib     ld-linux-x86-64.so.2 libc.so.6 libm.so.6 ...
///                       bbbb-gcc-lib/lib   libstdc++.so.6 libgcc_s.so.1
///   rest of closure:    cccc-oniguruma/lib libonig.so.5
///                       dddd-jq/lib        libjq.so.1
/// </code>
/// The publish folders hold copies of Debian's jq (which needs libjq and libc) and libjq (which needs libonig and libc).
/// </summary>
public sealed class NativeLinkingTests : IDisposable
{
    private const string HostLib = "/usr/lib/x86_64-linux-gnu";
    private readonly TempDirectory _temp = new();
    private readonly RecordingLog _log = new();
    private readonly string _glibc;
    private readonly string _gccLib;
    private readonly string _oniguruma;
    private readonly string _jq;
    private readonly string _publish;

    public NativeLinkingTests()
    {
        _glibc = Package("aaaa-glibc", "ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0");
        _gccLib = Package("bbbb-gcc-lib", "libstdc++.so.6", "libgcc_s.so.1");
        _oniguruma = Package("cccc-oniguruma", "libonig.so.5");
        _jq = Package("dddd-jq", "libjq.so.1");
        _publish = _temp.CreateDirectory("publish");
    }

    public void Dispose() => _temp.Dispose();

    private string Package(string name, params string[] libraries)
    {
        var folder = _temp.CreateDirectory("store/" + name);
        foreach (var library in libraries)
        {
            _temp.CreateFile($"store/{name}/lib/{library}", "a library");
        }

        return folder;
    }

    private string Publish(string relative, string source)
    {
        var target = Path.Combine(_publish, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(source, target);
        return target;
    }

    private NativeLinking Linking(params string[] appHost) =>
        new(ElfFile.MachineX8664, "x64", AppHost(appHost), [_jq, _oniguruma, _gccLib, _glibc], DiskStore.Instance, _log);

    /// <summary>App-host packages resolved to these store paths (their library outputs).</summary>
    private static List<ResolvedPackage> AppHost(params string[] storePaths) =>
        storePaths.Select(p => new ResolvedPackage(RuntimeClosure.NameOf(p), RuntimeClosure.NameOf(p), p, PackageRequest.AppHostOrigin)).ToList();

    private static ElfFile Patched(string source, FilePatch patch, TempDirectory folder)
    {
        var target = folder.Combine(Guid.NewGuid().ToString("N"));
        var original = File.OpenRead(source); // through a symlink (libjq.so.1 is one), unlike FileInfo.Length
        using (var input = patch.Apply(original, original.Length))
        using (var output = File.Create(target))
        {
            input.CopyTo(output);
        }

        return ElfFile.TryRead(target)!;
    }

    [Fact]
    public void ExecutableGetsTheClosuresLoaderAndARunpathOfWhatItNeedsThenTheAppHostPackages()
    {
        var jq = Publish("jq", "/usr/bin/jq");

        var patches = Linking(_glibc, _gccLib).Plan(_publish, entrypoint: "jq");

        var elf = Patched(jq, patches["jq"], _temp);
        Assert.Equal(_glibc + "/lib/ld-linux-x86-64.so.2", elf.Interpreter);
        // jq needs libjq and libc: their folders, then the app-host folders not named yet.
        Assert.Equal([_jq + "/lib", _glibc + "/lib", _gccLib + "/lib"], elf.SearchPath);
        Assert.Empty(_log.Warnings);
    }

    [Fact]
    public void LibraryGetsNoInterpreterAndARunpathOfWhatItNeeds()
    {
        var libjq = Publish("libjq.so.1", $"{HostLib}/libjq.so.1");

        var patches = Linking(_glibc).Plan(_publish, entrypoint: null);

        var elf = Patched(libjq, patches["libjq.so.1"], _temp);
        Assert.Null(elf.Interpreter);
        // In the order of its DT_NEEDED entries (libm, libonig, libc).
        Assert.Equal([_glibc + "/lib", _oniguruma + "/lib"], elf.SearchPath);
    }

    [Fact]
    public void LibraryFoundThroughOriginIsNotLookedUpInTheStore()
    {
        // A native asset built with RUNPATH $ORIGIN, beside the library it needs (as some NuGet packages ship them).
        var libjq = Publish("libjq.so.1", $"{HostLib}/libjq.so.1");
        Command.Run("patchelf", ["--set-rpath", "$ORIGIN", libjq]).EnsureSuccess();
        Publish("libonig.so.5", $"{HostLib}/libonig.so.5");

        var patches = Linking(_glibc).Plan(_publish, entrypoint: null);

        var elf = Patched(libjq, patches["libjq.so.1"], _temp);
        Assert.Equal(["$ORIGIN", _glibc + "/lib"], elf.SearchPath);
    }

    [Fact]
    public void MissingLibraryIsOneWarningNamingItAndTheFile()
    {
        Publish("jq", "/usr/bin/jq");

        var patches = new NativeLinking(ElfFile.MachineX8664, "x64", AppHost(_glibc), [_glibc], DiskStore.Instance, _log).Plan(_publish, entrypoint: "jq");

        Assert.True(patches.ContainsKey("jq"));
        var (code, message) = Assert.Single(_log.Warnings);
        Assert.Equal(ErrorCodes.NativeLibraryMissing, code);
        Assert.Contains("libjq.so.1 (needed by jq)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void EntryPointWithoutALoaderInTheClosureIsAnErrorAnyOtherFileAWarning()
    {
        Publish("jq", "/usr/bin/jq");
        var linking = new NativeLinking(ElfFile.MachineX8664, "x64", AppHost(), [_jq, _oniguruma], DiskStore.Instance, _log);

        var error = Assert.Throws<NixImageException>(() => linking.Plan(_publish, entrypoint: "jq"));
        Assert.Equal(ErrorCodes.NativeFileNotLinked, error.Code);
        Assert.Contains("ld-linux-x86-64.so.2", error.Message, StringComparison.Ordinal);

        var patches = linking.Plan(_publish, entrypoint: "HelloNix");
        Assert.Empty(patches);
        Assert.Contains(_log.Warnings, w => w.Code == ErrorCodes.NativeFileNotLinked);
    }

    [Fact]
    public void FilesOfOtherPlatformsAndNonElfFilesAreLeftAlone()
    {
        Publish("runtimes/linux-x64/native/libonig.so.5", $"{HostLib}/libonig.so.5");
        Publish("runtimes/linux-musl-x64/native/libonig.so.5", $"{HostLib}/libonig.so.5");
        Publish("runtimes/linux-arm64/native/libonig.so.5", $"{HostLib}/libonig.so.5");
        Publish("runtimes/win-x64/native/libonig.so.5", $"{HostLib}/libonig.so.5");
        Publish("busybox", "/usr/bin/busybox");
        _temp.CreateFile("publish/app.dll", "MZ not an ELF file");

        var patches = Linking(_glibc).Plan(_publish, entrypoint: null);

        Assert.Equal(["runtimes/linux-x64/native/libonig.so.5"], patches.Keys);
        Assert.Empty(_log.Warnings);
    }

    [Fact]
    public void AlreadyLinkedFileNeedsNoPatch()
    {
        var jq = Publish("jq", "/usr/bin/jq");
        var first = Linking(_glibc, _gccLib).Plan(_publish, entrypoint: "jq");
        var linked = Patched(jq, first["jq"], _temp);
        File.Copy(linked.Path, jq, overwrite: true);

        var second = Linking(_glibc, _gccLib).Plan(_publish, entrypoint: "jq");

        Assert.Empty(second);
    }

    [Fact]
    public void AppHostPackageWhoseOutputHasNoLibFolderIsAWarningNamingIt()
    {
        // nixpkgs' openssl: the first output (bin) holds the tool only; a package set that gives it is not linked silently.
        var opensslBin = _temp.CreateDirectory("store/eeee-openssl-3.0.19-bin");
        _temp.CreateFile("store/eeee-openssl-3.0.19-bin/bin/openssl", "a tool");
        var jq = Publish("jq", "/usr/bin/jq");
        var appHost = new List<ResolvedPackage>
        {
            new("glibc", "glibc", _glibc, PackageRequest.AppHostOrigin),
            new("openssl", "openssl", opensslBin, PackageRequest.AppHostOrigin, "bin"),
        };

        var patches = new NativeLinking(ElfFile.MachineX8664, "x64", appHost, [_jq, _oniguruma, _glibc, opensslBin], DiskStore.Instance, _log).Plan(_publish, entrypoint: "jq");

        var (code, message) = Assert.Single(_log.Warnings);
        Assert.Equal(ErrorCodes.AppHostPackageWithoutLibraries, code);
        Assert.Contains("'openssl'", message, StringComparison.Ordinal);
        Assert.Contains(opensslBin, message, StringComparison.Ordinal);
        Assert.Contains("output 'bin'", message, StringComparison.Ordinal);
        Assert.Equal([_jq + "/lib", _glibc + "/lib"], Patched(jq, patches["jq"], _temp).SearchPath);
    }
}
