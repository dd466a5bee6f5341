using Nixery.Build.Elf;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// Microsoft-built ELF files (apphost, self-contained runtime, native NuGet assets) start in an image whose loader
/// searches no system folder, as nixpkgs' does, with nothing from the user: the image step links them to the store.
/// Each image runs as its non-root user. (The RID-specific apphost of a framework-dependent app, console and ASP.NET,
/// is covered by HelloNixImageTests and ImageConfigurationTests.)
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class NativeFilesTests
{
    private readonly PackageFeed _feed;

    public NativeFilesTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public void SampleLoaderSearchesNoDefaultFolderSoAnUnpatchedApphostFindsNothing()
    {
        // The package set must be as strict as nixpkgs, or the tests below would prove nothing.
        var glibc = NixBuild("glibc");
        var loader = glibc + "/lib/ld-linux-x86-64.so.2";
        var help = Command.Run(loader, ["--help"]).EnsureSuccess().Output;
        var searchPath = help[help.IndexOf("Shared library search path:", StringComparison.Ordinal)..];
        searchPath = searchPath[..searchPath.IndexOf("\n\n", StringComparison.Ordinal)];
        Assert.DoesNotContain("/lib/x86_64-linux-gnu", searchPath, StringComparison.Ordinal);
        Assert.DoesNotContain("/etc/ld.so.cache", searchPath, StringComparison.Ordinal);
        Assert.DoesNotContain(" /usr/lib ", searchPath + " ", StringComparison.Ordinal);

        // The SDK's apphost, run by that loader with only the store visible: no library is found.
        var run = Command.Run("bwrap", ["--ro-bind", "/nix/store", "/nix/store", "--ro-bind", DotnetInstall.AppHost, "/apphost", "--proc", "/proc", "--dev", "/dev", "--clearenv", loader, "/apphost"]);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("cannot open shared object file", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void SelfContainedAppStartsWithIcuAndOpenSslFromNix()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = project.Publish("-r", "linux-x64", "--self-contained");
        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.DoesNotContain("NIXIMG02", publish.Output, StringComparison.Ordinal);

        using var image = new ImageReader(project.DefaultArchive());
        var config = image.Config().GetProperty("config");
        Assert.Equal(["/app/HelloNix"], config.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain(config.GetProperty("Env").EnumerateArray(), e => e.GetString()!.StartsWith("DOTNET_ROOT=", StringComparison.Ordinal));
        Assert.Equal((1654, 1654), image.User);

        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Hello from Nix! .NET 10.0", run.Output, StringComparison.Ordinal);
        Assert.Contains("ICU: March is März in German", run.Output, StringComparison.Ordinal);
        Assert.Contains("OpenSSL: SHA-256(abc) = ba7816bf8f01cfea", run.Output, StringComparison.Ordinal);
        Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);

        // No regular-distribution paths: the runtime found everything through the RUNPATHs the image step wrote.
        // (/lib holds jq's libjq link, from joining the top-level packages; the C runtime is not joined.)
        Assert.False(Directory.Exists(Path.Combine(image.RootFileSystem, "lib64")));
        Assert.False(new FileInfo(Path.Combine(image.RootFileSystem, "lib", "libc.so.6")).Exists || new FileInfo(Path.Combine(image.RootFileSystem, "lib", "libc.so.6")).LinkTarget is not null);
        Assert.False(new FileInfo(Path.Combine(image.RootFileSystem, "lib", "libstdc++.so.6")).LinkTarget is not null);
        var coreclr = ElfFile.TryRead(Path.Combine(image.RootFileSystem, "app", "libcoreclr.so"))!;
        Assert.Contains(coreclr.SearchPath, d => d.StartsWith("/nix/store/", StringComparison.Ordinal) && d.EndsWith("-icu4c-72.1/lib", StringComparison.Ordinal));
        Assert.Contains(coreclr.SearchPath, d => d.EndsWith("-openssl-3.0.19/lib", StringComparison.Ordinal));
        var apphost = ElfFile.TryRead(Path.Combine(image.RootFileSystem, "app", "HelloNix"))!;
        Assert.Matches("^/nix/store/[a-z0-9]{32}-glibc-2.36/lib/ld-linux-x86-64.so.2$", apphost.Interpreter);

        // The publish folder itself is untouched.
        var published = ElfFile.TryRead(Path.Combine(project.Directory, "bin", "Release", "net10.0", "linux-x64", "publish", "HelloNix"))!;
        Assert.Equal("/lib64/ld-linux-x86-64.so.2", published.Interpreter);
    }

    [Fact]
    public void NativeNuGetAssetOfAPortableAppLoadsFromTheStore()
    {
        using var project = SampleProject.Copy(_feed);
        project.AddToProject("""<ItemGroup><PackageReference Include="Microsoft.Data.Sqlite" Version="10.0.12" /></ItemGroup>""");
        File.WriteAllText(Path.Combine(project.Directory, "Program.cs"), """
            using Microsoft.Data.Sqlite;

            using var connection = new SqliteConnection("Data Source=:memory:");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "select sqlite_version()";
            Console.WriteLine($"SQLite {command.ExecuteScalar()} from e_sqlite3");
            """);

        var publish = project.Publish();
        Assert.True(publish.ExitCode == 0, publish.Output);
        // Assets for other platforms (musl, arm64, Windows, macOS) are left alone, without a warning.
        Assert.DoesNotContain("NIXIMG02", publish.Output, StringComparison.Ordinal);

        using var image = new ImageReader(project.DefaultArchive(runtimeIdentifier: null));
        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Matches("SQLite 3\\.[0-9]+\\.[0-9]+ from e_sqlite3", run.Output);

        var native = Path.Combine("runtimes", "linux-x64", "native", "libe_sqlite3.so");
        var sqlite = ElfFile.TryRead(Path.Combine(image.RootFileSystem, "app", native))!;
        Assert.Contains(sqlite.SearchPath, d => d.EndsWith("-glibc-2.36/lib", StringComparison.Ordinal));
        var publishFolder = Path.Combine(project.Directory, "bin", "Release", "net10.0", "publish");
        var musl = Path.Combine("runtimes", "linux-musl-x64", "native", "libe_sqlite3.so");
        Assert.Equal(File.ReadAllBytes(Path.Combine(publishFolder, musl)), File.ReadAllBytes(Path.Combine(image.RootFileSystem, "app", musl)));
    }

    private static string NixBuild(string attribute) =>
        Command.Run("nix-build", [SampleProject.PackageSet, "-A", attribute, "--no-out-link"], environment: new Dictionary<string, string?> { ["NIX_CONFIG"] = "substituters =" })
            .EnsureSuccess().StandardOutput.Trim();
}
