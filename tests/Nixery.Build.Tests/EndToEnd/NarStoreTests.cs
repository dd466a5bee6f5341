using System.Security.Cryptography;
using Nixery.Build.BinaryCache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Image;
using Nixery.Build.LayerFormat;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// Layers from NARs equal layers from the store, path by path: every store path of the sample closure is dumped with
/// <c>nix-store --dump</c>, and the tar written from its NAR (<see cref="NarStore"/>) must be byte for byte the tar
/// written from the store on disk (<see cref="DiskStore"/>). So do the symlink layer of the top-level packages, the
/// store paths native files are linked to, DOTNET_ROOT, and the framework versions under it.
/// </summary>
public sealed class NarStoreTests : IDisposable
{
    private static readonly string[] Packages = ["jq", "dotnetCorePackages.runtime_10_0", "cacert", "bashInteractive", "coreutils", "glibc"];

    private readonly TempDirectory _temp = new("nar-store");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void EveryPathOfTheSampleClosureGivesTheSameTarFromItsNarAsFromTheStore()
    {
        var (roots, closure) = SampleClosure();
        var store = Dump(closure);
        Assert.True(closure.Count >= 8, string.Join(", ", closure));

        foreach (var path in closure)
        {
            Assert.Equal(TarDigest(StoreLayer.Entries([path], DiskStore.Instance)), TarDigest(StoreLayer.Entries([path], store)));
        }

        Assert.Equal(TarDigest(StoreLayer.Entries(closure, DiskStore.Instance)), TarDigest(StoreLayer.Entries(closure, store)));
        Assert.Equal(
            TarDigest(SymlinkLayer.Build(roots, UserDatabase.Entries(), DiskStore.Instance, NullBuildLog.Instance)),
            TarDigest(SymlinkLayer.Build(roots, UserDatabase.Entries(), store, NullBuildLog.Instance)));
        var runtime = new ResolvedPackage("dotnetCorePackages.runtime_10_0", "dotnetCorePackages.runtime_10_0", roots[1], "NixDotnetRuntimePackage");
        Assert.Equal(DotnetRoot.Find(runtime, DiskStore.Instance), DotnetRoot.Find(runtime, store));

        // The framework versions the runtime check chooses from, through the wrapper's share/dotnet link into the
        // unwrapped runtime's NAR: the same as on disk.
        var root = DotnetRoot.Find(runtime, store);
        var fromNars = RuntimeFrameworkCheck.Installed(store, root, "Microsoft.NETCore.App");
        Assert.Equal(RuntimeFrameworkCheck.Installed(DiskStore.Instance, root, "Microsoft.NETCore.App"), fromNars);
        Assert.Matches("^10\\.0\\.[0-9]+$", Assert.Single(fromNars));
    }

    [Fact]
    public void StatAndChildrenFollowSymlinksAsTheFileSystemDoes()
    {
        var (roots, closure) = SampleClosure();
        var store = Dump(closure);
        foreach (var root in roots)
        {
            foreach (var folder in new[] { root, root + "/bin", root + "/lib", root + "/share", root + "/etc/ssl/certs" })
            {
                Assert.Equal(DiskStore.Instance.Children(folder), store.Children(folder));
                Assert.Equal(DiskStore.Instance.IsFolder(folder), store.IsFolder(folder));
                foreach (var child in DiskStore.Instance.Children(folder))
                {
                    Assert.Equal(DiskStore.Instance.Stat(child.Path), store.Stat(child.Path));
                    Assert.Equal(DiskStore.Instance.Resolve(child.Path)?.Kind, store.Resolve(child.Path)?.Kind);
                }
            }
        }

        Assert.Null(store.Stat(roots[0] + "/no/such/file"));
        Assert.Null(store.Stat("/nix/store/00000000000000000000000000000000-not-in-the-closure"));
    }

    private static (IReadOnlyList<string> Roots, IReadOnlyList<string> Closure) SampleClosure()
    {
        var environment = new Dictionary<string, string?> { ["NIX_CONFIG"] = SampleProject.NixConfig };
        var build = Command.Run("nix-build", [SampleProject.PackageSet, .. Packages.SelectMany(p => new[] { "-A", p }), "--no-out-link"], environment: environment).EnsureSuccess();
        var roots = build.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var closure = Command.Run("nix-store", ["-qR", .. roots], environment: environment).EnsureSuccess()
            .StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Order(StringComparer.Ordinal).ToList();
        return (roots, closure);
    }

    /// <summary>Each path's NAR, as <c>nix-store --dump</c> writes it, behind a <see cref="NarStore"/>.</summary>
    private NarStore Dump(IReadOnlyList<string> closure)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in closure)
        {
            var file = _temp.Combine(Path.GetFileName(path) + ".nar");
            var dump = Command.Run("sh", ["-c", "nix-store --dump \"$1\" > \"$2\"", "sh", path, file]);
            Assert.True(dump.ExitCode == 0, dump.Output);
            files[path] = file;
        }

        return new NarStore(files);
    }

    private static string TarDigest(IEnumerable<LayerEntry> entries)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var sink = new HashSink(hash);
        using (var tar = new DeterministicTarWriter(sink, DateTimeOffset.FromUnixTimeSeconds(1)))
        {
            foreach (var entry in entries)
            {
                tar.Write(entry);
            }

            tar.Finish();
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>A stream that only hashes what is written to it.</summary>
    private sealed class HashSink(IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => hash.AppendData(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => hash.AppendData(buffer);

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
