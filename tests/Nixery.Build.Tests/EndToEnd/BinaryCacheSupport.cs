using System.Text.Json;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// A binary cache folder made by real Nix (<c>nix copy --to file://…?compression=xz</c>), signed by a key of its own
/// (<c>nix-store --generate-binary-cache-key</c>); another key that signed nothing. One per test run (<see cref="Shared"/>).
/// </summary>
public sealed class SignedBinaryCache : IDisposable
{
    private static readonly Lazy<SignedBinaryCache> SharedCache = new(() => new SignedBinaryCache());

    private readonly TempDirectory _work = new("nixery-binary-cache");
    private readonly HashSet<string> _copied = new(StringComparer.Ordinal);

    private SignedBinaryCache()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
        Nix("nix-store", "--generate-binary-cache-key", "nixery-test-cache-1", _work.Combine("secret"), _work.Combine("public"));
        Nix("nix-store", "--generate-binary-cache-key", "nixery-other-cache-1", _work.Combine("other-secret"), _work.Combine("other-public"));
        PublicKey = File.ReadAllText(_work.Combine("public")).Trim();
        OtherPublicKey = File.ReadAllText(_work.Combine("other-public")).Trim();
    }

    /// <summary>The cache of this test run, filled by whichever test needs a path first.</summary>
    public static SignedBinaryCache Shared => SharedCache.Value;

    public string Folder => _work.Combine("cache");

    public string PublicKey { get; }

    public string OtherPublicKey { get; }

    public void Dispose() => _work.Dispose();

    /// <summary>Copies the paths the cache lacks into it, xz-compressed and signed, as a CI job filling a cache would.</summary>
    public void Fill(IReadOnlyList<string> paths)
    {
        lock (_copied)
        {
            var missing = paths.Where(p => !_copied.Contains(p)).ToList();
            if (missing.Count == 0)
            {
                return;
            }

            Nix("nix", ["--extra-experimental-features", "nix-command", "copy", "--to", $"file://{Folder}?compression=xz&secret-key={_work.Combine("secret")}", .. missing]);
            _copied.UnionWith(missing);
        }
    }

    /// <summary>A copy of the cache (hard links, so changes must replace files, not edit them), changed by <paramref name="change"/>.</summary>
    public TempDirectory CopyWith(Action<string, Func<string, NarInfoFile>> change)
    {
        var copy = new TempDirectory("nixery-binary-cache-copy");
        Command.Run("cp", ["-al", Folder + "/.", copy.Path]).EnsureSuccess();
        change(copy.Path, storePath =>
        {
            var hash = Path.GetFileName(storePath).Split('-', 2)[0];
            var file = Path.Combine(copy.Path, hash + ".narinfo");
            var url = File.ReadAllLines(file).Single(l => l.StartsWith("URL: ", StringComparison.Ordinal))["URL: ".Length..];
            var nar = Path.Combine(copy.Path, url);
            // Break the hard link before anything writes to it.
            var bytes = File.ReadAllBytes(nar);
            File.Delete(nar);
            File.WriteAllBytes(nar, bytes);
            return new NarInfoFile(file, nar);
        });
        return copy;
    }

    /// <summary>The x86_64-linux closure a lock file names.</summary>
    public static List<string> LockedPaths(string lockFile)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(lockFile));
        return document.RootElement.GetProperty("platforms").GetProperty("x86_64-linux").GetProperty("closure").EnumerateObject().Select(p => p.Name).ToList();
    }

    /// <summary>
    /// A publish that cannot use Nix: a PATH without Nix's commands, and /nix hidden (bwrap mounts an empty folder
    /// over it), so not even the store can be read. NixMode is left at Auto; the lock and the cache at
    /// <paramref name="cacheUrl"/> are all the build has.
    /// </summary>
    public static CommandResult PublishWithoutNix(
        SampleProject project,
        string cacheUrl,
        string key,
        IEnumerable<string>? extraArguments = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        using var bin = new TempDirectory();
        foreach (var folder in Environment.GetEnvironmentVariable("PATH")!.Split(':').Where(Directory.Exists).Reverse())
        {
            foreach (var tool in Directory.EnumerateFiles(folder).Where(f => !Path.GetFileName(f).StartsWith("nix", StringComparison.Ordinal)))
            {
                var link = Path.Combine(bin.Path, Path.GetFileName(tool));
                File.Delete(link);
                File.CreateSymbolicLink(link, tool);
            }
        }

        var env = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>()) { ["PATH"] = bin.Path };
        return project.DotnetWrapped(
            ["bwrap", "--dev-bind", "/", "/", "--tmpfs", "/nix", "--"],
            ["publish", project.ProjectFile, "-c", "Release", "-p:NixImage=true", "-r", "linux-x64", "-p:NixBinaryCaches=" + cacheUrl, "-p:NixTrustedPublicKeys=" + key, .. extraArguments ?? []],
            env);
    }

    private static void Nix(string tool, params string[] arguments) =>
        Command.Run(tool, arguments, environment: new Dictionary<string, string?> { ["NIX_CONFIG"] = SampleProject.NixConfig }).EnsureSuccess();

    /// <summary>A narinfo file of the cache, and the NAR file it names.</summary>
    public sealed record NarInfoFile(string File, string NarFile);
}
