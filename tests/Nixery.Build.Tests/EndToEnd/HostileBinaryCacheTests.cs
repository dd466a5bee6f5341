using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Nixery.Build.Nix;
using Nixery.Build.Tests.BinaryCache;
using Nixery.Build.Tests.Support;
using Xunit.Abstractions;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// The bad-input matrix's hostile-source section for builds without Nix (issue 23): each row publishes for real with
/// NixMode=Lock from a lock file and a binary cache made here (file:// or HTTP on 127.0.0.1), its narinfos signed with
/// a key the build trusts, its unsigned fields (URL, FileSize, FileHash) and files hostile: host files, FIFOs,
/// devices, xz bombs, stalls, malformed NARs and lock files, a full layer cache. Every row must end in its coded error:
/// no NIXIMG099, no hang, no silent accept, no host file read (the host file is a FIFO whose other end notices an
/// open), and no temporary file larger than the NAR's size. Needs no Nix: the closure is made up here.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class HostileBinaryCacheTests
{
    private static readonly TimeSpan RowTimeout = TimeSpan.FromMinutes(3);
    private static readonly SigningKey Key = new("nixery-hostile-cache-1", RandomNumberGenerator.GetBytes(32));

    private readonly PackageFeed _feed;
    private readonly ITestOutputHelper _output;

    public HostileBinaryCacheTests(PackageFeed feed, ITestOutputHelper output)
    {
        _feed = feed;
        _output = output;
    }

    /// <summary>A hostile input: its cache (set up by <see cref="Arrange"/>), extra arguments, and the code that must come of it.</summary>
    private sealed record Row(string Input, string Code, Action<HostileCache> Arrange)
    {
        public string[] Arguments { get; init; } = [];

        /// <summary>Changes the lock file's text before the publish (the lock is otherwise the good one).</summary>
        public Func<string, string>? Lock { get; init; }

        public bool LockWithByteOrderMark { get; init; }

        /// <summary>Text that must not appear in the output (a password).</summary>
        public string? Secret { get; init; }

        /// <summary>NixBinaryCaches as the project file sets it (as a user keeps it out of the command line), instead of the test's cache.</summary>
        public string? CachesInProject { get; init; }

        public bool Http { get; init; }

        public bool FullLayerCache { get; init; }
    }

    private enum Outcome
    {
        CodedError,
        WrongCode,
        InternalError,
        Crash,
        Hang,
        SilentAccept,
        HostFileRead,
        SecretShown,
    }

    private static IEnumerable<Row> Rows()
    {
        // Unsigned narinfo fields that lead out of the cache folder, to the host file (a FIFO outside the cache).
        yield return new("URL: an absolute path to a host file", "NIXIMG050", c => c.EditNarInfo(HostileCache.Jq, "URL", c.HostFile));
        yield return new("URL: ../ steps to a host file", "NIXIMG050", c => c.EditNarInfo(HostileCache.Jq, "URL", "../" + Path.GetFileName(c.HostFile)));
        yield return new("URL: file:// URL of a host file", "NIXIMG050", c => c.EditNarInfo(HostileCache.Jq, "URL", "file://" + c.HostFile));
        yield return new("NAR that is a symlink to a host file", "NIXIMG050", c => c.ReplaceNar(HostileCache.Jq, nar => File.CreateSymbolicLink(nar, c.HostFile)));
        yield return new("narinfo that is a symlink to a host file", "NIXIMG050", c => c.ReplaceNarInfo(HostileCache.Jq, file => File.CreateSymbolicLink(file, c.HostFile)));
        yield return new("NAR that is a FIFO", "NIXIMG050", c => c.ReplaceNar(HostileCache.Jq, nar => Command.Run("mkfifo", [nar]).EnsureSuccess()));
        yield return new("narinfo that is a FIFO", "NIXIMG050", c => c.ReplaceNarInfo(HostileCache.Jq, file => Command.Run("mkfifo", [file]).EnsureSuccess()));
        yield return new("NAR that is a symlink to /dev/zero", "NIXIMG050", c => c.ReplaceNar(HostileCache.Jq, nar => File.CreateSymbolicLink(nar, "/dev/zero")));
        yield return new("NAR that is a folder", "NIXIMG050", c => c.ReplaceNar(HostileCache.Jq, nar => Directory.CreateDirectory(nar)));

        // Downloads past what was declared.
        yield return new("xz bomb: 512 MiB of zeros for a NAR of a few hundred bytes", "NIXIMG051", c => c.PublishBomb(HostileCache.Jq, 512L << 20));
        yield return new("FileSize smaller than the file", "NIXIMG051", c => c.EditNarInfo(HostileCache.Jq, "FileSize", "10"));
        yield return new("FileHash of other bytes", "NIXIMG051", c => c.EditNarInfo(HostileCache.Jq, "FileHash", "sha256:" + NixBase32.Encode(SHA256.HashData("other"u8))));
        yield return new("narinfo of 1 MiB", "NIXIMG049", c => c.AppendToNarInfo(HostileCache.Jq, "X-Padding: " + new string('x', 1 << 20) + "\n"));

        // NARs whose hash the lock names, but which are not NARs a file system can hold.
        foreach (var name in new[] { "..", ".", "a/b" })
        {
            yield return new($"NAR entry named '{name}' (locked by its hash)", "NIXIMG051", c => c.UseNar(HostileCache.Jq, NarWriter.Write(new NarDirectory(new NarEntry(name, new NarFile("x"))))));
        }

        // HTTP on 127.0.0.1.
        yield return new("HTTP URL: ../ out of the cache's path", "NIXIMG050", c => c.EditNarInfo(HostileCache.Jq, "URL", "../outside/x.nar")) { Http = true };
        yield return new("HTTP URL: another host", "NIXIMG050", c => c.EditNarInfo(HostileCache.Jq, "URL", "http://127.0.0.2:1/x.nar")) { Http = true };
        yield return new("HTTP cache that stalls after the headers of a NAR", "NIXIMG051", c => c.StallOn = ".nar") { Http = true, Arguments = ["-p:NixImageRegistryTimeout=3"] };
        yield return new("HTTP cache that stalls after the headers of a narinfo", "NIXIMG049", c => c.StallOn = ".narinfo") { Http = true, Arguments = ["-p:NixImageRegistryTimeout=3"] };

        // The layer cache the NARs go to.
        yield return new("layer cache full while a NAR downloads", "NIXIMG012", c => c.UseNar(HostileCache.Jq, NarWriter.Write(new NarFile(RandomNumberGenerator.GetBytes(3 << 20))))) { FullLayerCache = true };

        // Settings.
        yield return new("password in a NixBinaryCaches URL in the project, at -v:detailed", "NIXIMG052", _ => { })
        {
            CachesInProject = "https://builder:s3cr3tpw@127.0.0.1:1/nix",
            Arguments = ["-v:detailed"],
            Secret = "s3cr3tpw",
        };

        // The lock file.
        yield return new("lock file with a UTF-8 BOM (read; then a hostile URL)", "NIXIMG050", c => c.EditNarInfo(HostileCache.Jq, "URL", c.HostFile)) { LockWithByteOrderMark = true };
        yield return new("lock: narSize that is a string", "NIXIMG047", _ => { }) { Lock = l => l.Replace("\"narSize\": ", "\"narSize\": \"x", StringComparison.Ordinal).Replace(",\n        \"references\"", "\",\n        \"references\"", StringComparison.Ordinal) };
        yield return new("lock: negative narSize", "NIXIMG047", _ => { }) { Lock = l => l.Replace("\"narSize\": ", "\"narSize\": -", StringComparison.Ordinal) };
        yield return new("lock: narHash that is not a hash", "NIXIMG047", _ => { }) { Lock = l => l.Replace("\"narHash\": \"sha256:", "\"narHash\": \"sha1:", StringComparison.Ordinal) };
        yield return new("lock: closure entry that is not a store path", "NIXIMG047", _ => { }) { Lock = l => l.Replace("\"/nix/store/", "\"/nix/store/../../etc/", StringComparison.Ordinal) };
        yield return new("lock: packages that is an object", "NIXIMG047", _ => { }) { Lock = l => l.Replace("\"packages\": [", "\"packages\": {\"x\": [", StringComparison.Ordinal).Replace("],\n      \"closure\"", "]},\n      \"closure\"", StringComparison.Ordinal) };
        yield return new("lock: a reference that is not in the closure", "NIXIMG048", _ => { }) { Lock = l => l.Replace("\"references\": []", "\"references\": [\"/nix/store/00000000000000000000000000000000-missing\"]", StringComparison.Ordinal) };
        yield return new("lock: a package whose store path is not in the closure", "NIXIMG048", _ => { })
        {
            Lock = l => l.Replace($"\"storePath\": \"/nix/store/{HostileCache.Hash("cacert")}-cacert\"", $"\"storePath\": \"/nix/store/{HostileCache.Hash("other")}-cacert\"", StringComparison.Ordinal),
        };
    }

    [Fact]
    public void EveryHostileCacheOrLockIsACodedErrorNeverAHangAHostFileReadOrNiximg099()
    {
        using var project = SampleProject.Copy(_feed);
        var projectFile = File.ReadAllText(project.ProjectFile);
        var results = new List<(Row Row, Outcome Outcome, string Detail)>();
        long peakTemporary = 0;
        foreach (var row in Rows())
        {
            using var cache = new HostileCache(project);
            row.Arrange(cache);
            var lockText = cache.LockText();
            lockText = row.Lock?.Invoke(lockText) ?? lockText;
            File.WriteAllBytes(cache.LockFile, [.. row.LockWithByteOrderMark ? [0xEF, 0xBB, 0xBF] : Array.Empty<byte>(), .. Encoding.UTF8.GetBytes(lockText)]);
            using var server = row.Http ? new CacheServer(cache) : null;
            using var full = row.FullLayerCache ? cache.FillLayerCache() : null;
            using var watch = new TemporaryFileWatch(Path.Combine(cache.LayerCache, "blobs", "tmp"));
            File.WriteAllText(project.ProjectFile, row.CachesInProject is null ? projectFile : projectFile.Replace("</Project>", $"<PropertyGroup><NixBinaryCaches>{row.CachesInProject}</NixBinaryCaches></PropertyGroup>\n</Project>", StringComparison.Ordinal));
            var stopwatch = Stopwatch.StartNew();
            CommandResult? publish = null;
            try
            {
                publish = project.Dotnet(
                    [
                        "publish", project.ProjectFile, "-c", "Release", "-p:NixImage=true", "-r", "linux-x64", "-p:NixMode=Lock",
                        "-p:NixLockFile=" + cache.LockFile, "-p:NixImageCacheDirectory=" + cache.LayerCache,
                        "-p:NixTrustedPublicKeys=" + Key.PublicKeyText, .. HostileCache.PackageArguments, .. row.Arguments,
                        .. row.CachesInProject is null ? ["-p:NixBinaryCaches=" + (server?.Url ?? "file://" + cache.Folder)] : Array.Empty<string>(),
                    ],
                    binaryLog: false,
                    timeout: RowTimeout);
            }
            catch (TimeoutException)
            {
            }

            var (outcome, detail) = Classify(row, publish, cache.HostFileOpened);
            var temporary = watch.Stop();
            peakTemporary = Math.Max(peakTemporary, temporary);
            results.Add((row, outcome, detail));
            _output.WriteLine($"{outcome,-13} {row.Code} {row.Input} ({stopwatch.Elapsed.TotalSeconds:0.0} s, largest temporary file {temporary} bytes){(detail.Length > 0 ? ": " + detail : string.Empty)}");
        }

        File.WriteAllText(project.ProjectFile, projectFile);
        var counts = Enum.GetValues<Outcome>().ToDictionary(o => o, o => results.Count(r => r.Outcome == o));
        _output.WriteLine(
            $"{results.Count} inputs: {counts[Outcome.CodedError]} coded errors, {counts[Outcome.WrongCode]} with another code, {counts[Outcome.InternalError]} NIXIMG099, "
            + $"{counts[Outcome.Crash]} MSB4018, {counts[Outcome.Hang]} hangs, {counts[Outcome.SilentAccept]} silent accepts, {counts[Outcome.HostFileRead]} host files read, "
            + $"{counts[Outcome.SecretShown]} secrets shown; largest temporary file in the layer cache {peakTemporary} bytes");
        Assert.All(results, r => Assert.True(r.Outcome == Outcome.CodedError, $"{r.Row.Input}: {r.Outcome} {r.Detail}"));
        Assert.True(peakTemporary <= 4 << 20, $"a temporary file of {peakTemporary} bytes");
    }

    private static (Outcome Outcome, string Detail) Classify(Row row, CommandResult? publish, bool hostFileOpened)
    {
        if (publish is null)
        {
            return (Outcome.Hang, $"no end after {RowTimeout.TotalMinutes} minutes");
        }

        var output = publish.Output;
        if (hostFileOpened)
        {
            return (Outcome.HostFileRead, FirstLine(output, "error"));
        }

        if (row.Secret is not null && output.Contains(row.Secret, StringComparison.Ordinal))
        {
            return (Outcome.SecretShown, FirstLine(output, row.Secret));
        }

        if (output.Contains("MSB4018", StringComparison.Ordinal) || output.Contains("   at ", StringComparison.Ordinal))
        {
            return (Outcome.Crash, FirstLine(output, "error"));
        }

        if (output.Contains("error NIXIMG099", StringComparison.Ordinal))
        {
            return (Outcome.InternalError, FirstLine(output, "error NIXIMG099"));
        }

        if (publish.ExitCode == 0)
        {
            return (Outcome.SilentAccept, string.Empty);
        }

        return output.Contains($"error {row.Code}", StringComparison.Ordinal)
            ? (Outcome.CodedError, string.Empty)
            : (Outcome.WrongCode, FirstLine(output, "error"));
    }

    private static string FirstLine(string output, string containing) =>
        output.Split('\n').FirstOrDefault(l => l.Contains(containing, StringComparison.Ordinal))?.Trim() ?? string.Empty;

    /// <summary>
    /// A made-up closure of the sample project's packages (one small NAR each), its lock file, and a file:// binary
    /// cache of it signed with <see cref="Key"/>, in a folder of its own; beside the cache, a host file that is a FIFO
    /// whose writer notices whoever opens it.
    /// </summary>
    private sealed class HostileCache : IDisposable
    {
        // The sample's packages as the build asks for them, pinned so the lock matches: sorted by name, first origin wins.
        public static readonly string[] PackageArguments =
            ["-p:NixDefaultPackages=cacert", "-p:NixAppHostPackages=glibc", "-p:NixDotnetRuntimePackage=dotnetCorePackages.runtime_10_0"];

        private static readonly (string Name, string Origin)[] Packages =
            [("cacert", "NixDefaultPackages"), ("dotnetCorePackages.runtime_10_0", "NixDotnetRuntimePackage"), ("glibc", "NixAppHostPackages"), ("jq", "NixPackage")];

        private readonly TempDirectory _root = new("nixery-hostile-cache");
        private readonly SampleProject _project;
        private readonly Dictionary<string, byte[]> _nars = new(StringComparer.Ordinal);
        private readonly Task _hostFileWriter;
        private int _opened;

        public HostileCache(SampleProject project)
        {
            _project = project;
            Directory.CreateDirectory(Folder);
            foreach (var (name, _) in Packages)
            {
                var path = $"/nix/store/{Hash(name)}-{name}";
                UseNar(path, NarWriter.Write(name == Runtime ? RuntimeShaped() : new NarDirectory(new NarEntry("share", new NarDirectory(new NarEntry(name + ".txt", new NarFile(name + "\n")))))));
            }

            Command.Run("mkfifo", [HostFile]).EnsureSuccess();
            _hostFileWriter = Task.Run(() =>
            {
                using var writer = new FileStream(HostFile, FileMode.Open, FileAccess.Write);
                if (!Released)
                {
                    Interlocked.Exchange(ref _opened, 1);
                }
            });
        }

        public string Folder => _root.Combine("cache");

        public string HostFile => _root.Combine("host-file");

        public string LockFile => _root.Combine("nix-image.lock.json");

        public string LayerCache => _root.Combine("layer-cache");

        public static string Jq => $"/nix/store/{Hash("jq")}-jq";

        private const string Runtime = "dotnetCorePackages.runtime_10_0";

        public bool HostFileOpened => Volatile.Read(ref _opened) == 1;

        /// <summary>For HTTP rows: the file name ending on which the server stalls after the headers.</summary>
        public string? StallOn { get; set; }

        private bool Released { get; set; }

        public static string Hash(string name) =>
            new(SHA256.HashData(Encoding.UTF8.GetBytes(name)).Take(32).Select(b => "0123456789abcdfghijklmnpqrsvwxyz"[b % 32]).ToArray());

        /// <summary>
        /// A runtime as the image step checks it before any layer (host/fxr, a Microsoft.NETCore.App the app can roll
        /// forward to), so a hostile row meets the check it is about, not a runtime that could never start the app.
        /// </summary>
        private static NarDirectory RuntimeShaped()
        {
            static NarEntry Version(string name, string file) => new(name, new NarDirectory(new NarEntry("10.0.12", new NarDirectory(new NarEntry(file, new NarFile("x\n"))))));
            return new NarDirectory(new NarEntry("share", new NarDirectory(new NarEntry("dotnet", new NarDirectory(
                new NarEntry("host", new NarDirectory(Version("fxr", "libhostfxr.so"))),
                new NarEntry("shared", new NarDirectory(Version("Microsoft.NETCore.App", "Microsoft.NETCore.App.deps.json"))))))));
        }

        /// <summary>Makes <paramref name="nar"/> the path's NAR: in the cache, signed, and in the lock.</summary>
        public void UseNar(string storePath, byte[] nar)
        {
            _nars[storePath] = nar;
            var narDirectory = Path.Combine(Folder, "nar");
            Directory.CreateDirectory(narDirectory);
            var fileHash = SHA256.HashData(nar);
            var url = $"nar/{Convert.ToHexStringLower(fileHash)}.nar";
            File.WriteAllBytes(Path.Combine(Folder, url), nar);
            WriteNarInfo(storePath, url, "none", nar, fileHash, nar.Length);
        }

        /// <summary>An xz file of <paramref name="zeros"/> zero bytes as the path's NAR (the narinfo and lock keep its real NAR).</summary>
        public void PublishBomb(string storePath, long zeros)
        {
            var bomb = Path.Combine(Folder, "nar", "bomb.nar.xz");
            Command.Run("bash", ["-c", $"head -c {zeros} /dev/zero | xz -0 -T1 > '{bomb}'"]).EnsureSuccess();
            var bytes = File.ReadAllBytes(bomb);
            WriteNarInfo(storePath, "nar/bomb.nar.xz", "xz", _nars[storePath], SHA256.HashData(bytes), bytes.Length);
        }

        public void EditNarInfo(string storePath, string key, string value)
        {
            var file = NarInfoFile(storePath);
            File.WriteAllLines(file, File.ReadAllLines(file).Select(l => l.StartsWith(key + ": ", StringComparison.Ordinal) ? $"{key}: {value}" : l));
        }

        public void AppendToNarInfo(string storePath, string text) => File.AppendAllText(NarInfoFile(storePath), text);

        public void ReplaceNar(string storePath, Action<string> make)
        {
            var url = File.ReadAllLines(NarInfoFile(storePath)).Single(l => l.StartsWith("URL: ", StringComparison.Ordinal))["URL: ".Length..];
            var nar = Path.Combine(Folder, url);
            File.Delete(nar);
            make(nar);
        }

        public void ReplaceNarInfo(string storePath, Action<string> make)
        {
            var file = NarInfoFile(storePath);
            File.Delete(file);
            make(file);
        }

        /// <summary>The lock file of the made-up closure, as the product writes it.</summary>
        public string LockText()
        {
            var paths = _nars.ToDictionary(
                n => n.Key,
                n => new StorePathInfo(n.Key, n.Value.Length, [], NarHash.FromBytes(SHA256.HashData(n.Value))),
                StringComparer.Ordinal);
            var source = "path " + Path.GetRelativePath(Path.GetDirectoryName(LockFile)!, SampleProject.PackageSet).Replace('\\', '/');
            var packages = Packages.Select(p => new ResolvedPackage(p.Name, p.Name, $"/nix/store/{Hash(p.Name)}-{p.Name}", p.Origin)).ToList();
            var bytes = global::Nixery.Build.Nix.LockFile.Serialize(new Dictionary<string, LockedPlatform>(StringComparer.Ordinal) { ["x86_64-linux"] = new(source, packages, paths) });
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>A 1 MiB tmpfs over the layer cache, filled: the first NAR written there meets a full disk.</summary>
        public Undo FillLayerCache()
        {
            Directory.CreateDirectory(LayerCache);
            Command.Run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", LayerCache]).EnsureSuccess();
            Command.Run("dd", ["if=/dev/zero", $"of={Path.Combine(LayerCache, "filler")}", "bs=64k", "count=12"]).EnsureSuccess();
            return new Undo(() => Command.Run("umount", [LayerCache]).EnsureSuccess());
        }

        public void Dispose()
        {
            // Release the writer of the host file: open its other end ourselves (the writer is waiting, so this returns).
            Released = true;
            if (!_hostFileWriter.IsCompleted)
            {
                using var reader = new FileStream(HostFile, FileMode.Open, FileAccess.Read);
            }

            _hostFileWriter.Wait(TimeSpan.FromSeconds(10));
            _root.Dispose();
        }

        private string NarInfoFile(string storePath) => Path.Combine(Folder, Path.GetFileName(storePath)[..32] + ".narinfo");

        private void WriteNarInfo(string storePath, string url, string compression, byte[] nar, byte[] fileHash, long fileSize)
        {
            var narHash = NarHash.FromBytes(SHA256.HashData(nar)).ToString();
            var fingerprint = $"1;{storePath};{narHash};{nar.Length};";
            var text = new StringBuilder()
                .Append("StorePath: ").Append(storePath).Append('\n')
                .Append("URL: ").Append(url).Append('\n')
                .Append("Compression: ").Append(compression).Append('\n')
                .Append("FileHash: sha256:").Append(NixBase32.Encode(fileHash)).Append('\n')
                .Append("FileSize: ").Append(fileSize.ToString(CultureInfo.InvariantCulture)).Append('\n')
                .Append("NarHash: ").Append(narHash).Append('\n')
                .Append("NarSize: ").Append(nar.Length.ToString(CultureInfo.InvariantCulture)).Append('\n')
                .Append("References: \n")
                .Append("Sig: ").Append(Key.Name).Append(':').Append(Convert.ToBase64String(Key.Sign(Encoding.UTF8.GetBytes(fingerprint)))).Append('\n');
            File.WriteAllText(NarInfoFile(storePath), text.ToString());
        }
    }

    /// <summary>Serves a hostile cache's folder under /nix/ on 127.0.0.1 (its FIFOs and symlinks as the folder has them), stalling where the cache says.</summary>
    private sealed class CacheServer : LoopbackHttpServer
    {
        private readonly HostileCache _cache;
        private readonly CancellationTokenSource _stop = new();

        public CacheServer(HostileCache cache)
        {
            _cache = cache;
            Start();
        }

        public string Url => $"http://127.0.0.1:{Port}/nix";

        public new void Dispose()
        {
            _stop.Cancel();
            base.Dispose();
            _stop.Dispose();
        }

        protected override async Task AnswerAsync(HttpListenerContext context)
        {
            var path = Uri.UnescapeDataString(context.Request.Url!.AbsolutePath);
            try
            {
                var file = path.StartsWith("/nix/", StringComparison.Ordinal) ? Path.Combine(_cache.Folder, path["/nix/".Length..]) : null;
                if (file is null || !File.Exists(file) || !Path.GetFullPath(file).StartsWith(_cache.Folder + "/", StringComparison.Ordinal))
                {
                    context.Response.StatusCode = 404;
                    return;
                }

                var bytes = await File.ReadAllBytesAsync(file);
                if (_cache.StallOn is { } stallOn && path.EndsWith(stallOn, StringComparison.Ordinal))
                {
                    context.Response.ContentLength64 = 1 << 20;
                    await context.Response.OutputStream.WriteAsync(bytes.AsMemory(0, Math.Min(16, bytes.Length)));
                    await context.Response.OutputStream.FlushAsync();
                    try
                    {
                        await Task.Delay(Timeout.Infinite, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    context.Response.Abort();
                    return;
                }

                context.Response.ContentLength64 = bytes.Length;
                await context.Response.OutputStream.WriteAsync(bytes);
            }
            finally
            {
                context.Response.Close();
            }
        }
    }

    /// <summary>Polls a folder's files for the largest size any reaches, until stopped.</summary>
    private sealed class TemporaryFileWatch : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<long> _watch;

        public TemporaryFileWatch(string folder)
        {
            _watch = Task.Run(async () =>
            {
                long most = 0;
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        if (Directory.Exists(folder))
                        {
                            foreach (var file in new DirectoryInfo(folder).EnumerateFiles())
                            {
                                most = Math.Max(most, file.Length);
                            }
                        }
                    }
                    catch (IOException)
                    {
                        // A file went away while it was looked at.
                    }

                    await Task.Delay(5);
                }

                return most;
            });
        }

        public long Stop()
        {
            _stop.Cancel();
            return _watch.GetAwaiter().GetResult();
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
        }
    }

    internal sealed class Undo(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }
}
