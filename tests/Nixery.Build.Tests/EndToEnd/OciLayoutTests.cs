using System.Text.Json;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// The OCI layout sink: NixImageOciLayoutPath names a folder that skopeo (<c>oci:DIR:TAG</c>) and umoci read in
/// place, whose entry point runs, and that a later publish updates by adding only the blobs it lacks.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class OciLayoutTests
{
    private readonly PackageFeed _feed;

    public OciLayoutTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public void PublishWritesALayoutThatSkopeoAndUmociReadAndALaterPublishAddsOnlyWhatChanged()
    {
        using var project = SampleProject.Copy(_feed);
        var layout = Path.Combine(project.Directory, "oci-layout");

        var first = project.Publish("-r", "linux-x64", $"-p:NixImageOciLayoutPath={layout}", "-getProperty:NixImageDigest");
        Assert.True(first.ExitCode == 0, first.Output);
        var firstDigest = first.StandardOutput.Trim().Split('\n')[^1].Trim();
        using (var image = ImageReader.FromLayout(layout, "latest"))
        {
            Assert.Equal(firstDigest, image.Inspect().GetProperty("Digest").GetString());
            var run = image.Run();
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("Hello from Nix!", run.Output, StringComparison.Ordinal);
        }

        // The archive is written as well (the layout is an extra sink), from the same image.
        using (var archive = new ImageReader(project.DefaultArchive()))
        {
            Assert.Equal(firstDigest, archive.Inspect().GetProperty("Digest").GetString());
        }

        var blobs = Path.Combine(layout, "blobs", "sha256");
        var times = Directory.GetFiles(blobs).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        File.AppendAllText(Path.Combine(project.Directory, "Program.cs"), "\nstatic partial class Changed { static int One() => 1; }\n");
        var second = project.Publish("-r", "linux-x64", $"-p:NixImageOciLayoutPath={layout}", "-getProperty:NixImageDigest");
        Assert.True(second.ExitCode == 0, second.Output);
        var secondDigest = second.StandardOutput.Trim().Split('\n')[^1].Trim();

        Assert.NotEqual(firstDigest, secondDigest);
        Assert.All(times, t => Assert.Equal(t.Value, File.GetLastWriteTimeUtc(t.Key)));
        var added = Directory.GetFiles(blobs).Except(times.Keys).Count();
        // The app layer, the config and the manifest; the two SBOMs and their artifact manifests (the empty config
        // they share was there).
        Assert.Equal(7, added);
        using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(layout, "index.json")));
        var entries = index.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        var latest = Assert.Single(entries, e => e.TryGetProperty("annotations", out var a) && a.TryGetProperty("org.opencontainers.image.ref.name", out _));
        Assert.Equal(secondDigest, latest.GetProperty("digest").GetString());

        // The SBOMs are listed as OCI 1.1 referrers of the new image only (the first image's went with it), and
        // umoci, which lists and unpacks by tag, sees only the tag.
        var referrers = entries.Where(e => !e.Equals(latest)).ToList();
        Assert.Equal(["application/spdx+json", "application/vnd.cyclonedx+json"], referrers.Select(e => e.GetProperty("artifactType").GetString()).Order(StringComparer.Ordinal));
        foreach (var referrer in referrers)
        {
            using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(blobs, referrer.GetProperty("digest").GetString()!["sha256:".Length..])));
            Assert.Equal(secondDigest, manifest.RootElement.GetProperty("subject").GetProperty("digest").GetString());
        }

        var listed = Command.Run("umoci", ["ls", "--layout", layout]);
        Assert.True(listed.ExitCode == 0, listed.Output);
        Assert.Equal("latest", listed.StandardOutput.Trim());
        using var updated = ImageReader.FromLayout(layout, "latest");
        Assert.Contains("Hello from Nix!", updated.Run().Output, StringComparison.Ordinal);
    }
}
