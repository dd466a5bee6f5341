namespace Nixery.Build.Tests.EndToEnd;

/// <summary>Packages that Nix builds during a publish (not only substitutes) build as they would from a shell.</summary>
[Collection(EndToEndTests.Name)]
public sealed class NixBuildTests
{
    private readonly PackageFeed _feed;

    public NixBuildTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public void PackageWhoseBuildNeedsSigpipeBuildsAlthoughThePublishIgnoresIt()
    {
        // Every .NET process ignores SIGPIPE, so this publish starts with it ignored, as any publish does.
        var ignored = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        Assert.NotEqual(0UL, Convert.ToUInt64(ignored["SigIgn:".Length..].Trim(), 16) & (1UL << (13 - 1)));

        using var project = SampleProject.Copy(_feed);
        // A package never built before (a fresh name each run) whose builder ends only through SIGPIPE:
        // `yes` writes until `head` closes the pipe.
        var set = Path.Combine(project.Root, "sigpipe-set");
        Directory.CreateDirectory(set);
        var nonce = Guid.NewGuid().ToString("N")[..12];
        File.WriteAllText(Path.Combine(set, "default.nix"), $$"""
            { system ? builtins.currentSystem, ... }@args:
            let
              base = import {{SampleProject.PackageSet}} args;
              lib = import {{SampleProject.PackageSet}}/lib.nix { inherit system; };
            in base // {
              sigpipe-probe = lib.runCommand "sigpipe-probe-{{nonce}}" ''
                mkdir $out
                yes "needs SIGPIPE" | head -c 4096 > $out/probe.txt
              '';
            }
            """);
        project.AddToProject("""<ItemGroup><NixPackage Include="sigpipe-probe" /></ItemGroup>""");

        var publish = project.Dotnet(
            ["publish", project.ProjectFile, "-c", "Release", "-p:NixImage=true", "-r", "linux-x64", "-p:NixPkgsPath=" + set],
            timeout: TimeSpan.FromMinutes(4));

        Assert.True(publish.ExitCode == 0, publish.Output);
        using var image = new ImageReader(project.DefaultArchive());
        var probe = Directory.GetDirectories(Path.Combine(image.RootFileSystem, "nix", "store"), $"*-sigpipe-probe-{nonce}").Single();
        Assert.Equal(4096, new FileInfo(Path.Combine(probe, "probe.txt")).Length);
    }
}
