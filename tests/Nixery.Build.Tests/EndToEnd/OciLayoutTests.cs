using System.Text.Json;

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
        Assert.Equal(3, added); // the app layer, the config and the manifest
        using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(layout, "index.json")));
        var latest = Assert.Single(index.RootElement.GetProperty("manifests").EnumerateArray());
        Assert.Equal(secondDigest, latest.GetProperty("digest").GetString());
        using var updated = ImageReader.FromLayout(layout, "latest");
        Assert.Contains("Hello from Nix!", updated.Run().Output, StringComparison.Ordinal);
    }
}
