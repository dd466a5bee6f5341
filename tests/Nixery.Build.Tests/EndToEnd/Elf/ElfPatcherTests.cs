using Nixery.Build.Elf;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd.Elf;

/// <summary>
/// Patches real ELF files of this machine (Debian's jq and its libjq, the .NET SDK's apphost and runtime libraries),
/// then checks the result three ways: our reader, the standard tools (readelf, patchelf), and the loader running it.
/// </summary>
public class ElfPatcherTests
{
    private const string HostLib = "/usr/lib/x86_64-linux-gnu";
    private const string HostLoader = "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";

    private static string Patched(TempDirectory folder, string source, string? interpreter, IReadOnlyList<string> searchPath, string? name = null)
    {
        var elf = ElfFile.TryRead(source)!;
        var patch = ElfPatcher.Plan(elf, interpreter, searchPath);
        Assert.NotNull(patch);
        var target = folder.Combine(name ?? Path.GetFileName(source));
        using (var input = patch.Apply(File.OpenRead(source), elf.FileSize))
        using (var output = File.Create(target))
        {
            input.CopyTo(output);
        }

        File.SetUnixFileMode(target, File.GetUnixFileMode(source));
        return target;
    }

    [Fact]
    public void PatchedExecutableRunsWithItsNewInterpreterAndRunpath()
    {
        using var folder = new TempDirectory();
        var libs = folder.CreateDirectory("libs");
        File.Copy($"{HostLib}/libjq.so.1", Path.Combine(libs, "libjq.so.1"));
        File.Copy($"{HostLib}/libonig.so.5", Path.Combine(libs, "libonig.so.5"));
        var jq = Patched(folder, "/usr/bin/jq", HostLoader, [libs, "$ORIGIN/../lib"]);

        var run = Command.Run(jq, ["--version"], environment: new Dictionary<string, string?> { ["LD_DEBUG"] = "libs" });

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("jq-1.6", run.StandardOutput, StringComparison.Ordinal);
        // The loader found libjq through the new RUNPATH.
        Assert.Contains("(RUNPATH from file", run.StandardError, StringComparison.Ordinal);
        Assert.Contains($"calling init: {libs}/libjq.so.1", run.StandardError, StringComparison.Ordinal);

        var read = ElfFile.TryRead(jq)!;
        Assert.Equal(HostLoader, read.Interpreter);
        Assert.Equal([libs, "$ORIGIN/../lib"], read.SearchPath);
        Assert.Equal(ElfFile.TryRead("/usr/bin/jq")!.Needed, read.Needed);

        Assert.Equal(HostLoader, Command.Run("patchelf", ["--print-interpreter", jq]).EnsureSuccess().Output.Trim());
        Assert.Equal($"{libs}:$ORIGIN/../lib", Command.Run("patchelf", ["--print-rpath", jq]).EnsureSuccess().Output.Trim());
        var readelf = Command.Run("readelf", ["-lWd", jq]).EnsureSuccess();
        Assert.Contains($"[Requesting program interpreter: {HostLoader}]", readelf.Output, StringComparison.Ordinal);
        Assert.Contains($"Library runpath: [{libs}:$ORIGIN/../lib]", readelf.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Warning", readelf.Output, StringComparison.OrdinalIgnoreCase);
        // One PT_NOTE became the new PT_LOAD.
        var original = Command.Run("readelf", ["-lW", "/usr/bin/jq"]).EnsureSuccess().Output;
        Assert.Equal(Count(original, "LOAD") + 1, Count(readelf.Output, "LOAD"));
        Assert.Equal(Count(original, "NOTE") - 1, Count(readelf.Output, "NOTE"));
    }

    private static int Count(string readelf, string type) =>
        readelf.Split('\n').Count(l => l.TrimStart().StartsWith(type + " ", StringComparison.Ordinal));

    [Fact]
    public void PatchedSharedLibraryIsSearchedThroughItsRunpath()
    {
        using var folder = new TempDirectory();
        var libs = folder.CreateDirectory("libs");
        File.Copy($"{HostLib}/libonig.so.5", Path.Combine(libs, "libonig.so.5"));
        var libjq = Patched(folder, $"{HostLib}/libjq.so.1", interpreter: null, [libs]);

        var list = Command.Run(HostLoader, ["--list", libjq]);

        Assert.Equal(0, list.ExitCode);
        Assert.Contains($"libonig.so.5 => {libs}/libonig.so.5", list.Output, StringComparison.Ordinal);
        Assert.Null(ElfFile.TryRead(libjq)!.Interpreter);
        Assert.Equal(libs, Command.Run("patchelf", ["--print-rpath", libjq]).EnsureSuccess().Output.Trim());
    }

    [Fact]
    public void DotnetApphostAndRuntimeLibrariesArePatchable()
    {
        using var folder = new TempDirectory();
        var apphost = DotnetInstall.AppHost;
        var store = "/nix/store/00000000000000000000000000000000-glibc-2.40";
        var patchedHost = Patched(folder, apphost, $"{store}/lib/ld-linux-x86-64.so.2", [$"{store}/lib"]);
        Assert.Equal($"{store}/lib/ld-linux-x86-64.so.2", Command.Run("patchelf", ["--print-interpreter", patchedHost]).EnsureSuccess().Output.Trim());

        foreach (var library in new[] { "libcoreclr.so", "libSystem.Native.so", "libclrjit.so" })
        {
            var source = Path.Combine(DotnetInstall.SharedRuntime, library);
            var patched = Patched(folder, source, interpreter: null, [$"{store}/lib", "$ORIGIN"]);
            Assert.Equal($"{store}/lib:$ORIGIN", Command.Run("patchelf", ["--print-rpath", patched]).EnsureSuccess().Output.Trim());
            Assert.Equal(ElfFile.TryRead(source)!.Needed, ElfFile.TryRead(patched)!.Needed);
        }
    }

    [Fact]
    public void NothingToDoGivesNoPatch()
    {
        using var folder = new TempDirectory();
        var jq = Patched(folder, "/usr/bin/jq", HostLoader, [HostLib]);

        Assert.Null(ElfPatcher.Plan(ElfFile.TryRead(jq)!, HostLoader, [HostLib]));
    }

    [Fact]
    public void ExecutableWithoutANoteToReuseIsRefused()
    {
        // jq has one PT_NOTE... after a first patch it has none left, and an executable needs its PT_PHDR.
        using var folder = new TempDirectory();
        var once = Patched(folder, "/usr/bin/jq", HostLoader, [HostLib]);
        var notes = Command.Run("readelf", ["-lW", "/usr/bin/jq"]).EnsureSuccess().Output.Split('\n').Count(l => l.TrimStart().StartsWith("NOTE", StringComparison.Ordinal));
        var current = once;
        for (var i = 1; i < notes; i++)
        {
            current = Patched(folder, current, HostLoader, [HostLib, $"/again{i}"], name: $"jq{i}");
        }

        var error = Assert.Throws<ElfPatchException>(() => ElfPatcher.Plan(ElfFile.TryRead(current)!, HostLoader, ["/other"]));
        Assert.Contains("PT_NOTE", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SharedLibraryPatchedAgainTakesItsProgramHeaderTableEntryOnceTheNoteIsUsed()
    {
        // libSystem.Native.so (lld) has one PT_NOTE and a PT_PHDR, which a loader does not need in a library.
        using var folder = new TempDirectory();
        var source = Path.Combine(DotnetInstall.SharedRuntime, "libSystem.Native.so");
        var once = Patched(folder, source, interpreter: null, ["/first"], name: "once.so");
        var twice = Patched(folder, once, interpreter: null, ["/second"], name: "twice.so");

        Assert.Equal("/second", Command.Run("patchelf", ["--print-rpath", twice]).EnsureSuccess().Output.Trim());
        Assert.DoesNotContain(" PHDR ", Command.Run("readelf", ["-lW", twice]).EnsureSuccess().Output, StringComparison.Ordinal);
        var list = Command.Run(HostLoader, ["--list", twice]);
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Throws<ElfPatchException>(() => ElfPatcher.Plan(ElfFile.TryRead(twice)!, null, ["/third"]));
    }

    [Fact]
    public void NonElfAndStaticFilesAreRecognised()
    {
        using var folder = new TempDirectory();
        var text = folder.CreateFile("a.txt", "not an ELF file");

        Assert.Null(ElfFile.TryRead(text));
        Assert.False(ElfFile.HasElfMagic(text));
        var busybox = ElfFile.TryRead("/usr/bin/busybox")!;
        Assert.False(busybox.IsDynamic);
        Assert.Throws<ElfPatchException>(() => ElfPatcher.Plan(busybox, HostLoader, [HostLib]));
    }

    [Fact]
    public void TruncatedFileIsInvalidData()
    {
        using var folder = new TempDirectory();
        var truncated = folder.Combine("jq");
        File.WriteAllBytes(truncated, File.ReadAllBytes("/usr/bin/jq")[..200]);

        Assert.Throws<InvalidDataException>(() => ElfFile.TryRead(truncated));
    }
}
