using System.Text.Json;
using Nixery.Build.Tests.EndToEnd.Registry;
using Nixery.Build.Tests.Support;
using Xunit.Abstractions;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// Base images the tests make themselves with umoci (a busybox root with a user and a file of its own, a label and a
/// variable) and push with skopeo to a real registry: <c>test/base:1</c> (linux/amd64) and <c>test/base:multi</c> (an
/// index of linux/amd64 and linux/arm64/v8, each with its own busybox).
/// </summary>
public sealed class BaseImageRegistry : IDisposable
{
    private readonly TempDirectory _work = new("nixery-base-image");

    public BaseImageRegistry()
    {
        var layout = _work.Combine("layout");
        Run("umoci", "init", "--layout", layout);
        Build(layout, "amd64", "/bin/busybox");
        Build(layout, "arm64", Path.Combine(RepositoryRoot.Path, "samples", "nixpkgs", ".arm64", "root", "usr", "bin", "busybox"));
        AddIndex(layout);
        // A base of its own content for zstd: pushing the amd64 one again with zstd would reuse its gzip blobs.
        Build(layout, "amd64", "/bin/busybox", tag: "zstd");
        Run("skopeo", "copy", "--quiet", $"oci:{layout}:amd64", $"docker://{Registry.Name}/test/base:1", "--dest-tls-verify=false");
        Run("skopeo", "copy", "--quiet", "--multi-arch", "all", $"oci:{layout}:multi", $"docker://{Registry.Name}/test/base:multi", "--dest-tls-verify=false");
        // The same amd64 base with zstd layers, as skopeo recompresses it.
        Run("skopeo", "copy", "--quiet", "--dest-compress-format", "zstd", $"oci:{layout}:zstd", $"docker://{Registry.Name}/test/base:zstd", "--dest-tls-verify=false");
        OnePlatform = Manifest("test/base:1");
        Multi = Manifest("test/base:multi");
        Zstd = Manifest("test/base:zstd");
    }

    public TestRegistry Registry { get; } = new();

    /// <summary>The single-platform base as the registry serves it: digest and raw manifest.</summary>
    public (string Digest, JsonElement Manifest) OnePlatform { get; }

    /// <summary>The amd64 base with zstd layers (skopeo <c>--dest-compress-format zstd</c>): digest and raw manifest.</summary>
    public (string Digest, JsonElement Manifest) Zstd { get; }

    /// <summary>The index: its digest, and the index itself.</summary>
    public (string Digest, JsonElement Manifest) Multi { get; }

    /// <summary>The digest of the first layer of the platform's image in the index.</summary>
    public string LayerOf(string architecture)
    {
        var entry = Multi.Manifest.GetProperty("manifests").EnumerateArray().Single(m => m.GetProperty("platform").GetProperty("architecture").GetString() == architecture);
        return Manifest("test/base@" + entry.GetProperty("digest").GetString()).Manifest.GetProperty("layers")[0].GetProperty("digest").GetString()!;
    }

    public void Dispose()
    {
        Registry.Dispose();
        _work.Dispose();
    }

    /// <summary>One platform's base: busybox as /bin/sh, cat and id, a user 'base' (1000), /etc/os-release, /tmp; user base, a label, a variable.</summary>
    private void Build(string layout, string architecture, string busybox, string? tag = null)
    {
        var name = tag ?? architecture;
        var bundle = _work.Combine("bundle-" + name);
        Run("umoci", "new", "--image", $"{layout}:{name}");
        Run("umoci", "unpack", "--image", $"{layout}:{name}", bundle);
        var root = Path.Combine(bundle, "rootfs");
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.Copy(busybox, Path.Combine(root, "bin", "busybox"));
        foreach (var applet in new[] { "sh", "cat", "id", "ls" })
        {
            File.CreateSymbolicLink(Path.Combine(root, "bin", applet), "busybox");
        }

        File.WriteAllText(Path.Combine(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nbase:x:1000:1000:base:/home/base:/bin/sh\n");
        File.WriteAllText(Path.Combine(root, "etc", "group"), "root:x:0:\nbase:x:1000:\n");
        File.WriteAllText(Path.Combine(root, "etc", "os-release"), $"NAME=\"Nixery.Build test base {architecture}{(tag is null ? string.Empty : " " + tag)}\"\n");
        Directory.CreateDirectory(Path.Combine(root, "tmp"));
        File.SetUnixFileMode(Path.Combine(root, "tmp"), (UnixFileMode)0b1_111_111_111);
        Run("umoci", "repack", "--image", $"{layout}:{name}", bundle);
        Run(
            "umoci", "config", "--image", $"{layout}:{name}", "--os", "linux", "--architecture", architecture,
            "--config.env", "BASE_VAR=from-base", "--config.label", "base.label=yes", "--config.user", "base", "--config.cmd", "/bin/sh");
    }

    /// <summary>An index of both platforms' manifests, named <c>multi</c> in the layout (umoci makes single images only).</summary>
    private static void AddIndex(string layout)
    {
        var indexPath = Path.Combine(layout, "index.json");
        var index = JsonDocument.Parse(File.ReadAllText(indexPath)).RootElement;
        var entries = index.GetProperty("manifests").EnumerateArray().ToList();
        string Entry(string name, string architecture, string? variant)
        {
            var m = entries.Single(e => e.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString() == name);
            var platform = variant is null ? $$"""{"architecture":"{{architecture}}","os":"linux"}""" : $$"""{"architecture":"{{architecture}}","os":"linux","variant":"{{variant}}"}""";
            return $$"""{"mediaType":"{{m.GetProperty("mediaType").GetString()}}","digest":"{{m.GetProperty("digest").GetString()}}","size":{{m.GetProperty("size").GetInt64()}},"platform":""" + platform + "}";
        }

        var inner = System.Text.Encoding.UTF8.GetBytes(
            $$"""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{Entry("amd64", "amd64", null)}},{{Entry("arm64", "arm64", "v8")}}]}""");
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(inner));
        File.WriteAllBytes(Path.Combine(layout, "blobs", "sha256", digest), inner);
        var manifests = string.Join(',', entries.Select(e => e.GetRawText()).Append(
            $$"""{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:{{digest}}","size":{{inner.Length}},"annotations":{"org.opencontainers.image.ref.name":"multi"}""" + "}"));
        File.WriteAllText(indexPath, $$"""{"schemaVersion":2,"manifests":[{{manifests}}]}""");
    }

    /// <summary>A manifest or index as the registry serves it (its bytes read with HTTP: a tool's output may end otherwise than they do).</summary>
    private (string Digest, JsonElement Manifest) Manifest(string reference)
    {
        var at = reference.IndexOfAny([':', '@']);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{Registry.Name}/v2/{reference[..at]}/manifests/{reference[(at + 1)..]}");
        foreach (var type in new[] { "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json" })
        {
            request.Headers.Accept.Add(new System.Net.Http.Headers.MediaTypeWithQualityHeaderValue(type));
        }

        using var response = http.Send(request);
        response.EnsureSuccessStatusCode();
        var raw = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
        var digest = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(raw));
        return (digest, JsonDocument.Parse(raw).RootElement.Clone());
    }

    private static void Run(string fileName, params string[] arguments) => Command.Run(fileName, arguments).EnsureSuccess();
}

/// <summary>
/// ContainerBaseImage, end to end: the sample published on a base the registry serves, pushed to the same registry
/// (the base's layers mounted, not uploaded), read back with skopeo and umoci, and run under bubblewrap as the base's
/// user with the base's files and the Nix packages both reachable; a warm publish that fetches no base blob; a base
/// pinned by digest; the arm64 image of a multi-platform base; and the coded errors.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class BaseImageTests : IClassFixture<BaseImageRegistry>
{
    private readonly PackageFeed _feed;
    private readonly BaseImageRegistry _bases;
    private readonly ITestOutputHelper _output;

    public BaseImageTests(PackageFeed feed, BaseImageRegistry bases, ITestOutputHelper output)
    {
        _feed = feed;
        _bases = bases;
        _output = output;
    }

    private TestRegistry Registry => _bases.Registry;

    [Fact]
    public void AppOnABaseByTagRunsWithTheBasesFilesAndNixPackagesAndThePushMountsTheBaseLayers()
    {
        using var project = SampleProject.Copy(_feed);
        var baseImage = $"{Registry.Name}/test/base:1";
        var mark = Registry.Mark();
        var publish = RegistryPush.Publish(project, Registry.Name, "hello/on-base", ["-p:ContainerBaseImage=" + baseImage, RegistryPush.NoSbom]);
        Assert.True(publish.ExitCode == 0, publish.Output);
        var log = Registry.AccessLogSince(mark);
        _output.WriteLine("Publish on a base, from the registry's access log:\n" + log.Summary());

        using var pulled = ImageReader.FromRegistry($"{Registry.Name}/hello/on-base:latest", "--src-tls-verify=false");
        var manifest = pulled.Manifest();
        var baseLayer = _bases.OnePlatform.Manifest.GetProperty("layers")[0].GetProperty("digest").GetString();
        Assert.Equal(baseLayer, manifest.GetProperty("layers")[0].GetProperty("digest").GetString());

        // The base's layer was mounted from its repository, never uploaded; ours were uploaded.
        Assert.Equal(1, log.Mounts());
        Assert.DoesNotContain(log, e => e.Method == "PUT" && e.Path.Contains(baseLayer!, StringComparison.Ordinal));
        Assert.Equal(manifest.GetProperty("layers").GetArrayLength() - 1 + 1, log.BlobUploads());

        var config = pulled.Config().GetProperty("config");
        var env = config.GetProperty("Env").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Contains("BASE_VAR=from-base", env);
        Assert.StartsWith("PATH=/nix/var/nix/profiles/nixery-build/bin:", env.Single(e => e.StartsWith("PATH=", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal("base", config.GetProperty("User").GetString());
        var labels = config.GetProperty("Labels");
        Assert.Equal("yes", labels.GetProperty("base.label").GetString());
        Assert.Equal(baseImage, labels.GetProperty("org.opencontainers.image.base.name").GetString());
        Assert.Equal(_bases.OnePlatform.Digest, labels.GetProperty("org.opencontainers.image.base.digest").GetString());
        Assert.False(config.TryGetProperty("Cmd", out _), "the app's entry point replaces the base's command");

        // The app runs as the base's user, with ICU, OpenSSL and jq from Nix; the base's busybox and files are there.
        var run = pulled.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Hello from Nix!", run.Output, StringComparison.Ordinal);
        Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
        Assert.Equal((1000, 1000), pulled.User);
        var shell = pulled.Run(["/bin/sh", "-c", "cat /etc/os-release; id -un; ls /bin/busybox; jq --version"]);
        Assert.True(shell.ExitCode == 0, shell.Output);
        Assert.Contains("Nixery.Build test base amd64", shell.Output, StringComparison.Ordinal);
        Assert.Contains("base\n", shell.Output, StringComparison.Ordinal);
        Assert.Contains("jq-1.6", shell.Output, StringComparison.Ordinal);
        var passwd = File.ReadAllText(Path.Combine(pulled.RootFileSystem, "etc", "passwd"));
        Assert.Equal("root:x:0:0:root:/root:/bin/sh\nbase:x:1000:1000:base:/home/base:/bin/sh\napp:x:1654:1654:app:/home/app:/bin/sh\n", passwd);

        // A warm publish asks the base's tag once and fetches none of its blobs.
        mark = Registry.Mark();
        publish = RegistryPush.Publish(project, Registry.Name, "hello/on-base", ["-p:ContainerBaseImage=" + baseImage, RegistryPush.NoSbom]);
        Assert.True(publish.ExitCode == 0, publish.Output);
        var warm = Registry.AccessLogSince(mark);
        _output.WriteLine("The same publish again:\n" + warm.Summary());
        Assert.DoesNotContain(warm, e => e.Method == "GET" && e.Path.Contains("/test/base/blobs/", StringComparison.Ordinal));
        Assert.Single(warm, e => e.Path.StartsWith("/v2/test/base/manifests/", StringComparison.Ordinal));
        Assert.Contains("is up to date", publish.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void ABasePinnedByDigestGoesIntoTheArchiveWithItsDigestInTheLabels()
    {
        using var project = SampleProject.Copy(_feed);
        var baseImage = $"{Registry.Name}/test/base@{_bases.OnePlatform.Digest}";

        var publish = project.Publish("-r", "linux-x64", "-p:ContainerBaseImage=" + baseImage);

        Assert.True(publish.ExitCode == 0, publish.Output);
        using var image = new ImageReader(project.DefaultArchive());
        var labels = image.Config().GetProperty("config").GetProperty("Labels");
        Assert.Equal(baseImage, labels.GetProperty("org.opencontainers.image.base.name").GetString());
        Assert.Equal(_bases.OnePlatform.Digest, labels.GetProperty("org.opencontainers.image.base.digest").GetString());
        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void AZstdBaseIsTakenAndItsLayersKeptAsTheyAre()
    {
        using var project = SampleProject.Copy(_feed);
        var baseLayer = _bases.Zstd.Manifest.GetProperty("layers")[0];
        Assert.Equal("application/vnd.oci.image.layer.v1.tar+zstd", baseLayer.GetProperty("mediaType").GetString());

        var publish = project.Publish("-r", "linux-x64", "-p:ContainerBaseImage=" + $"{Registry.Name}/test/base:zstd");

        Assert.True(publish.ExitCode == 0, publish.Output);
        using var image = new ImageReader(project.DefaultArchive());
        var layers = image.Manifest().GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(baseLayer.GetProperty("digest").GetString(), layers[0].GetProperty("digest").GetString());
        Assert.Equal("application/vnd.oci.image.layer.v1.tar+zstd", layers[0].GetProperty("mediaType").GetString());
        Assert.All(layers.Skip(1), l => Assert.Equal("application/vnd.oci.image.layer.v1.tar+gzip", l.GetProperty("mediaType").GetString()));

        // umoci 0.4.7 reads no zstd: run it from skopeo's gzip copy (same config, so the same diff IDs).
        using var work = new TempDirectory("nixery-zstd-base");
        Command.Run("skopeo", ["copy", "--quiet", "--dest-compress-format", "gzip", $"oci-archive:{project.DefaultArchive()}", $"oci:{work.Combine("gzip")}:image"]).EnsureSuccess();
        using var converted = ImageReader.FromLayout(work.Combine("gzip"), "image");
        var run = converted.Run(["/bin/sh", "-c", "cat /etc/os-release; /app/HelloNix"]);
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Nixery.Build test base amd64 zstd", run.Output, StringComparison.Ordinal);
        Assert.Contains("Hello from Nix!", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void AnArm64PublishOnAMultiPlatformBaseTakesItsArm64Image()
    {
        using var project = SampleProject.Copy(_feed);

        var publish = project.Publish("-r", "linux-arm64", "-p:ContainerBaseImage=" + $"{Registry.Name}/test/base:multi");

        Assert.True(publish.ExitCode == 0, publish.Output);
        using var image = new ImageReader(project.DefaultArchive("linux-arm64"), "arm64");
        Assert.Equal(_bases.LayerOf("arm64"), image.Manifest().GetProperty("layers")[0].GetProperty("digest").GetString());
        Assert.Equal(_bases.Multi.Digest, image.Config().GetProperty("config").GetProperty("Labels").GetProperty("org.opencontainers.image.base.digest").GetString());
        var run = image.Run(["/bin/sh", "-c", "cat /etc/os-release; /app/HelloNix"]);
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Nixery.Build test base arm64", run.Output, StringComparison.Ordinal);
        Assert.Contains("Arm64", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("test/absent:1", "-r linux-x64", "NIXIMG044")]
    [InlineData("test/base:1", "-r linux-arm64", "NIXIMG045")]
    public void ABaseThatIsNotThereOrNotForThePlatformIsACodedError(string reference, string rid, string code)
    {
        using var project = SampleProject.Copy(_feed);

        var publish = project.Publish([.. rid.Split(' '), $"-p:ContainerBaseImage={Registry.Name}/{reference}"], environment: null);

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains($"error {code}", publish.Output, StringComparison.Ordinal);
        Assert.Contains($"{Registry.Name}/{reference}", publish.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", publish.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(project.DefaultArchive(rid.Split(' ')[1])));
    }
}
