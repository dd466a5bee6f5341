using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// A publish killed at any point (kill -9 of the whole process tree, as a CI runner's timeout does) leaves nothing
/// that the next publish takes for whole: it succeeds, reuses what is sound, and no temporary file outlives it.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class KillTests
{
    private const int Kills = 20;

    private readonly PackageFeed _feed;
    private readonly ITestOutputHelper _output;

    public KillTests(PackageFeed feed, ITestOutputHelper output)
    {
        _feed = feed;
        _output = output;
    }

    [Fact]
    public void PublishKilledAtRandomPointsLeavesNothingBehindAndTheNextPublishSucceeds()
    {
        using var project = SampleProject.Copy(_feed);
        var first = project.Publish("-r", "linux-x64");
        Assert.True(first.ExitCode == 0, first.Output);
        var seed = Environment.TickCount;
        _output.WriteLine($"random seed {seed}");
        var random = new Random(seed);
        string[] publish = ["publish", project.ProjectFile, "-c", "Release", "-p:NixImage=true", "-r", "linux-x64"];

        for (var kill = 0; kill < Kills; kill++)
        {
            // Every time something to build: a changed app (its layer, the config, the archive), and now and then the
            // biggest layer again (a cache without it), so kills land in layer writes, the archive and the cache too.
            File.AppendAllText(Path.Combine(project.Directory, "Program.cs"), $"\nstatic partial class Killed{kill} {{ }}\n");
            if (kill % 4 == 0)
            {
                ForgetBiggestLayer(project);
            }

            // A warm publish of this app takes 2-4 s on 2 cores: most kills land while it runs.
            var delay = TimeSpan.FromMilliseconds(random.Next(200, 3200));
            var stopwatch = Stopwatch.StartNew();
            using (var running = project.StartDotnet(publish))
            {
                while (!running.HasExited && stopwatch.Elapsed < delay)
                {
                    Thread.Sleep(20);
                }

                _output.WriteLine($"kill {kill + 1}: after {stopwatch.ElapsedMilliseconds} ms{(running.HasExited ? " (it had finished)" : string.Empty)}");
            }
        }

        // The next publish builds what the last kill interrupted, reusing what is sound.
        var next = project.Publish("-r", "linux-x64");
        Assert.True(next.ExitCode == 0, next.Output);
        var summary = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(project.DefaultArchive(), ".json"))).RootElement;
        Assert.True(summary.GetProperty("build").GetProperty("layersReused").GetInt32() > 0, "nothing was reused");
        using (var image = new ImageReader(project.DefaultArchive()))
        {
            Assert.Equal(summary.GetProperty("manifestDigest").GetString(), image.Inspect().GetProperty("Digest").GetString());
            var run = image.Run();
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
        }

        // Time passes: what the killed builds left is older than any live writer's file. A publish with nothing to
        // build removes it all the same.
        var roots = new[] { project.CacheDirectory, Path.Combine(project.Directory, "bin"), Path.Combine(project.Directory, "obj") };
        var left = Partials(roots);
        _output.WriteLine($"{left.Count} temporary file(s) left by the kills");
        foreach (var file in left)
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(-5));
        }

        var upToDate = project.Publish("-r", "linux-x64");
        Assert.True(upToDate.ExitCode == 0, upToDate.Output);
        Assert.Contains("is up to date", upToDate.Output, StringComparison.Ordinal);
        Assert.Empty(Partials(roots));
    }

    private static List<string> Partials(IEnumerable<string> roots) =>
        roots.Where(Directory.Exists)
            .SelectMany(r => Directory.EnumerateFiles(r, "*.partial", SearchOption.AllDirectories))
            .ToList();

    /// <summary>Removes the index entry of the cache's biggest layer, so the next build writes that blob again.</summary>
    private static void ForgetBiggestLayer(SampleProject project)
    {
        var layers = Path.Combine(project.CacheDirectory, "layers");
        if (!Directory.Exists(layers))
        {
            return;
        }

        var biggest = Directory.EnumerateFiles(layers, "*.json")
            .Select(f => (File: f, Size: TryReadSize(f)))
            .OrderByDescending(e => e.Size)
            .FirstOrDefault();
        if (biggest.File is not null)
        {
            File.Delete(biggest.File);
        }
    }

    private static long TryReadSize(string entry)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllText(entry)).RootElement.GetProperty("size").GetInt64();
        }
        catch (JsonException)
        {
            return 0;
        }
    }
}
