namespace Nixery.Build.Tests.EndToEnd;

/// <summary>When Nix cannot give what was asked, the build says exactly what and writes no image.</summary>
[Collection(EndToEndTests.Name)]
public sealed class NixFailureTests
{
    private readonly PackageFeed _feed;

    public NixFailureTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public void MissingPackagesAreAllNamedInOneCodedErrorAndNoArchiveIsWritten()
    {
        using var project = SampleProject.Copy(_feed);
        project.AddToProject("""
            <ItemGroup>
              <NixPackage Include="doesnotexist" />
              <NixPackage Include="xorg.alsomissing" />
              <NixPackage Include="dotnetCorePackages" />
            </ItemGroup>
            """);

        var publish = project.Publish("-r", "linux-x64");

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG002", publish.Output, StringComparison.Ordinal);
        Assert.Contains("'doesnotexist' (NixPackage)", publish.Output, StringComparison.Ordinal);
        Assert.Contains("'xorg.alsomissing' (NixPackage)", publish.Output, StringComparison.Ordinal);
        Assert.Contains("not packages", publish.Output, StringComparison.Ordinal);
        Assert.Contains("'dotnetCorePackages' (NixPackage)", publish.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", publish.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(project.DefaultArchive()));
    }

    [Fact]
    public void CaseAndDigitFallbacksResolveAsNixeryDoes()
    {
        using var project = SampleProject.Copy(_feed);
        // 'bashinteractive' → bashInteractive (top-level camel case); 'shell' is the meta-package.
        project.AddToProject("""
            <ItemGroup>
              <NixPackage Include="bashinteractive" />
              <NixPackage Include="shell" />
            </ItemGroup>
            """);

        var publish = project.Publish("-r", "linux-x64");
        Assert.True(publish.ExitCode == 0, publish.Output);

        using var image = new ImageReader(project.DefaultArchive());
        var bash = image.Run(["/bin/bash", "-c", "echo $BASH_VERSION; sponge --help >/dev/null 2>&1; echo sponge=$?; /usr/bin/env true && echo env-ok"]);
        Assert.True(bash.ExitCode == 0, bash.Output);
        Assert.Contains("5.2", bash.Output, StringComparison.Ordinal);
        Assert.Contains("env-ok", bash.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(image.RootFileSystem, "bin", "nano")) || new FileInfo(Path.Combine(image.RootFileSystem, "bin", "nano")).LinkTarget is not null);
    }

    [Fact]
    public void PackageThatFailsToBuildSurfacesNixsMessage()
    {
        using var project = SampleProject.Copy(_feed);
        // A package set that is the offline set plus one package whose builder fails.
        var set = Path.Combine(project.Root, "broken-set");
        Directory.CreateDirectory(set);
        File.WriteAllText(Path.Combine(set, "default.nix"), $$"""
            { system ? builtins.currentSystem, ... }@args:
            let base = import {{SampleProject.PackageSet}} args;
            in base // {
              broken = derivation {
                name = "broken-1.0";
                inherit system;
                builder = "${base.busybox}/bin/sh";
                args = [ "-c" "echo 'boom: this package is broken on purpose' >&2; exit 3" ];
              };
            }
            """);
        project.AddToProject("""<ItemGroup><NixPackage Include="broken" /></ItemGroup>""");

        var publish = project.Publish("-r", "linux-x64", "-p:NixPkgsPath=" + set);

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG004", publish.Output, StringComparison.Ordinal);
        Assert.Contains("boom: this package is broken on purpose", publish.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(project.DefaultArchive()));
    }

    [Fact]
    public void EvaluationErrorOfThePackageSetIsPassedThrough()
    {
        using var project = SampleProject.Copy(_feed);
        var set = Path.Combine(project.Root, "bad-set.nix");
        File.WriteAllText(set, "{ system ? builtins.currentSystem, ... }: throw \"this package set refuses to evaluate\"\n");

        var publish = project.Publish("-r", "linux-x64", "-p:NixPkgsPath=" + set);

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG003", publish.Output, StringComparison.Ordinal);
        Assert.Contains("this package set refuses to evaluate", publish.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoPackageSourcesAtOnceAreRejectedBeforeNixRuns()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = project.Publish("-r", "linux-x64", "-p:NixPkgsChannel=nixos-24.05");

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG006", publish.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Nix: resolving", publish.Output, StringComparison.Ordinal);
    }
}
