using System.Text.Json;
using Xunit.Abstractions;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>An anonymous registry over plain HTTP on 127.0.0.1, shared by the tests of one class.</summary>
public sealed class AnonymousRegistry : IDisposable
{
    public TestRegistry Registry { get; } = new();

    public void Dispose() => Registry.Dispose();
}

/// <summary>
/// Pushing to a registry on this machine: plain HTTP (allowed for loopback), every tag, the image intact as
/// skopeo copies it back and bwrap runs it; then what a second push sends, counted from the registry's own
/// access log: only what changed, a mount when another repository holds the blobs, nothing when the tag is in place.
/// These count the image's own blobs and manifests, so they publish without SBOMs (<see cref="RegistryPush.NoSbom"/>);
/// <c>SbomImageTests</c> counts what the SBOM referrers add.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class AnonymousRegistryTests : IClassFixture<AnonymousRegistry>
{
    private readonly PackageFeed _feed;
    private readonly TestRegistry _registry;
    private readonly ITestOutputHelper _output;

    public AnonymousRegistryTests(PackageFeed feed, AnonymousRegistry registry, ITestOutputHelper output)
    {
        _feed = feed;
        _registry = registry.Registry;
        _output = output;
    }

    [Fact]
    public void PushedImageRunsAndAOneLineChangeUploadsOnlyTheAppLayerTheConfigAndTheManifest()
    {
        using var project = SampleProject.Copy(_feed);
        var mark = _registry.Mark();
        var publish = RegistryPush.Publish(project, _registry.Name, "hello/anonymous", ["-p:ContainerImageTags=1.0%3Blatest", RegistryPush.NoSbom]);
        Assert.True(publish.ExitCode == 0, publish.Output);
        var first = _registry.AccessLogSince(mark);
        _output.WriteLine("First push, from the registry's access log:\n" + first.Summary());

        // Pushed instead of archived, as the SDK does; the registry holds the same image under both tags.
        var summaryPath = project.DefaultArchive("linux-x64").Replace("hellonix.tar", "hello-anonymous.json", StringComparison.Ordinal);
        var summary = JsonDocument.Parse(File.ReadAllText(summaryPath)).RootElement;
        Assert.False(File.Exists(Path.ChangeExtension(summaryPath, ".tar")));
        Assert.Equal(JsonValueKind.Null, summary.GetProperty("archive").ValueKind);
        var digest = summary.GetProperty("manifestDigest").GetString();
        var layers = summary.GetProperty("layers").GetArrayLength();
        Assert.Contains($"pushed {_registry.Name}/hello/anonymous:1.0@{digest}", publish.Output, StringComparison.Ordinal);
        Assert.Contains($"pushed {_registry.Name}/hello/anonymous:latest@{digest}", publish.Output, StringComparison.Ordinal);
        Assert.Equal(layers + 1, first.BlobUploads());
        Assert.Equal(2, first.ManifestPuts());
        Assert.True(first.Patches() >= 2, "the Nix runtime layer is larger than one PUT takes: it goes in PATCH chunks");
        Assert.True(first.FindLastIndex(e => e.Method == "PUT" && e.Path.Contains("/blobs/", StringComparison.Ordinal)) < first.FindIndex(e => e.Method == "PUT" && e.Path.Contains("/manifests/", StringComparison.Ordinal)), "manifests go last");

        using (var pulled = ImageReader.FromRegistry($"{_registry.Name}/hello/anonymous:1.0", "--src-tls-verify=false"))
        {
            Assert.Equal(digest, pulled.Inspect().GetProperty("Digest").GetString());
            var run = pulled.Run();
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("Hello from Nix!", run.Output, StringComparison.Ordinal);
            Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
        }

        // One line more in the app: only the app layer, the config and the manifests change.
        var program = Path.Combine(project.Directory, "Program.cs");
        var source = File.ReadAllText(program);
        File.WriteAllText(program, source.Replace("// A greeting", "Console.WriteLine(\"One more line.\");\n// A greeting", StringComparison.Ordinal));
        mark = _registry.Mark();
        publish = RegistryPush.Publish(project, _registry.Name, "hello/anonymous", ["-p:ContainerImageTags=1.0%3Blatest", RegistryPush.NoSbom]);
        Assert.True(publish.ExitCode == 0, publish.Output);
        var second = _registry.AccessLogSince(mark);
        _output.WriteLine("Push after a one-line change, from the registry's access log:\n" + second.Summary());

        Assert.Equal(2, second.BlobUploads());
        Assert.Equal(0, second.Patches());
        Assert.Equal(2, second.ManifestPuts());
        // The blobs the first push sent are not asked about again; only the two new ones are checked, and missing.
        Assert.Equal(2, second.Count(e => e.Method == "HEAD" && e.Path.Contains("/blobs/", StringComparison.Ordinal)));
        Assert.All(second.Where(e => e.Method == "HEAD" && e.Path.Contains("/blobs/", StringComparison.Ordinal)), e => Assert.Equal(404, e.Status));
        Assert.Contains($"{layers + 1 - 2} known from earlier pushes", publish.Output, StringComparison.Ordinal);

        using (var pulled = ImageReader.FromRegistry($"{_registry.Name}/hello/anonymous:latest", "--src-tls-verify=false"))
        {
            var run = pulled.Run();
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("One more line.", run.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void SamePushAgainOnlyChecksTheTagsAndASecondRepositoryMountsEveryBlob()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = RegistryPush.Publish(project, _registry.Name, "hello/first", ["-getProperty:NixImagePushedReferences", "-getProperty:NixImageDigest", RegistryPush.NoSbom]);
        Assert.True(publish.ExitCode == 0, publish.Output);
        var outputs = JsonDocument.Parse(publish.Output[publish.Output.IndexOf('{', StringComparison.Ordinal)..]).RootElement.GetProperty("Properties");
        Assert.Equal($"{_registry.Name}/hello/first:latest", outputs.GetProperty("NixImagePushedReferences").GetString());

        var mark = _registry.Mark();
        publish = RegistryPush.Publish(project, _registry.Name, "hello/first", [RegistryPush.NoSbom]);
        Assert.True(publish.ExitCode == 0, publish.Output);
        var again = _registry.AccessLogSince(mark);
        _output.WriteLine("The same push again:\n" + again.Summary());
        Assert.Contains("tag latest already points at", publish.Output, StringComparison.Ordinal);
        Assert.All(again, e => Assert.True(e.Method is "GET" or "HEAD", $"{e.Method} {e.Path}"));
        Assert.Single(again, e => e.Method == "HEAD" && e.Path.Contains("/manifests/latest", StringComparison.Ordinal));

        mark = _registry.Mark();
        publish = RegistryPush.Publish(project, _registry.Name, "hello/second", [RegistryPush.NoSbom]);
        Assert.True(publish.ExitCode == 0, publish.Output);
        var second = _registry.AccessLogSince(mark);
        _output.WriteLine("The same image to a second repository:\n" + second.Summary());
        using var pulled = ImageReader.FromRegistry($"{_registry.Name}/hello/second:latest", "--src-tls-verify=false");
        var blobs = pulled.Manifest().GetProperty("layers").GetArrayLength() + 1;
        Assert.Equal(blobs, second.Mounts());
        Assert.Equal(0, second.BlobUploads());
        Assert.Equal(0, second.Patches());
        Assert.Contains("mounted from hello/first", publish.Output, StringComparison.Ordinal);
        var run = pulled.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void WithContainerArchiveOutputPathTheArchiveIsWrittenAsWellAndAnImageTheCacheLostIsBuiltAgainBeforeItIsPushed()
    {
        using var project = SampleProject.Copy(_feed);
        var archive = Path.Combine(project.Root, "both", "image.tar");
        var publish = RegistryPush.Publish(project, _registry.Name, "hello/both", ["-p:ContainerArchiveOutputPath=" + archive, "-getProperty:NixImageDigest"]);
        Assert.True(publish.ExitCode == 0, publish.Output);
        var digest = publish.Output.Trim().Split('\n')[^1].Trim();
        Assert.StartsWith("sha256:", digest, StringComparison.Ordinal);
        using (var archived = new ImageReader(archive))
        using (var pushed = ImageReader.FromRegistry($"{_registry.Name}/hello/both:latest", "--src-tls-verify=false"))
        {
            Assert.Equal(digest, pushed.Inspect().GetProperty("Digest").GetString());
            Assert.Equal(pushed.Manifest().GetRawText(), archived.Manifest().GetRawText());
        }

        // Registry only: the image is the same, so nothing is sent but the tag checks. Then the cache is cleared:
        // the next publish (nothing changed) builds the image again from scratch instead of failing to push it.
        publish = RegistryPush.Publish(project, _registry.Name, "hello/both");
        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.Contains("tag latest already points at " + digest, publish.Output, StringComparison.Ordinal);
        Assert.Equal(0, project.Dotnet(["msbuild", project.ProjectFile, "-t:CleanNixImageCache"]).ExitCode);
        var mark = _registry.Mark();
        publish = RegistryPush.Publish(project, _registry.Name, "hello/both");
        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.Contains("the layer cache no longer holds the last image", publish.Output, StringComparison.Ordinal);
        Assert.Contains("tag latest already points at " + digest, publish.Output, StringComparison.Ordinal);
        Assert.All(_registry.AccessLogSince(mark), e => Assert.True(e.Method is "GET" or "HEAD", $"{e.Method} {e.Path}"));
    }

    [Fact]
    public async Task ABlobTheRegistryLostSinceAnEarlierPushIsFoundThroughTheRefusedManifestAndSentAgain()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = RegistryPush.Publish(project, _registry.Name, "hello/lost", [RegistryPush.NoSbom]);
        Assert.True(publish.ExitCode == 0, publish.Output);
        string lost;
        using (var pulled = ImageReader.FromRegistry($"{_registry.Name}/hello/lost:latest", "--src-tls-verify=false"))
        {
            lost = pulled.Manifest().GetProperty("layers")[0].GetProperty("digest").GetString()!;
        }

        using (var http = new HttpClient())
        {
            var delete = await http.DeleteAsync($"http://{_registry.Name}/v2/hello/lost/blobs/{lost}");
            Assert.Equal(System.Net.HttpStatusCode.Accepted, delete.StatusCode);
        }

        var program = Path.Combine(project.Directory, "Program.cs");
        File.WriteAllText(program, File.ReadAllText(program).Replace("// A greeting", "Console.WriteLine(\"After the loss.\");\n// A greeting", StringComparison.Ordinal));
        var mark = _registry.Mark();
        publish = RegistryPush.Publish(project, _registry.Name, "hello/lost", [RegistryPush.NoSbom]);
        Assert.True(publish.ExitCode == 0, publish.Output);
        var log = _registry.AccessLogSince(mark);
        _output.WriteLine("Push after the registry lost a blob:\n" + log.Summary());

        Assert.Contains("the registry refused the manifest", publish.Output, StringComparison.Ordinal);
        Assert.Contains(log, e => e.Method == "PUT" && e.Path.Contains("/manifests/", StringComparison.Ordinal) && e.Status == 400);
        Assert.Contains(log, e => e.Method == "HEAD" && e.Path.EndsWith("/blobs/" + lost, StringComparison.Ordinal) && e.Status == 404);
        Assert.Equal(3, log.BlobUploads());
        using var again = ImageReader.FromRegistry($"{_registry.Name}/hello/lost:latest", "--src-tls-verify=false");
        var run = again.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("After the loss.", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void RegistryNameWithASchemeIsRejectedBeforeAnythingIsBuilt()
    {
        using var project = SampleProject.Copy(_feed);
        var mark = _registry.Mark();
        var publish = RegistryPush.Publish(project, "https://" + _registry.Name, "hello/invalid");

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG030", publish.Output, StringComparison.Ordinal);
        Assert.Contains("Leave out the scheme", publish.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Nix: resolving", publish.Output, StringComparison.Ordinal);
        Assert.Empty(_registry.AccessLogSince(mark));
    }
}
