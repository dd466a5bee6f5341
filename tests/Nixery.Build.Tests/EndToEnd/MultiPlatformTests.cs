using System.Text.Json;
using Nixery.Build.Tests.EndToEnd.Registry;
using Nixery.Build.Tests.Support;
using Xunit.Abstractions;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// Images for linux-x64 and linux-arm64 from one publish (ContainerRuntimeIdentifiers), as one image index, in the
/// archive and in a real registry; the arm64 image on its own (-r linux-arm64). Every image runs: the arm64 ones
/// through QEMU's binfmt handler (scripts/install-prerequisites.sh registers it), as their non-root user.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class MultiPlatformTests
{
    private const string BothPlatforms = "-p:ContainerRuntimeIdentifiers=\"linux-x64;linux-arm64\"";

    private readonly PackageFeed _feed;
    private readonly ITestOutputHelper _output;

    public MultiPlatformTests(PackageFeed feed, ITestOutputHelper output)
    {
        _feed = feed;
        _output = output;
    }

    [Fact]
    public void TwoRuntimeIdentifiersGiveOneIndexInTheArchiveAndTheRegistryAndBothImagesRun()
    {
        using var registry = new TestRegistry();
        using var project = SampleProject.Copy(_feed);
        AddLibraryWithAPackage(project);
        var archive = Path.Combine(project.Root, "hello-multi.tar");
        var layout = Path.Combine(project.Root, "layout");
        string[] arguments = [BothPlatforms, $"-p:ContainerRegistry={registry.Name}", "-p:ContainerRepository=hello/multi", $"-p:ContainerArchiveOutputPath={archive}", $"-p:NixImageOciLayoutPath={layout}", RegistryPush.NoSbom];

        var publish = project.Publish(arguments, RegistryPush.IsolatedEnvironment(project));
        Assert.True(publish.ExitCode == 0, publish.Output);
        var pushed = registry.AccessLog();
        _output.WriteLine("Push of the index, from the registry's access log:\n" + pushed.Summary());

        // The archive holds an OCI index of the two platforms; the registry's tag names the same index.
        using var fromArchive = new ImageReader(archive);
        var index = fromArchive.Manifest();
        Assert.Equal("application/vnd.oci.image.index.v1+json", index.GetProperty("mediaType").GetString());
        var platforms = index.GetProperty("manifests").EnumerateArray().Select(m => m.GetProperty("platform")).ToList();
        Assert.Equal(["linux/amd64/", "linux/arm64/v8"], platforms.Select(p => $"{p.GetProperty("os").GetString()}/{p.GetProperty("architecture").GetString()}/{(p.TryGetProperty("variant", out var v) ? v.GetString() : string.Empty)}"));
        var raw = Command.Run("skopeo", ["inspect", "--raw", "--tls-verify=false", $"docker://{registry.Name}/hello/multi:latest"]).EnsureSuccess().Output;
        Assert.Equal(index.GetRawText(), JsonDocument.Parse(raw).RootElement.GetRawText());
        var fromLayout = Command.Run("skopeo", ["inspect", "--raw", $"oci:{layout}:latest"]).EnsureSuccess().Output;
        Assert.Equal(index.GetRawText(), JsonDocument.Parse(fromLayout).RootElement.GetRawText());
        Assert.Contains($"pushed {registry.Name}/hello/multi:latest@", publish.Output, StringComparison.Ordinal);

        // Every blob of both images was uploaded exactly once; the platform manifests went by digest, then the index.
        var manifests = index.GetProperty("manifests").EnumerateArray().Select(m => m.GetProperty("digest").GetString()!).ToList();
        var perImage = manifests.Select(d => BlobsOf(archive, d)).ToList();
        var content = perImage.SelectMany(b => b).Distinct().ToList();
        Assert.True(content.Count < perImage.Sum(b => b.Count), "the NuGet and project-reference layers are the same for both RIDs");
        var uploads = pushed.Where(e => e.Method == "PUT" && e.Path.Contains("/blobs/uploads/", StringComparison.Ordinal) && e.Path.Contains("digest=", StringComparison.Ordinal))
            .Select(e => Uri.UnescapeDataString(e.Path.Split("digest=")[1].Split('&')[0])).ToList();
        Assert.Equal(content.Order(), uploads.Order());
        Assert.Equal(3, pushed.ManifestPuts());

        // Both images run from the archive, each as its non-root user; the arm64 one runs arm64 code (.NET and jq).
        using (var amd64 = new ImageReader(archive, "amd64"))
        {
            Assert.Equal("amd64", amd64.Config().GetProperty("architecture").GetString());
            AssertRuns(amd64, "X64", withLibrary: true);
        }

        using (var arm64 = new ImageReader(archive, "arm64"))
        {
            var config = arm64.Config();
            Assert.Equal("arm64", config.GetProperty("architecture").GetString());
            Assert.Equal("v8", config.GetProperty("variant").GetString());
            AssertRuns(arm64, "Arm64", withLibrary: true);
        }

        // skopeo picks the arm64 image out of the registry's index, as a pull on an arm64 machine does.
        using (var pulled = ImageReader.FromRegistryFor("arm64", $"{registry.Name}/hello/multi:latest", "--src-tls-verify=false"))
        {
            Assert.Equal(manifests[1], pulled.Inspect().GetProperty("Digest").GetString());
            AssertRuns(pulled, "Arm64", withLibrary: true);
        }

        // One line more in the app: each platform's app layer and config, its manifest and the index; nothing else.
        var program = Path.Combine(project.Directory, "Program.cs");
        File.WriteAllText(program, File.ReadAllText(program).Replace("// A greeting", "Console.WriteLine(\"One more line.\");\n// A greeting", StringComparison.Ordinal));
        var mark = registry.Mark();
        var again = project.Publish(arguments, RegistryPush.IsolatedEnvironment(project));
        Assert.True(again.ExitCode == 0, again.Output);
        var second = registry.AccessLogSince(mark);
        _output.WriteLine("Push after a one-line change:\n" + second.Summary());
        Assert.Equal(4, second.BlobUploads());
        Assert.Equal(3, second.ManifestPuts());
        Assert.Contains("reused", again.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Nix: realising", again.Output, StringComparison.Ordinal);

        // Nothing changed: every platform's image and the index are up to date; the archive stays the file it was.
        var archiveTime = File.GetLastWriteTimeUtc(archive);
        mark = registry.Mark();
        var unchanged = project.Publish(arguments, RegistryPush.IsolatedEnvironment(project));
        Assert.True(unchanged.ExitCode == 0, unchanged.Output);
        Assert.Contains("image index sha256:", unchanged.Output, StringComparison.Ordinal);
        Assert.Contains("is up to date", unchanged.Output, StringComparison.Ordinal);
        Assert.Equal(archiveTime, File.GetLastWriteTimeUtc(archive));
        Assert.DoesNotContain(registry.AccessLogSince(mark), e => e.Method is "PUT" or "POST" or "PATCH");
    }

    [Fact]
    public void Arm64AloneGivesARunnableArm64Image()
    {
        using var project = SampleProject.Copy(_feed);

        var publish = project.Publish("-r", "linux-arm64");

        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.Contains("for aarch64-linux", publish.Output, StringComparison.Ordinal);
        using var image = new ImageReader(project.DefaultArchive("linux-arm64"));
        var manifest = image.Manifest();
        Assert.Equal("application/vnd.oci.image.manifest.v1+json", manifest.GetProperty("mediaType").GetString());
        var config = image.Config();
        Assert.Equal("arm64", config.GetProperty("architecture").GetString());
        Assert.Equal("v8", config.GetProperty("variant").GetString());
        AssertRuns(image, "Arm64");
    }

    [Fact]
    public void APlatformNixCannotBuildForIsACodedErrorAndWritesNoImage()
    {
        using var project = SampleProject.Copy(_feed);
        // A package no store holds yet, in a set that is otherwise the sample one; Nix is not allowed aarch64-linux builds.
        var packages = Path.Combine(project.Root, "pkgs");
        Directory.CreateDirectory(packages);
        File.WriteAllText(Path.Combine(packages, "default.nix"), $$"""
            { system ? builtins.currentSystem, ... }:
            import {{SampleProject.PackageSet}} { inherit system; } // {
              unbuilt = derivation {
                name = "unbuilt-{{Guid.NewGuid():N}}";
                inherit system;
                builder = "/bin/sh";
                args = [ "-c" "echo unbuilt > $out" ];
              };
            }
            """);
        project.AddToProject("""<ItemGroup><NixPackage Include="unbuilt" /></ItemGroup>""");

        var publish = project.Publish(["-r", "linux-arm64", $"-p:NixPkgsPath={packages}"], new Dictionary<string, string?> { ["NIX_CONFIG"] = "substituters =" });

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error NIXIMG040", publish.Output, StringComparison.Ordinal);
        Assert.Contains("cannot build for aarch64-linux", publish.Output, StringComparison.Ordinal);
        Assert.Contains("unbuilt", publish.Output, StringComparison.Ordinal);
        Assert.Contains("extra-platforms", publish.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("MSB4018", publish.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(project.DefaultArchive("linux-arm64")));
    }

    /// <summary>
    /// A project reference to a library with a NuGet package of its own, used by the app: each RID's publish must build
    /// it with its own assets file (not the RID's), and its layers are the same for every RID.
    /// </summary>
    private static void AddLibraryWithAPackage(SampleProject project)
    {
        var library = Path.Combine(project.Root, "Greeting");
        Directory.CreateDirectory(library);
        File.WriteAllText(Path.Combine(library, "Greeting.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
              <ItemGroup><PackageReference Include="Newtonsoft.Json" Version="13.0.3" /></ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(library, "Greeting.cs"), "namespace Greeting; public static class Words { public static string Json() => Newtonsoft.Json.JsonConvert.SerializeObject(new { from = \"library\" }); }\n");
        project.AddToProject("""<ItemGroup><ProjectReference Include="../Greeting/Greeting.csproj" /></ItemGroup>""");
        var program = Path.Combine(project.Directory, "Program.cs");
        File.WriteAllText(program, File.ReadAllText(program).Replace("// A greeting", "Console.WriteLine(Greeting.Words.Json());\n// A greeting", StringComparison.Ordinal));
    }

    /// <summary>Runs the image's entry point as its user: the greeting names the architecture, ICU and OpenSSL work, and jq from Nix answers.</summary>
    private static void AssertRuns(ImageReader image, string architecture, bool withLibrary = false)
    {
        Assert.Equal(1654, image.User.Uid);
        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        if (withLibrary)
        {
            Assert.Contains("{\"from\":\"library\"}", run.Output, StringComparison.Ordinal);
        }

        Assert.Contains($"Hello from Nix! .NET 10.0", run.Output, StringComparison.Ordinal);
        Assert.Contains($", {architecture}", run.Output, StringComparison.Ordinal);
        Assert.Contains("March is März in German", run.Output, StringComparison.Ordinal);
        Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
    }

    /// <summary>The layer and config digests a manifest in the archive names.</summary>
    private static List<string> BlobsOf(string archive, string manifestDigest)
    {
        using var reader = new System.Formats.Tar.TarReader(File.OpenRead(archive));
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.Name == $"blobs/sha256/{manifestDigest["sha256:".Length..]}")
            {
                using var manifest = JsonDocument.Parse(entry.DataStream!);
                return manifest.RootElement.GetProperty("layers").EnumerateArray().Append(manifest.RootElement.GetProperty("config"))
                    .Select(d => d.GetProperty("digest").GetString()!).ToList();
            }
        }

        throw new InvalidOperationException($"{manifestDigest} is not in {archive}");
    }
}
