using System.Diagnostics;
using System.Text;
using Nixery.Build.Tests.Support;
using Xunit.Abstractions;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// Bad inputs and faults, one row per class, each published for real as a user would: every one must end as a coded
/// error (or, where the input is survivable, a coded warning), never MSB4018 (a task crash with a stack trace), never
/// a hang, never accepted without a word. The counts are printed at the end. The fault rows (immutable folders, a
/// full disk) need root, as the README's test command runs.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class BadInputMatrixTests
{
    private static readonly TimeSpan RowTimeout = TimeSpan.FromMinutes(3);

    private readonly PackageFeed _feed;
    private readonly ITestOutputHelper _output;

    public BadInputMatrixTests(PackageFeed feed, ITestOutputHelper output)
    {
        _feed = feed;
        _output = output;
    }

    /// <summary>A bad input: what to publish with, what must come of it, and how to set it up and undo it.</summary>
    private sealed record Row(string Input, string Code, string[] Arguments, bool Warning = false)
    {
        public string? ProjectXml { get; init; }

        public Func<SampleProject, IDisposable?>? Arrange { get; init; }

        public IReadOnlyDictionary<string, string?>? Environment { get; init; }
    }

    private enum Outcome
    {
        CodedError,
        CodedWarning,
        WrongCode,
        Crash,
        Hang,
        SilentAccept,
    }

    private static IEnumerable<Row> Rows(SampleProject project, string silentRegistry, string tricklingRegistry)
    {
        string Temp(string name) => Path.Combine(project.Root, name);
        var obj = Path.Combine(project.Directory, "obj", "Release", "net10.0", "linux-x64");
        var publishFolder = Path.Combine(project.Directory, "bin", "Release", "net10.0", "linux-x64", "publish");

        // Package set and packages
        yield return new("package that does not exist", "NIXIMG002", ["-p:NixDefaultPackages=doesnotexist"]);
        yield return new("runtime package that does not exist", "NIXIMG002", ["-p:NixDotnetRuntimePackage=dotnetCorePackages.runtime_9_9"]);
        yield return new("attribute that is not a package", "NIXIMG002", ["-p:NixDefaultPackages=jq.name"]);
        yield return new("package name with a space", "NIXIMG007", ["-p:NixDefaultPackages=a%20b"]);
        yield return new("Nix expression in a package name", "NIXIMG007", ["-p:NixDefaultPackages=jq%22%3Bbuiltins.abort%20%22x"]);
        yield return new("two package sources", "NIXIMG006", ["-p:NixPkgsChannel=nixos-24.05"]);
        yield return new("git repository that cannot be reached", "NIXIMG003", ["-p:NixPkgsPath=", "-p:NixPkgsGitRepository=https://example.invalid/nixpkgs"]);
        yield return new("git revision that is not a commit hash", "NIXIMG006", ["-p:NixPkgsPath=", "-p:NixPkgsGitRepository=https://example.invalid/nixpkgs", "-p:NixPkgsGitRevision=main"]);
        yield return new("package set that does not evaluate", "NIXIMG003", ["-p:NixPkgsPath=" + Temp("bad-set.nix")])
        {
            Arrange = _ => WriteFile(Temp("bad-set.nix"), "{ ... }: throw \"refused\x01 with a control byte\"\n"),
        };
        yield return new("unknown Nix system", "NIXIMG011", ["-p:NixSystem=sparc-linux"]);

        // Names
        yield return new("repository with upper case and '..'", "NIXIMG008", ["-p:ContainerRepository=Bad..Name"]);
        yield return new("tag with a colon", "NIXIMG008", ["-p:ContainerImageTags=a:b"]);
        yield return new("tag of 129 characters", "NIXIMG008", ["-p:ContainerImageTag=" + new string('t', 129)]);
        yield return new("registry with a scheme", "NIXIMG030", ["-p:ContainerRegistry=http://registry.example.com"]);
        yield return new("base image with an upper-case repository", "NIXIMG043", ["-p:ContainerBaseImage=Busybox:1.36"]);

        // Registries
        string[] Registry(string name) => ["-p:ContainerRegistry=" + name, "-p:ContainerInsecureRegistries=" + name, "-p:NixImageRegistryTimeout=2"];
        yield return new("registry that accepts and never answers", "NIXIMG033", Registry(silentRegistry));
        yield return new("registry that answers one byte a second", "NIXIMG033", Registry(tricklingRegistry));
        yield return new("registry timeout that is not a number", "NIXIMG039", [.. Registry(silentRegistry)[..2], "-p:NixImageRegistryTimeout=forever"]);

        // Layers
        yield return new("layer budget 0", "NIXIMG009", ["-p:NixLayerBudget=0"]);
        yield return new("layer budget that is not a number", "NIXIMG009", ["-p:NixLayerBudget=many"]);
        // Every leaf rated: the grouping fills the budget, 124 Nix layers + symlinks + app = 126.
        yield return new("image of more than 125 layers", "NIXIMG009", ["-p:NixDefaultPackages=widedag", "-p:NixLayerBudget=124", "-p:NixPopularityFile=" + Temp("wide.json")])
        {
            Arrange = _ => WriteFile(Temp("wide.json"), "{" + string.Join(",", Enumerable.Range(1, 120).Select(n => $"\"wide-leaf-{n}-1.0\": {100 + n}")) + "}"),
        };

        // Image settings
        yield return new("working directory '/'", "NIXIMG015", ["-p:ContainerWorkingDirectory=/"]);
        yield return new("working directory with '..'", "NIXIMG015", ["-p:ContainerWorkingDirectory=/app/../../etc"]);
        yield return new("relative working directory", "NIXIMG015", ["-p:ContainerWorkingDirectory=app"]);
        yield return new("SOURCE_DATE_EPOCH that is not a number", "NIXIMG015", []) { Environment = new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "yesterday" } };
        yield return new("user id above 2147483647", "NIXIMG020", ["-p:ContainerUser=99999999999"]);
        yield return new("user id 4294967295", "NIXIMG020", ["-p:ContainerUser=4294967295"]);
        yield return new("user name missing from /etc/passwd", "NIXIMG020", ["-p:ContainerUser=www-data"]);
        yield return new("user with a space", "NIXIMG020", ["-p:ContainerUser=a%20b"]);
        yield return new("port 70000", "NIXIMG017", []) { ProjectXml = """<ItemGroup><ContainerPort Include="70000" /></ItemGroup>""" };
        yield return new("port type sctp", "NIXIMG017", []) { ProjectXml = """<ItemGroup><ContainerPort Include="80" Type="sctp" /></ItemGroup>""" };
        yield return new("environment variable starting with a digit", "NIXIMG018", []) { ProjectXml = """<ItemGroup><ContainerEnvironmentVariable Include="1BAD" Value="x" /></ItemGroup>""" };
        yield return new("label key starting with '-'", "NIXIMG019", []) { ProjectXml = """<ItemGroup><ContainerLabel Include="-bad-" Value="x" /></ItemGroup>""" };
        yield return new("unknown app command instruction", "NIXIMG021", ["-p:ContainerAppCommandInstruction=Sometimes"]);
        yield return new("image format xml", "NIXIMG022", ["-p:ContainerImageFormat=xml"]);
        yield return new("cache size 'lots'", "NIXIMG026", ["-p:NixImageCacheMaxSize=lots"]);
        yield return new("compression level 11", "NIXIMG026", ["-p:NixImageCompressionLevel=11"]);
        yield return new("popularity file that does not exist", "NIXIMG016", ["-p:NixPopularityFile=" + Temp("nope.json")]);
        yield return new("popularity file with a name that is not UTF-8", "NIXIMG016", ["-p:NixPopularityFile=" + Temp("latin1.json")])
        {
            Arrange = _ => WriteBytes(Temp("latin1.json"), [.. "{\""u8, 0xE9, .. "t\u00e9-1.0\": 1}"u8]),
        };

        // Files the build writes, where something else stands
        yield return new("cache folder that is a file", "NIXIMG012", ["-p:NixImageCacheDirectory=" + Temp("cache-file")])
        {
            Arrange = _ => WriteFile(Temp("cache-file"), "not a folder"),
        };
        yield return new("archive folder that is a file", "NIXIMG012", ["-p:ContainerArchiveOutputPath=" + Temp("archive-file") + "/image.tar"])
        {
            Arrange = _ => WriteFile(Temp("archive-file"), "not a folder"),
        };
        yield return new("obj/…/nix-image that is a file", "NIXIMG012", [])
        {
            Arrange = _ =>
            {
                var folder = Path.Combine(obj, "nix-image");
                Directory.Move(folder, folder + ".saved");
                File.WriteAllText(folder, "not a folder");
                return new Undo(() =>
                {
                    File.Delete(folder);
                    Directory.Move(folder + ".saved", folder);
                });
            },
        };

        // Files the build writes, where the folder cannot be written (immutable: even root cannot) or the disk is full.
        // Each row changes what decides the image (ContainerUser), so there is something to write.
        var cache = project.CacheDirectory;
        var archiveFolder = Path.GetDirectoryName(project.DefaultArchive())!;
        var nixImage = Path.Combine(obj, "nix-image");
        foreach (var (what, folder) in new[] { ("layer cache", cache), ("archive folder", archiveFolder), ("obj/…/nix-image", nixImage) })
        {
            yield return new($"{what} that cannot be written", "NIXIMG012", ["-p:ContainerUser=nobody"]) { Arrange = _ => Immutable(folder) };
            // A tag of its own: the request changes, so the build must write in each of these folders (an image step
            // that finds nothing changed writes nothing, not even the request).
            yield return new($"{what} on a full disk", "NIXIMG012", ["-p:ContainerUser=root", $"-p:ContainerImageTag=full-{what.Replace("/…/", "-", StringComparison.Ordinal).Replace(' ', '-')}"]) { Arrange = _ => FullDisk(folder) };
        }

        // Survivable: a coded warning, and an image
        yield return new("FIFO in the publish folder", "NIXIMG029", [], Warning: true)
        {
            Arrange = _ =>
            {
                Directory.CreateDirectory(publishFolder);
                var fifo = Path.Combine(publishFolder, "pipe");
                Command.Run("mkfifo", [fifo]).EnsureSuccess();
                return new Undo(() => File.Delete(fifo));
            },
        };
    }

    [Fact]
    public void EveryBadInputIsACodedErrorOrWarningNeverACrashAHangOrASilentAccept()
    {
        using var project = SampleProject.Copy(_feed);
        using var silent = Registry.StubbornServer.Silent();
        using var trickling = Registry.StubbornServer.Trickling();
        // A good publish first: the rows then meet a restored, built project and a built package set.
        var good = project.Publish("-r", "linux-x64");
        Assert.True(good.ExitCode == 0, good.Output);
        var projectFile = File.ReadAllText(project.ProjectFile);

        var results = new List<(Row Row, Outcome Outcome, string Detail)>();
        foreach (var row in Rows(project, silent.Name, trickling.Name))
        {
            File.WriteAllText(project.ProjectFile, row.ProjectXml is null ? projectFile : projectFile.Replace("</Project>", row.ProjectXml + "\n</Project>", StringComparison.Ordinal));
            using (row.Arrange?.Invoke(project))
            {
                var stopwatch = Stopwatch.StartNew();
                CommandResult? publish = null;
                try
                {
                    publish = project.Dotnet(["publish", project.ProjectFile, "-c", "Release", "-p:NixImage=true", "-r", "linux-x64", .. row.Arguments], row.Environment, binaryLog: false, timeout: RowTimeout);
                }
                catch (TimeoutException)
                {
                }

                var (outcome, detail) = Classify(row, publish);
                results.Add((row, outcome, detail));
                _output.WriteLine($"{outcome,-13} {row.Code} {row.Input} ({stopwatch.Elapsed.TotalSeconds:0.0} s){(detail.Length > 0 ? ": " + detail : string.Empty)}");
            }
        }

        // After all of it, a good publish works and leaves no temporary file (those of failed writes are gone already).
        File.WriteAllText(project.ProjectFile, projectFile);
        var after = project.Publish("-r", "linux-x64", "-p:ContainerImageTags=after-the-matrix");
        Assert.True(after.ExitCode == 0, after.Output);
        Assert.Empty(new[] { project.CacheDirectory, Path.Combine(project.Directory, "bin"), Path.Combine(project.Directory, "obj") }
            .SelectMany(r => Directory.EnumerateFiles(r, "*.partial", SearchOption.AllDirectories)));
        var counts = Enum.GetValues<Outcome>().ToDictionary(o => o, o => results.Count(r => r.Outcome == o));
        _output.WriteLine(
            $"{results.Count} inputs: {counts[Outcome.CodedError]} coded errors, {counts[Outcome.CodedWarning]} coded warnings, "
            + $"{counts[Outcome.WrongCode]} with another code, {counts[Outcome.Crash]} MSB4018, {counts[Outcome.Hang]} hangs, {counts[Outcome.SilentAccept]} silent accepts");
        Assert.All(results, r => Assert.True(r.Outcome is Outcome.CodedError or Outcome.CodedWarning, $"{r.Row.Input}: {r.Outcome} {r.Detail}"));
    }

    private static (Outcome Outcome, string Detail) Classify(Row row, CommandResult? publish)
    {
        if (publish is null)
        {
            return (Outcome.Hang, $"no end after {RowTimeout.TotalMinutes} minutes");
        }

        var output = publish.Output;
        if (output.Contains("MSB4018", StringComparison.Ordinal) || output.Contains("   at ", StringComparison.Ordinal))
        {
            return (Outcome.Crash, FirstLine(output, "error"));
        }

        if (row.Warning)
        {
            return publish.ExitCode == 0 && output.Contains($"warning {row.Code}", StringComparison.Ordinal)
                ? (Outcome.CodedWarning, string.Empty)
                : (publish.ExitCode == 0 ? Outcome.SilentAccept : Outcome.WrongCode, FirstLine(output, "error"));
        }

        if (publish.ExitCode == 0)
        {
            return (Outcome.SilentAccept, string.Empty);
        }

        if (!output.Contains($"error {row.Code}", StringComparison.Ordinal))
        {
            return (Outcome.WrongCode, FirstLine(output, "error"));
        }

        // A coded error says what went wrong in printable text.
        var line = FirstLine(output, $"error {row.Code}");
        return line.Any(c => char.IsControl(c) && c != '\t') ? (Outcome.WrongCode, "control characters in the message") : (Outcome.CodedError, string.Empty);
    }

    private static string FirstLine(string output, string containing) =>
        output.Split('\n').FirstOrDefault(l => l.Contains(containing, StringComparison.Ordinal))?.Trim() ?? string.Empty;

    /// <summary>Makes <paramref name="folder"/> and all in it immutable (chattr +i): nobody, root included, may add or change a file there.</summary>
    private static Undo Immutable(string folder)
    {
        // Folders and files only: chattr refuses symlinks (obj/…/nix-image holds Nix's garbage-collector roots).
        Directory.CreateDirectory(folder);
        string[] Chattr(string flag) => [folder, "(", "-type", "d", "-o", "-type", "f", ")", "-exec", "chattr", flag, "{}", "+"];
        Command.Run("find", Chattr("+i")).EnsureSuccess();
        return new Undo(() => Command.Run("find", Chattr("-i")).EnsureSuccess());
    }

    /// <summary>
    /// Mounts a 1 MiB tmpfs over <paramref name="folder"/> (its files copied in, as long as they fit) and fills what is
    /// left: any new file the build writes there meets a full disk.
    /// </summary>
    private static Undo FullDisk(string folder)
    {
        Directory.CreateDirectory(folder);
        var saved = folder + ".saved";
        Directory.Move(folder, saved);
        Directory.CreateDirectory(folder);
        Command.Run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", folder]).EnsureSuccess();
        Command.Run("cp", ["-a", saved + "/.", folder]); // what does not fit stays out: the build finds less, and writes
        Command.Run("dd", ["if=/dev/zero", $"of={Path.Combine(folder, "filler")}", "bs=64k"]); // ends with "No space left"
        return new Undo(() =>
        {
            Command.Run("umount", [folder]).EnsureSuccess();
            Directory.Delete(folder);
            Directory.Move(saved, folder);
        });
    }

    private static Undo WriteFile(string path, string content) => WriteBytes(path, Encoding.UTF8.GetBytes(content));

    private static Undo WriteBytes(string path, byte[] content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return new Undo(() => File.Delete(path));
    }

    private sealed class Undo(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }
}
