using System.Text.Json;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// After the first build the image step costs almost nothing beyond the app: Nix is not asked again while
/// nothing that decides the closure changed, cached layers are reused (and checked), and a publish with no
/// change at all does no image work.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class IncrementalTests
{
    private readonly PackageFeed _feed;

    public IncrementalTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public void CodeChangeRebuildsOnlyTheAppLayerWithoutRunningNix()
    {
        using var project = SampleProject.Copy(_feed);
        var first = Publish(project);
        Assert.True(first.Build.GetProperty("nixRun").GetBoolean());
        Assert.Equal(0, first.Build.GetProperty("layersReused").GetInt32());

        File.AppendAllText(Path.Combine(project.Directory, "Program.cs"), "\nstatic partial class Changed { static int One() => 1; }\n");
        var second = Publish(project);

        Assert.False(second.Build.GetProperty("nixRun").GetBoolean());
        Assert.Equal(1, second.Build.GetProperty("layersBuilt").GetInt32());
        Assert.Equal(second.LayerCount - 1, second.Build.GetProperty("layersReused").GetInt32());
        Assert.DoesNotContain("Nix: resolving", second.Output, StringComparison.Ordinal);
        Assert.Contains("reusing the runtime closure", second.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void WebAppPublishedTwiceInOneFolderGivesTheImageOfAPublishInACleanCopy()
    {
        // The Web SDK writes web.config (portable apps) into the publish folder after Publish: the image must see it
        // the first time too.
        using var twice = SampleProject.Copy(_feed, "HelloWeb");
        var digests = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            digests.Add(PublishDigest(twice));
        }

        using var clean = SampleProject.Copy(_feed, "HelloWeb");
        var cleanDigest = PublishDigest(clean);

        Assert.Matches("^sha256:[0-9a-f]{64}$", cleanDigest);
        Assert.Equal(cleanDigest, digests[0]);
        Assert.Equal(cleanDigest, digests[1]);
        var archive = Path.Combine(clean.Directory, "bin", "Release", "net10.0", "image", "samples-hello-web.tar");
        using (var image = new ImageReader(archive))
        {
            Assert.True(File.Exists(Path.Combine(image.RootFileSystem, "app", "web.config")));
        }

        // A file that appears in the publish folder with an old time still changes the image (MSBuild compares times only).
        var extra = Path.Combine(twice.Directory, "bin", "Release", "net10.0", "publish", "extra.txt");
        File.WriteAllText(extra, "added later, dated earlier");
        File.SetLastWriteTimeUtc(extra, new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var third = PublishDigest(twice);
        Assert.NotEqual(cleanDigest, third);
        using (var image = new ImageReader(Path.Combine(twice.Directory, "bin", "Release", "net10.0", "image", "samples-hello-web.tar")))
        {
            Assert.True(File.Exists(Path.Combine(image.RootFileSystem, "app", "extra.txt")));
        }
    }

    private static string PublishDigest(SampleProject project)
    {
        var publish = project.Publish("-getProperty:NixImageDigest");
        Assert.True(publish.ExitCode == 0, publish.Output);
        return publish.StandardOutput.Trim().Split('\n')[^1].Trim();
    }

    [Fact]
    public void PublishWithNoChangeDoesNoImageWorkAndSaysSoInOneLine()
    {
        using var project = SampleProject.Copy(_feed);
        var first = Publish(project);
        var summary = Path.ChangeExtension(project.DefaultArchive(), ".json");
        var archiveTime = File.GetLastWriteTimeUtc(project.DefaultArchive());

        var again = project.Publish("-r", "linux-x64", "-getProperty:NixImageDigest");
        Assert.True(again.ExitCode == 0, again.Output);

        Assert.Equal(archiveTime, File.GetLastWriteTimeUtc(project.DefaultArchive()));
        // The outputs are there even though the target was skipped (a single -getProperty prints the bare value).
        Assert.Equal(first.Digest, again.StandardOutput.Trim().Split('\n')[^1].Trim());

        var log = project.Publish("-r", "linux-x64");
        Assert.True(log.ExitCode == 0, log.Output);
        Assert.Single(log.Output.Split('\n'), l => l.Contains("is up to date (nothing that decides it changed)", StringComparison.Ordinal));
        Assert.DoesNotContain("Nix:", log.Output, StringComparison.Ordinal);
        Assert.Equal(archiveTime, File.GetLastWriteTimeUtc(project.DefaultArchive()));
        Assert.True(File.Exists(summary));
    }

    [Fact]
    public void PropertyGivenOnTheCommandLineRebuildsTheImageButNotTheLayers()
    {
        using var project = SampleProject.Copy(_feed);
        Publish(project);

        var retagged = Publish(project, "-p:ContainerImageTags=2.0");

        Assert.DoesNotContain("is up to date", retagged.Output, StringComparison.Ordinal);
        Assert.Equal(0, retagged.Build.GetProperty("layersBuilt").GetInt32());
        Assert.Equal(["2.0"], retagged.Summary.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public void DamagedCachedBlobIsRebuiltWithAWarningNeverShipped()
    {
        using var project = SampleProject.Copy(_feed);
        var first = Publish(project);

        // Flip bytes in the biggest Nix layer's blob, keeping its size: only the digest check can tell.
        var biggest = first.Summary.GetProperty("layers").EnumerateArray()
            .Where(l => l.GetProperty("holds").GetString()!.StartsWith("nix: ", StringComparison.Ordinal))
            .OrderByDescending(l => l.GetProperty("size").GetInt64()).First();
        var blob = Path.Combine(project.CacheDirectory, "blobs", "sha256", biggest.GetProperty("digest").GetString()!["sha256:".Length..]);
        using (var stream = new FileStream(blob, FileMode.Open, FileAccess.Write))
        {
            stream.Position = stream.Length / 2;
            stream.Write("damage"u8);
        }

        var second = Publish(project, "-p:ContainerImageTags=after-damage");

        Assert.Contains("warning NIXIMG025", second.Output, StringComparison.Ordinal);
        Assert.Equal(1, second.Build.GetProperty("layersRepaired").GetInt32());
        Assert.Equal(first.Summary.GetProperty("layers")[0].GetProperty("diffId").GetString(), second.Summary.GetProperty("layers")[0].GetProperty("diffId").GetString());
        using var image = new ImageReader(project.DefaultArchive());
        var copy = Command.Run("skopeo", ["copy", "--quiet", $"oci-archive:{project.DefaultArchive()}:after-damage", $"oci:{Path.Combine(project.Root, "verify")}:x"]);
        Assert.True(copy.ExitCode == 0, copy.Output);
        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
    }

    [Fact]
    public void BlobDamagedWithItsTimeKeptIsFoundWhileTheArchiveIsWrittenAndRebuilt()
    {
        using var project = SampleProject.Copy(_feed);
        var first = Publish(project);
        // A second build confirms every reused blob's digest: from then on a big blob is trusted by size and time.
        Publish(project, "-p:ContainerImageTags=confirmed");

        var biggest = first.Summary.GetProperty("layers").EnumerateArray()
            .Where(l => l.GetProperty("holds").GetString()!.StartsWith("nix: ", StringComparison.Ordinal))
            .OrderByDescending(l => l.GetProperty("size").GetInt64()).First();
        var blob = Path.Combine(project.CacheDirectory, "blobs", "sha256", biggest.GetProperty("digest").GetString()!["sha256:".Length..]);
        var time = File.GetLastWriteTimeUtc(blob);
        using (var stream = new FileStream(blob, FileMode.Open, FileAccess.Write))
        {
            stream.Position = stream.Length / 2;
            stream.Write(new byte[16]);
        }

        File.SetLastWriteTimeUtc(blob, time);
        File.AppendAllText(Path.Combine(project.Directory, "Program.cs"), "\nstatic partial class Changed { static int Two() => 2; }\n");

        var third = Publish(project, "-p:ContainerImageTags=after-damage");

        Assert.Contains("warning NIXIMG025", third.Output, StringComparison.Ordinal);
        Assert.Contains(biggest.GetProperty("digest").GetString()!, third.Output, StringComparison.Ordinal);
        Assert.Equal(first.Summary.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()).SkipLast(1), third.Summary.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()).SkipLast(1));
        var copy = Command.Run("skopeo", ["copy", "--quiet", $"oci-archive:{project.DefaultArchive()}:after-damage", $"oci:{Path.Combine(project.Root, "verify")}:x"]);
        Assert.True(copy.ExitCode == 0, copy.Output);
        using var image = new ImageReader(project.DefaultArchive());
        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(project.DefaultArchive())!, "*.partial"));
    }

    [Fact]
    public void TwoPublishesAtOnceShareOneCacheAndBothSucceed()
    {
        using var one = SampleProject.Copy(_feed);
        using var two = SampleProject.Copy(_feed);
        two.CacheDirectory = one.CacheDirectory;

        var results = new[] { one, two }.AsParallel().WithDegreeOfParallelism(2).Select(p => p.Publish("-r", "linux-x64")).ToList();

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Output));
        using var first = new ImageReader(one.DefaultArchive());
        using var second = new ImageReader(two.DefaultArchive());
        Assert.Equal(first.Inspect().GetProperty("Digest").GetString(), second.Inspect().GetProperty("Digest").GetString());
        Assert.Contains("jq says: jq-1.6", second.Run().Output, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(one.CacheDirectory, "*.partial", SearchOption.AllDirectories));
    }

    [Fact]
    public void CleanNixImageCacheEmptiesTheCacheAndTheNextBuildFillsItAgain()
    {
        using var project = SampleProject.Copy(_feed);
        Publish(project);
        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(project.CacheDirectory, "blobs", "sha256")));

        var clean = project.Dotnet(["msbuild", project.ProjectFile, "-t:CleanNixImageCache"]);
        Assert.True(clean.ExitCode == 0, clean.Output);
        Assert.False(Directory.Exists(Path.Combine(project.CacheDirectory, "blobs")));

        var rebuilt = Publish(project, "-p:ContainerImageTags=after-clean");
        Assert.Equal(0, rebuilt.Build.GetProperty("layersReused").GetInt32());
    }

    [Fact]
    public void CacheIsPrunedToItsMaximumSize()
    {
        using var project = SampleProject.Copy(_feed);
        var first = Publish(project);
        var imageBytes = first.Summary.GetProperty("layers").EnumerateArray().Sum(l => l.GetProperty("size").GetInt64());

        // Old blobs that no image uses any more: they go first, the image's own never.
        var blobs = Path.Combine(project.CacheDirectory, "blobs", "sha256");
        var stale = Path.Combine(blobs, new string('0', 64));
        File.WriteAllBytes(stale, new byte[4096]);
        File.SetLastAccessTimeUtc(stale, DateTime.UtcNow.AddDays(-30));

        var pruned = Publish(project, "-p:ContainerImageTags=pruned", $"-p:NixImageCacheMaxSize={imageBytes + 1024}");

        Assert.Contains("pruned", pruned.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(stale));
        Assert.All(pruned.Summary.GetProperty("layers").EnumerateArray(), l =>
            Assert.True(File.Exists(Path.Combine(blobs, l.GetProperty("digest").GetString()!["sha256:".Length..]))));
    }

    private sealed record Published(string Output, JsonElement Summary, JsonElement Build, string Digest, int LayerCount);

    private static Published Publish(SampleProject project, params string[] extra)
    {
        var publish = project.Publish(["-r", "linux-x64", .. extra], environment: null);
        Assert.True(publish.ExitCode == 0, publish.Output);
        var summary = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(project.DefaultArchive(), ".json"))).RootElement.Clone();
        return new Published(
            publish.Output,
            summary,
            summary.GetProperty("build"),
            summary.GetProperty("manifestDigest").GetString()!,
            summary.GetProperty("layers").GetArrayLength());
    }
}
