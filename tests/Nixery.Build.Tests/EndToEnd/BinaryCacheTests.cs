using System.Text.Json;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// Builds without Nix: a publish with Nix writes nix-image.lock.json; a real binary cache is made from its closure by
/// real Nix (<c>nix copy --to file://…?compression=xz</c>, signed with a key from
/// <c>nix-store --generate-binary-cache-key</c>); a publish that cannot see Nix (not on PATH, /nix hidden by bwrap)
/// then builds from the lock and the cache, over HTTP, into an empty layer cache, and must give the same manifest
/// digest. Broken caches and a stale lock give their coded errors and write nothing.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class BinaryCacheTests
{
    private readonly PackageFeed _feed;

    public BinaryCacheTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public void WithoutNixTheLockAndABinaryCacheGiveTheSameImage()
    {
        using var project = SampleProject.Copy(_feed);
        var withNix = project.Publish("-r", "linux-x64");
        Assert.True(withNix.ExitCode == 0, withNix.Output);
        var nixDigest = Digest(project);
        var sboms = new[] { ".cdx.json", ".spdx.json" }.Select(e => Path.ChangeExtension(project.DefaultArchive(), e)).ToList();
        var nixSboms = sboms.Select(File.ReadAllBytes).ToList();
        var lockFile = Path.Combine(project.Directory, "nix-image.lock.json");
        var lockText = File.ReadAllText(lockFile);
        var closure = SignedBinaryCache.LockedPaths(lockFile);
        Assert.Contains(closure, p => p.Contains("-jq-", StringComparison.Ordinal));
        Assert.Contains("\"narHash\": \"sha256:", lockText, StringComparison.Ordinal);

        // Publishing again with Nix leaves the lock's bytes as they are.
        File.Delete(project.DefaultArchive());
        var again = project.Publish("-r", "linux-x64");
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Equal(lockText, File.ReadAllText(lockFile));

        var cache = SignedBinaryCache.Shared;
        cache.Fill(closure);
        using var server = new FileServer(cache.Folder);
        using var layers = new TempDirectory();
        project.CacheDirectory = layers.Path;
        project.Clean();

        var withoutNix = SignedBinaryCache.PublishWithoutNix(project, server.Url, cache.PublicKey);
        Assert.True(withoutNix.ExitCode == 0, withoutNix.Output);
        Assert.Contains("Nix: not run", withoutNix.Output, StringComparison.Ordinal);
        Assert.Contains("binary cache: fetched", withoutNix.Output, StringComparison.Ordinal);
        Assert.Equal(nixDigest, Digest(project));
        Assert.Contains(server.Requests, r => r.EndsWith(".nar.xz", StringComparison.Ordinal));

        // The same SBOMs, byte for byte: the lock carries what the documents say of each store path.
        Assert.Equal(nixSboms, sboms.Select(File.ReadAllBytes));

        using (var image = new ImageReader(project.DefaultArchive()))
        {
            var run = image.Run();
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("Hello from Nix! .NET 10.0", run.Output, StringComparison.Ordinal);
            Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
        }

        // Warm: the NARs are in the layer cache, so nothing is downloaded.
        var asked = server.Requests.Count;
        project.Clean();
        var warm = SignedBinaryCache.PublishWithoutNix(project, server.Url, cache.PublicKey);
        Assert.True(warm.ExitCode == 0, warm.Output);
        Assert.Contains("nothing to download", warm.Output, StringComparison.Ordinal);
        Assert.Equal(asked, server.Requests.Count);
        Assert.Equal(nixDigest, Digest(project));
    }

    [Fact]
    public async Task AspNetAppOnTheWrappedRuntimeGivesTheSameImageWithoutNix()
    {
        // nixpkgs' aspnetcore_10_0 is a wrapper: DOTNET_ROOT is its share/dotnet, a link into the unwrapped runtime,
        // whose host/ and Microsoft.NETCore.App are links into yet another store path. Read from NARs, the same.
        using var project = SampleProject.Copy(_feed, "HelloWeb");
        var archive = Path.Combine(project.Directory, "bin", "Release", "net10.0", "linux-x64", "image", "samples-hello-web.tar");
        var withNix = project.Publish("-r", "linux-x64");
        Assert.True(withNix.ExitCode == 0, withNix.Output);
        var nixDigest = Digest(project, archive);
        var closure = SignedBinaryCache.LockedPaths(Path.Combine(project.Directory, "nix-image.lock.json"));
        Assert.Contains(closure, p => p.Contains("-aspnetcore-runtime-wrapped-10.0.", StringComparison.Ordinal));
        Assert.Contains(closure, p => System.Text.RegularExpressions.Regex.IsMatch(p, "-aspnetcore-runtime-10\\.0\\.[0-9]+$"));

        var cache = SignedBinaryCache.Shared;
        cache.Fill(closure);
        using var server = new FileServer(cache.Folder);
        using var layers = new TempDirectory();
        project.CacheDirectory = layers.Path;
        project.Clean();
        var withoutNix = SignedBinaryCache.PublishWithoutNix(project, server.Url, cache.PublicKey);
        Assert.True(withoutNix.ExitCode == 0, withoutNix.Output);
        Assert.Contains("Nix: not run", withoutNix.Output, StringComparison.Ordinal);
        Assert.Equal(nixDigest, Digest(project, archive));

        using var image = new ImageReader(archive);
        var env = image.Config().GetProperty("config").GetProperty("Env").EnumerateArray().Select(e => e.GetString()!).ToList();
        var dotnetRoot = env.Single(e => e.StartsWith("DOTNET_ROOT=", StringComparison.Ordinal))["DOTNET_ROOT=".Length..];
        Assert.Matches("-aspnetcore-runtime-wrapped-10\\.0\\.[0-9]+/share/dotnet$", dotnetRoot);
        Assert.Matches("^/nix/store/[a-z0-9]{32}-aspnetcore-runtime-10\\.0\\.[0-9]+/share/dotnet$", new FileInfo(image.RootFileSystem + dotnetRoot).LinkTarget);

        var port = Registry.FreePort.Next();
        using var app = image.Start(new Dictionary<string, string> { ["ASPNETCORE_HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string? hello = null;
        for (var attempt = 0; attempt < 100 && hello is null; attempt++)
        {
            try
            {
                hello = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/"));
            }
            catch (HttpRequestException)
            {
                await Task.Delay(200);
            }
        }

        Assert.True(hello is not null, "the app did not answer: " + app.Output);
        Assert.Contains("user app (1654)", hello, StringComparison.Ordinal);
    }

    [Fact]
    public void BrokenCachesAndAStaleLockGiveCodedErrorsAndWriteNothing()
    {
        using var project = SampleProject.Copy(_feed);
        var withNix = project.Publish("-r", "linux-x64");
        Assert.True(withNix.ExitCode == 0, withNix.Output);
        var lockFile = Path.Combine(project.Directory, "nix-image.lock.json");
        var closure = SignedBinaryCache.LockedPaths(lockFile);
        var jq = closure.Single(p => p.Contains("-jq-", StringComparison.Ordinal));
        var glibc = closure.First(p => p.Contains("-glibc-", StringComparison.Ordinal));
        var cache = SignedBinaryCache.Shared;
        cache.Fill(closure);
        project.Clean();

        // A NAR replaced by another path's (valid xz, wrong bytes).
        using (var tampered = cache.CopyWith((folder, narinfo) => File.Copy(narinfo(glibc).NarFile, narinfo(jq).NarFile, overwrite: true)))
        {
            AssertFails(project, tampered.Path, cache.PublicKey, "NIXIMG051", jq);
        }

        // A narinfo signed by a key nobody trusts.
        // (Every path is untrusted; which one the error names depends on which download finished first.)
        AssertFails(project, cache.Folder, cache.OtherPublicKey, "NIXIMG050", "has no valid signature of a trusted key (signed by nixery-test-cache-1; trusted: nixery-other-cache-1)");

        // A path deleted from the cache.
        using (var deleted = cache.CopyWith((folder, narinfo) => File.Delete(narinfo(jq).File)))
        {
            AssertFails(project, deleted.Path, cache.PublicKey, "NIXIMG049", jq);
        }

        // A lock written for other packages.
        project.AddToProject("""<ItemGroup><NixPackage Include="hello" /></ItemGroup>""");
        AssertFails(project, cache.Folder, cache.PublicKey, "NIXIMG048", "hello");
    }

    [Fact]
    public void NixLockLocksEveryPlatformWithoutPublishing()
    {
        using var project = SampleProject.Copy(_feed);
        var lockFile = Path.Combine(project.Directory, "nix-image.lock.json");
        var result = project.Dotnet(["build", project.ProjectFile, "-t:NixLock", "-p:ContainerRuntimeIdentifiers=\"linux-x64;linux-arm64\""]);
        Assert.True(result.ExitCode == 0, result.Output);

        using var document = JsonDocument.Parse(File.ReadAllBytes(lockFile));
        var platforms = document.RootElement.GetProperty("platforms");
        Assert.Equal(["aarch64-linux", "x86_64-linux"], platforms.EnumerateObject().Select(p => p.Name));
        foreach (var platform in platforms.EnumerateObject())
        {
            Assert.Equal("path " + Path.GetRelativePath(project.Directory, SampleProject.PackageSet), platform.Value.GetProperty("source").GetString());
            Assert.Contains(platform.Value.GetProperty("packages").EnumerateArray(), p => p.GetProperty("name").GetString() == "jq");
            var jq = platform.Value.GetProperty("closure").EnumerateObject().Single(p => p.Name.EndsWith("-jq-1.6", StringComparison.Ordinal)).Value;
            Assert.Equal("jq", jq.GetProperty("name").GetString());
            Assert.Equal("1.6", jq.GetProperty("version").GetString());
            Assert.StartsWith("sha256:", jq.GetProperty("narHash").GetString(), StringComparison.Ordinal);
        }

        // Nothing was published, and a second run leaves the file as it was.
        Assert.False(Directory.Exists(Path.Combine(project.Directory, "bin", "Release", "net10.0", "linux-x64", "publish")));
        var bytes = File.ReadAllBytes(lockFile);
        var time = File.GetLastWriteTimeUtc(lockFile);
        Assert.True(project.Dotnet(["build", project.ProjectFile, "-t:NixLock", "-p:ContainerRuntimeIdentifiers=\"linux-x64;linux-arm64\""]).ExitCode == 0);
        Assert.Equal(bytes, File.ReadAllBytes(lockFile));
        Assert.Equal(time, File.GetLastWriteTimeUtc(lockFile));
    }

    /// <summary>A Nix-less publish from a file:// cache fails with <paramref name="code"/> naming <paramref name="subject"/>, and leaves no image and no NAR behind.</summary>
    private static void AssertFails(SampleProject project, string cacheFolder, string key, string code, string subject)
    {
        using var layers = new TempDirectory();
        project.CacheDirectory = layers.Path;
        var result = project.Publish(["-r", "linux-x64", "-p:NixMode=Lock", "-p:NixBinaryCaches=file://" + cacheFolder, "-p:NixTrustedPublicKeys=" + key], environment: null);
        Assert.True(result.ExitCode != 0, result.Output);
        Assert.Contains($"error {code}", result.Output, StringComparison.Ordinal);
        Assert.Contains(subject, result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(project.DefaultArchive()), $"{code}: an archive was written");
        var leftovers = Directory.Exists(Path.Combine(layers.Path, "blobs", "tmp")) ? Directory.GetFiles(Path.Combine(layers.Path, "blobs", "tmp")) : [];
        Assert.Empty(leftovers);
    }

    private static string Digest(SampleProject project, string? archive = null) =>
        JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(archive ?? project.DefaultArchive(), ".json"))).RootElement.GetProperty("manifestDigest").GetString()!;
}
