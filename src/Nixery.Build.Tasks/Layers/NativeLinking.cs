using Nixery.Build.Diagnostics;
using Nixery.Build.Elf;
using Nixery.Build.LayerFormat;
using Nixery.Build.Nix;

namespace Nixery.Build.Layers;

/// <summary>
/// Makes the app's own ELF files (the apphost, a self-contained runtime, native NuGet assets) start in an image
/// of Nix packages, as nixpkgs' autoPatchelf does for binaries built elsewhere. nixpkgs' loader searches no system
/// folder (no /lib, no ld.so.cache), so a file built for a regular distribution finds neither its loader
/// (<c>/lib64/ld-linux-x86-64.so.2</c>) nor its libraries there. Each such file gets, in the image only:
/// <list type="bullet">
/// <item>the loader of the same name from the closure as its interpreter (executables);</item>
/// <item>a DT_RUNPATH of its own <c>$ORIGIN</c> entries, the <c>lib</c> folder of every store path that provides one
/// of its DT_NEEDED libraries, and the <c>lib</c> folders of the app-host packages (NixAppHostPackages: glibc,
/// libstdc++, ICU, OpenSSL), which .NET opens with dlopen() by name.</item>
/// </list>
/// Nothing else changes: children the app starts (jq, bash) keep their own RUNPATHs and see no LD_LIBRARY_PATH.
/// Files for another architecture or libc (a portable app's <c>runtimes/linux-musl-x64</c>, <c>runtimes/win-x64</c>)
/// are left as they are: they are never loaded on this platform.
/// </summary>
public sealed class NativeLinking
{
    /// <summary>Loaded by coreclr only when present; it needs LTTng, which images rarely have and never need.</summary>
    private static readonly HashSet<string> OptionalFiles = new(StringComparer.Ordinal) { "libcoreclrtraceptprovider.so" };

    private readonly ushort _machine;
    private readonly string _runtimeArchitecture;
    private readonly IReadOnlyList<string> _appHostLibraryFolders;
    private readonly Dictionary<string, string> _libraryFolderOf;
    private readonly IBuildLog _log;

    /// <param name="machine">ELF e_machine of the image's platform.</param>
    /// <param name="runtimeArchitecture">The .NET architecture name (<c>x64</c>, <c>arm64</c>): which <c>runtimes/linux-*</c> folder is this platform's.</param>
    /// <param name="appHostPackages">The app-host packages, in order, each resolved to its library output: their <c>lib</c> folders are on every RUNPATH.</param>
    /// <param name="closure">Every store path of the image: where DT_NEEDED libraries and loaders are looked for.</param>
    public NativeLinking(ushort machine, string runtimeArchitecture, IReadOnlyList<ResolvedPackage> appHostPackages, IEnumerable<string> closure, IStoreView store, IBuildLog log)
    {
        _machine = machine;
        _runtimeArchitecture = runtimeArchitecture;
        _log = log;
        _appHostLibraryFolders = LibraryFolders(appHostPackages, store, log);

        // Which lib folder provides a file name: app-host packages first, then the closure in a fixed order.
        _libraryFolderOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var folders = _appHostLibraryFolders.Concat(closure.Order(StringComparer.Ordinal).Select(p => p + "/lib").Where(store.IsFolder));
        foreach (var folder in folders)
        {
            foreach (var entry in store.Children(folder))
            {
                _libraryFolderOf.TryAdd(entry.Name, folder);
            }
        }
    }

    /// <summary>
    /// The <c>lib</c> folders of the app-host packages. A package whose output has none links nothing: a coded warning
    /// names it, since the libraries .NET opens by name (libssl) would then be missing when the app first needs them.
    /// </summary>
    private static List<string> LibraryFolders(IReadOnlyList<ResolvedPackage> appHostPackages, IStoreView store, IBuildLog log)
    {
        var folders = new List<string>();
        foreach (var package in appHostPackages)
        {
            var folder = package.StorePath + "/lib";
            if (store.IsFolder(folder))
            {
                if (!folders.Contains(folder))
                {
                    folders.Add(folder);
                }

                continue;
            }

            log.Warning(
                ErrorCodes.AppHostPackageWithoutLibraries,
                $"The app-host package '{package.Name}' ({package.StorePath}, output '{package.OutputName}') has no lib folder, so the app's native files cannot link to it. "
                + $"Name the package or output that holds its libraries in NixAppHostPackages (such as '{package.AttributePath}.out' or '{package.AttributePath}.lib'), or remove it.");
        }

        return folders;
    }

    /// <summary>The ELF e_machine and .NET architecture of a Nix system, or null where files are not patched.</summary>
    public static (ushort Machine, string Architecture)? PlatformOf(string nixSystem) => nixSystem switch
    {
        "x86_64-linux" => (ElfFile.MachineX8664, "x64"),
        "aarch64-linux" => (ElfFile.MachineAArch64, "arm64"),
        _ => null,
    };

    /// <summary>
    /// The patches for the ELF files of <paramref name="publishDirectory"/>, by path relative to it ('/'-separated).
    /// </summary>
    /// <param name="entrypoint">The entry point's path relative to the publish folder, if it is one of its files: an
    /// entry point that cannot be made to start is an error, any other file a warning.</param>
    public IReadOnlyDictionary<string, FilePatch> Plan(string publishDirectory, string? entrypoint)
    {
        var patches = new SortedDictionary<string, FilePatch>(StringComparer.Ordinal);
        var missing = new List<string>();
        var root = Path.GetFullPath(publishDirectory);
        var files = Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);
        foreach (var relative in files)
        {
            var path = Path.Combine(root, relative);
            if (!FileKind.IsRegularFile(path) || !ElfFile.HasElfMagic(path) || !ForThisPlatform(relative))
            {
                continue;
            }

            ElfFile? elf;
            try
            {
                elf = ElfFile.TryRead(path);
            }
            catch (InvalidDataException e)
            {
                Fail(relative, entrypoint, $"it is not a well-formed ELF file ({e.Message})");
                continue;
            }

            if (elf is null || elf.Machine != _machine || !elf.IsDynamic || elf.Needed.Any(n => n.StartsWith("libc.musl-", StringComparison.Ordinal)))
            {
                _log.Detail($"native: {relative} is not a dynamic ELF file for this platform; left as it is");
                continue;
            }

            if (Link(elf, relative, entrypoint, missing) is { } patch)
            {
                patches[relative] = patch;
            }
        }

        if (missing.Count > 0)
        {
            _log.Warning(
                ErrorCodes.NativeLibraryMissing,
                $"No Nix package of the image provides {string.Join("; ", missing)}. Those files fail to load when the app uses them. "
                + "Add the Nix packages that provide these libraries as NixPackage items, or to NixAppHostPackages.");
        }

        if (patches.Count > 0)
        {
            _log.Info($"Native files linked to the store (interpreter and RUNPATH, in the image only): {patches.Count}");
            _log.Detail($"native: linked {string.Join(", ", patches.Keys)}");
        }

        return patches;
    }

    private FilePatch? Link(ElfFile elf, string relative, string? entrypoint, List<string> missing)
    {
        string? interpreter = null;
        if (elf.Interpreter is { } wanted)
        {
            var loader = wanted[(wanted.LastIndexOf('/') + 1)..];
            if (!_libraryFolderOf.TryGetValue(loader, out var folder))
            {
                Fail(relative, entrypoint, $"its loader {loader} (PT_INTERP {wanted}) is in no Nix package of the image; add glibc to NixAppHostPackages");
                return null;
            }

            interpreter = folder + "/" + loader;
        }

        var searchPath = elf.SearchPath.Where(d => d.StartsWith("$ORIGIN", StringComparison.Ordinal) || d.StartsWith("${ORIGIN}", StringComparison.Ordinal)).ToList();
        var unresolved = new List<string>();
        foreach (var needed in elf.Needed)
        {
            if (searchPath.Any(d => d.Contains("ORIGIN", StringComparison.Ordinal) && File.Exists(Path.Combine(Path.GetDirectoryName(elf.Path)!, ExpandOrigin(d), needed))))
            {
                continue;
            }

            if (_libraryFolderOf.TryGetValue(needed, out var folder))
            {
                if (!searchPath.Contains(folder))
                {
                    searchPath.Add(folder);
                }
            }
            else
            {
                unresolved.Add(needed);
            }
        }

        foreach (var folder in _appHostLibraryFolders.Where(f => !searchPath.Contains(f)))
        {
            searchPath.Add(folder);
        }

        if (unresolved.Count > 0)
        {
            var text = $"{string.Join(", ", unresolved)} (needed by {relative})";
            if (OptionalFiles.Contains(Path.GetFileName(relative)))
            {
                _log.Detail($"native: {text}; {Path.GetFileName(relative)} is optional and only loaded when its libraries are there");
            }
            else
            {
                missing.Add(text);
            }
        }

        try
        {
            return ElfPatcher.Plan(elf, interpreter, searchPath);
        }
        catch (ElfPatchException e)
        {
            Fail(relative, entrypoint, $"it cannot be patched: {e.Message}");
            return null;
        }
    }

    private static string ExpandOrigin(string entry) =>
        entry.Replace("${ORIGIN}", ".", StringComparison.Ordinal).Replace("$ORIGIN", ".", StringComparison.Ordinal);

    /// <summary>
    /// A file under <c>runtimes/&lt;rid&gt;/</c> belongs to that runtime: only <c>linux-&lt;arch&gt;</c> (and the
    /// portable <c>linux</c> and <c>unix</c>) are loaded on this platform.
    /// </summary>
    private bool ForThisPlatform(string relative)
    {
        var parts = relative.Split('/');
        var at = Array.IndexOf(parts, "runtimes");
        if (at < 0 || at + 2 >= parts.Length)
        {
            return true;
        }

        var rid = parts[at + 1];
        return rid == "linux-" + _runtimeArchitecture || rid is "linux" or "unix";
    }

    private void Fail(string relative, string? entrypoint, string reason)
    {
        var text = $"The app's native file {relative} cannot be made to start in the image: {reason}.";
        if (relative == entrypoint)
        {
            throw new NixImageException(ErrorCodes.NativeFileNotLinked, text + " It is the image's entry point.");
        }

        _log.Warning(ErrorCodes.NativeFileNotLinked, text + " The image is built without it being patched.");
    }
}
