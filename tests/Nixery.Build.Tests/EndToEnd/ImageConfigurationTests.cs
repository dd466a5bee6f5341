using System.Net;
using System.Net.Sockets;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// The SDK's container settings, non-root by default, app layers that keep pushes small, and images that
/// are the same bytes wherever and whenever they are built.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class ImageConfigurationTests
{
    private readonly PackageFeed _feed;

    public ImageConfigurationTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public async Task HelloWebRunsAsNonRootAnswersHttpAndWritesToTmpAndHome()
    {
        using var project = SampleProject.Copy(_feed, "HelloWeb");
        var publish = project.Publish("-r", "linux-x64");
        Assert.True(publish.ExitCode == 0, publish.Output);

        using var image = new ImageReader(Path.Combine(project.Directory, "bin", "Release", "net10.0", "linux-x64", "image", "samples-hello-web.tar"));
        var config = image.Config().GetProperty("config");
        Assert.Equal("1654", config.GetProperty("User").GetString());
        Assert.Equal(["8080/tcp"], config.GetProperty("ExposedPorts").EnumerateObject().Select(p => p.Name));
        var env = config.GetProperty("Env").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("ASPNETCORE_HTTP_PORTS=8080", env);
        Assert.Contains("APP_UID=1654", env);
        Assert.Contains(env, e => e!.StartsWith("DOTNET_ROOT=/nix/store/", StringComparison.Ordinal) && e.Contains("aspnetcore-runtime-wrapped", StringComparison.Ordinal));
        var labels = config.GetProperty("Labels");
        Assert.Equal("samples", labels.GetProperty("org.example.team").GetString());
        Assert.Equal("jq", labels.GetProperty("build.nixery.nix.packages").GetString());
        Assert.Equal("1970-01-01T00:00:01Z", labels.GetProperty("org.opencontainers.image.created").GetString());
        Assert.Equal("1.0.0", labels.GetProperty("org.opencontainers.image.version").GetString());
        Assert.Equal((1654, 1654), image.User);

        // The port comes from the environment, as a runtime's -e would set it.
        var port = FreePort();
        using var server = image.Start(new Dictionary<string, string> { ["ASPNETCORE_HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        var hello = await GetWhenUp(http, "/", server);
        Assert.Contains("Hello from Nix!", hello, StringComparison.Ordinal);
        Assert.Contains("user app (1654)", hello, StringComparison.Ordinal);

        var write = await http.GetStringAsync(new Uri("/write", UriKind.Relative));
        Assert.Contains("/tmp/: ok", write, StringComparison.Ordinal);
        Assert.Contains("/home/app: ok", write, StringComparison.Ordinal);
        Assert.Contains("/app/: UnauthorizedAccessException", write, StringComparison.Ordinal);
        Assert.Equal("jq-1.6", (await http.GetStringAsync(new Uri("/jq", UriKind.Relative))).Trim());

        // Permissions were enforced for real: the app's own folder belongs to root and stayed untouched.
        Assert.True(File.Exists(Path.Combine(image.RootFileSystem, "home", "app", "hello-web.txt")));
        Assert.False(File.Exists(Path.Combine(image.RootFileSystem, "app", "hello-web.txt")));
    }

    [Fact]
    public void WorkingDirectoryIsMadeCanonicalAndOneThatLeavesItsFolderIsRefused()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = project.Publish("-r", "linux-x64", "-p:ContainerWorkingDirectory=/srv//hello/./");
        Assert.True(publish.ExitCode == 0, publish.Output);

        using (var image = new ImageReader(project.DefaultArchive()))
        {
            var config = image.Config().GetProperty("config");
            Assert.Equal("/srv/hello", config.GetProperty("WorkingDir").GetString());
            Assert.Equal(["/srv/hello/HelloNix"], config.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));
            var run = image.Run();
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
        }

        foreach (var (value, why) in new[] { ("/", "the image's root"), ("/app/../../etc", "'..'") })
        {
            var refused = project.Publish("-r", "linux-x64", "-p:ContainerWorkingDirectory=" + value);
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("error NIXIMG015", refused.Output, StringComparison.Ordinal);
            Assert.Contains(why, refused.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ConsoleSampleHonoursAppCommandAndDefaultArgs()
    {
        using var project = SampleProject.Copy(_feed);
        project.AddToProject("""
            <ItemGroup>
              <ContainerDefaultArgs Include="from-cmd" />
              <ContainerDefaultArgs Include="second" />
            </ItemGroup>
            """);
        var publish = project.Publish("-r", "linux-x64");
        Assert.True(publish.ExitCode == 0, publish.Output);

        using (var image = new ImageReader(project.DefaultArchive()))
        {
            var config = image.Config().GetProperty("config");
            Assert.Equal(["/app/HelloNix"], config.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(["from-cmd", "second"], config.GetProperty("Cmd").EnumerateArray().Select(e => e.GetString()));
            var run = image.Run();
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("args: from-cmd second", run.Output, StringComparison.Ordinal);
        }

        // The app command itself can be any program of the image; its arguments always come with it.
        project.AddToProject("""
            <ItemGroup>
              <ContainerAppCommand Include="/bin/jq" />
              <ContainerAppCommandArgs Include="--version" />
              <ContainerDefaultArgs Remove="@(ContainerDefaultArgs)" />
            </ItemGroup>
            """);
        publish = project.Publish("-r", "linux-x64");
        Assert.True(publish.ExitCode == 0, publish.Output);
        using (var image = new ImageReader(project.DefaultArchive()))
        {
            var config = image.Config().GetProperty("config");
            Assert.Equal(["/bin/jq", "--version"], config.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));
            Assert.False(config.TryGetProperty("Cmd", out _));
            var run = image.Run();
            Assert.Equal("jq-1.6", run.Output.Trim());
        }
    }

    [Fact]
    public void OneLineChangeChangesOnlyTheTopLayer()
    {
        using var project = SampleProject.Copy(_feed);
        // A NuGet package and a project reference, so that all three app layers exist.
        var library = Path.Combine(project.Root, "Greeting");
        Directory.CreateDirectory(library);
        File.WriteAllText(Path.Combine(library, "Greeting.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(library, "Greeting.cs"), "namespace Greeting; public static class Words { public const string Hello = \"hello\"; }\n");
        project.AddToProject("""
            <ItemGroup>
              <PackageReference Include="Newtonsoft.Json" Version="13.0.3" />
              <ProjectReference Include="../Greeting/Greeting.csproj" />
            </ItemGroup>
            """);
        File.AppendAllText(Path.Combine(project.Directory, "Program.cs"), "\nstatic partial class Uses { static string J() => Newtonsoft.Json.JsonConvert.SerializeObject(Greeting.Words.Hello); }\n");

        var first = PublishAndReadLayers(project);
        File.AppendAllText(Path.Combine(project.Directory, "Program.cs"), "static partial class Uses { static int Changed() => 42; }\n");
        var second = PublishAndReadLayers(project);

        Assert.Equal(["app: NuGet packages", "app: project references", "app"], first.History[^3..]);
        Assert.Equal(first.Layers.Count, second.Layers.Count);
        Assert.Equal(first.Layers[..^1], second.Layers[..^1]);
        Assert.NotEqual(first.Layers[^1], second.Layers[^1]);
    }

    [Fact]
    public void CleanBuildsInDifferentFoldersAtDifferentTimesGiveTheSameDigest()
    {
        string Build(IReadOnlyDictionary<string, string?>? environment)
        {
            using var project = SampleProject.Copy(_feed);
            var publish = project.Publish(["-r", "linux-x64"], environment);
            Assert.True(publish.ExitCode == 0, publish.Output);
            using var image = new ImageReader(project.DefaultArchive());
            return image.Inspect().GetProperty("Digest").GetString()!;
        }

        var first = Build(null);
        Thread.Sleep(TimeSpan.FromSeconds(1.5));
        var second = Build(null);
        Assert.Equal(first, second);

        // SOURCE_DATE_EPOCH pins the time instead: a different image, again the same everywhere.
        var pinned = new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "1700000000" };
        var third = Build(pinned);
        var fourth = Build(pinned);
        Assert.NotEqual(first, third);
        Assert.Equal(third, fourth);
    }

    [Fact]
    public void SourceDateEpochIsTheCreatedTime()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = project.Publish(["-r", "linux-x64"], new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "1700000000" });
        Assert.True(publish.ExitCode == 0, publish.Output);

        using var image = new ImageReader(project.DefaultArchive());
        var config = image.Config();
        Assert.Equal("2023-11-14T22:13:20Z", config.GetProperty("created").GetString());
        Assert.Equal("2023-11-14T22:13:20Z", config.GetProperty("config").GetProperty("Labels").GetProperty("org.opencontainers.image.created").GetString());
        var mtime = Command.Run("tar", ["-tvf", image.ArchivePath, "index.json"]).EnsureSuccess().Output;
        Assert.Contains("2023-11-14", mtime, StringComparison.Ordinal);
    }

    [Fact]
    public void RootUserAndDockerFormatAreHonoured()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = project.Publish("-r", "linux-x64", "-p:ContainerUser=root", "-p:ContainerImageFormat=Docker");
        Assert.True(publish.ExitCode == 0, publish.Output);

        using var image = new ImageReader(project.DefaultArchive());
        Assert.Equal("application/vnd.docker.distribution.manifest.v2+json", image.Manifest().GetProperty("mediaType").GetString());
        Assert.All(image.Manifest().GetProperty("layers").EnumerateArray(), l => Assert.Equal("application/vnd.docker.image.rootfs.diff.tar.gzip", l.GetProperty("mediaType").GetString()));
        Assert.Equal("root", image.Config().GetProperty("config").GetProperty("User").GetString());
        Assert.Equal((0, 0), image.User);
        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<ContainerPort Include=\"80800\" />", "NIXIMG017", "'80800'")]
    [InlineData("<ContainerPort Include=\"8080\" Type=\"sctp\" />", "NIXIMG017", "'sctp'")]
    [InlineData("<ContainerEnvironmentVariable Include=\"1BAD\" Value=\"x\" />", "NIXIMG018", "'1BAD'")]
    [InlineData("<ContainerLabel Include=\"-bad key\" Value=\"x\" />", "NIXIMG019", "'-bad key'")]
    public void InvalidSettingsAreCodedErrorsQuotingTheValue(string item, string code, string quoted)
    {
        using var project = SampleProject.Copy(_feed);
        project.AddToProject($"<ItemGroup>{item}</ItemGroup>");

        var publish = project.Publish("-r", "linux-x64");

        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains($"error {code}", publish.Output, StringComparison.Ordinal);
        Assert.Contains(quoted, publish.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(project.DefaultArchive()));
    }

    private sealed record LayerList(List<string> Layers, List<string> History);

    private static LayerList PublishAndReadLayers(SampleProject project)
    {
        var publish = project.Publish("-r", "linux-x64");
        Assert.True(publish.ExitCode == 0, publish.Output);
        using var image = new ImageReader(project.DefaultArchive());
        var layers = image.Manifest().GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!).ToList();
        var history = image.Config().GetProperty("history").EnumerateArray().Select(h => h.GetProperty("created_by").GetString()!).ToList();
        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        return new LayerList(layers, history);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<string> GetWhenUp(HttpClient http, string path, BackgroundProcess server)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return await http.GetStringAsync(new Uri(path, UriKind.Relative));
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !server.HasExited)
            {
                await Task.Delay(250);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                throw new InvalidOperationException($"The server did not answer: {e.Message}\n{server.Output}", e);
            }
        }
    }
}
