using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// A copy of a sample project in a temp folder that consumes Nixery.Build from the test feed,
/// with its own nuget.config and Directory.Build.props, so it builds as a user's project would.
/// </summary>
public sealed class SampleProject : IDisposable
{
    private readonly TempDirectory _root;
    private readonly PackageFeed _feed;

    private SampleProject(PackageFeed feed, string name, TempDirectory root)
    {
        _feed = feed;
        _root = root;
        Name = name;
        Directory = root.Combine(name);
    }

    public string Name { get; }

    /// <summary>The project's folder.</summary>
    public string Directory { get; }

    public string Root => _root.Path;

    public static string PackageSet => Path.Combine(RepositoryRoot.Path, "samples", "nixpkgs");

    /// <summary>Copies samples/<paramref name="sample"/> (sources and project file only).</summary>
    public static SampleProject Copy(PackageFeed feed, string sample = "HelloNix")
    {
        var root = new TempDirectory("nixery-e2e");
        var project = new SampleProject(feed, sample, root) { CacheDirectory = root.Combine("layer-cache") };
        var source = Path.Combine(RepositoryRoot.Path, "samples", sample);
        System.IO.Directory.CreateDirectory(project.Directory);
        foreach (var file in System.IO.Directory.EnumerateFiles(source))
        {
            var name = Path.GetFileName(file);
            if (name.EndsWith(".cs", StringComparison.Ordinal) || name.EndsWith(".csproj", StringComparison.Ordinal) || name.EndsWith(".json", StringComparison.Ordinal))
            {
                File.Copy(file, Path.Combine(project.Directory, name));
            }
        }

        File.WriteAllText(root.Combine("Directory.Build.props"), "<Project />\n");
        File.WriteAllText(root.Combine("Directory.Packages.props"), "<Project><PropertyGroup><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup></Project>\n");
        File.WriteAllText(root.Combine("nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="nixery-build-test" value="{feed.FeedDirectory}" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="nixery-build-test"><package pattern="Nixery.Build" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        return project;
    }

    /// <summary>The NIX_CONFIG of every build: no binary cache, aarch64-linux builds allowed (see samples/nixpkgs/README.md).</summary>
    public const string NixConfig = "substituters =\nextra-platforms = aarch64-linux";

    public string ProjectFile => Path.Combine(Directory, Name + ".csproj");

    /// <summary>The layer cache this project's publishes use (a test may point two projects at one).</summary>
    public string CacheDirectory { get; set; } = string.Empty;

    /// <summary>Adds XML inside the project's root element (items, properties).</summary>
    public void AddToProject(string xml)
    {
        var text = File.ReadAllText(ProjectFile);
        File.WriteAllText(ProjectFile, text.Replace("</Project>", xml + "\n</Project>", StringComparison.Ordinal));
    }

    /// <summary>
    /// <c>dotnet publish</c> with the image step on, against the offline package set unless the
    /// arguments say otherwise. Keeps a binlog beside the project.
    /// </summary>
    public CommandResult Publish(params string[] extraArguments) => Publish(extraArguments, environment: null);

    /// <param name="binaryLog">False to keep no binlog (a test that checks everything the build wrote).</param>
    public CommandResult Publish(IReadOnlyList<string> extraArguments, IReadOnlyDictionary<string, string?>? environment, bool binaryLog = true) =>
        Dotnet(["publish", ProjectFile, "-c", "Release", "-p:NixImage=true", .. extraArguments], environment, binaryLog);

    /// <summary>Runs <c>dotnet</c> on the project with the test feed, the offline package set and the project's cache.</summary>
    public CommandResult Dotnet(IReadOnlyList<string> command, IReadOnlyDictionary<string, string?>? environment = null, bool binaryLog = true, TimeSpan? timeout = null)
    {
        var (arguments, env) = DotnetInvocation(command, environment, binaryLog);
        return Command.Run("dotnet", arguments, Directory, env, timeout);
    }

    /// <summary>Runs <c>dotnet</c> as <see cref="Dotnet"/> does, inside <paramref name="wrapper"/> (a command that runs the command after it, such as bwrap).</summary>
    public CommandResult DotnetWrapped(IReadOnlyList<string> wrapper, IReadOnlyList<string> command, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var (arguments, env) = DotnetInvocation(command, environment, binaryLog: true);
        var onPath = Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(d => Path.Combine(d, "dotnet")).First(File.Exists);
        var dotnet = new FileInfo(onPath).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? onPath;
        return Command.Run(wrapper[0], [.. wrapper.Skip(1), dotnet, .. arguments], Directory, env);
    }

    /// <summary>Starts <c>dotnet</c> as <see cref="Dotnet"/> does, in the background (to be killed part-way by a test).</summary>
    public BackgroundProcess StartDotnet(IReadOnlyList<string> command)
    {
        var (arguments, env) = DotnetInvocation(command, environment: null, binaryLog: false);
        return BackgroundProcess.Start("dotnet", arguments, Directory, env);
    }

    private (List<string> Arguments, Dictionary<string, string?> Environment) DotnetInvocation(IReadOnlyList<string> command, IReadOnlyDictionary<string, string?>? environment, bool binaryLog)
    {
        // The verb first, then these defaults, then the caller's arguments: a later -p: wins, so callers can override.
        var arguments = new List<string>
        {
            command[0],
            "-nodeReuse:false", "-nologo",
            "-p:NixeryBuildVersion=" + _feed.Version,
            "-p:NixPkgsPath=" + PackageSet,
            // A layer cache of its own, so tests neither share layers by accident nor fill the user's cache.
            "-p:NixImageCacheDirectory=" + CacheDirectory,
        };
        if (binaryLog)
        {
            arguments.Add("-bl:" + Path.Combine(Directory, "publish.binlog"));
        }

        arguments.AddRange(command.Skip(1));
        var env = new Dictionary<string, string?>
        {
            ["NUGET_PACKAGES"] = _feed.NuGetPackages,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["MSBUILDDISABLENODEREUSE"] = "1",
            // No binary cache is reachable here; don't let Nix wait for one. The offline package set's aarch64-linux
            // packages are built here by x86_64 builders, which Nix allows for that system with extra-platforms.
            ["NIX_CONFIG"] = NixConfig,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            env[name] = value;
        }

        return (arguments, env);
    }

    /// <summary>The archive a RID-specific Release publish writes by default.</summary>
    public string DefaultArchive(string? runtimeIdentifier = "linux-x64") =>
        runtimeIdentifier is null
            ? Path.Combine(Directory, "bin", "Release", "net10.0", "image", Name.ToLowerInvariant() + ".tar")
            : Path.Combine(Directory, "bin", "Release", "net10.0", runtimeIdentifier, "image", Name.ToLowerInvariant() + ".tar");

    public void Clean()
    {
        foreach (var folder in new[] { "bin", "obj" })
        {
            var path = Path.Combine(Directory, folder);
            if (System.IO.Directory.Exists(path))
            {
                System.IO.Directory.Delete(path, recursive: true);
            }
        }
    }

    public void Dispose() => _root.Dispose();
}
