using System.Text.RegularExpressions;

namespace Nixery.Build.Tests;

/// <summary>
/// docs/architecture.md, checked: which folder of the engine may use which (by the <c>Nixery.Build.*</c> namespaces its
/// files name), the engine never touches MSBuild, only Tasks/ adapts it, only Processes/ starts processes, and only
/// Registry/ and BinaryCache/ speak HTTP. Each folder's README and docs/architecture.md state the same map.
/// </summary>
public partial class ArchitectureTests
{
    /// <summary>Who may use whom. Diagnostics is open to every folder; nothing else is implied.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new(StringComparer.Ordinal)
    {
        // MSBuild's side, then orchestration, then the flow: settings → sources → the image → sinks.
        ["Tasks"] = ["Pipeline", "Settings"],
        ["Pipeline"] = ["Settings", "Sources", "Image", "Sinks", "Nix", "Cache", "LayerFormat", "Streams", "Oci", "Engines"],
        ["Settings"] = ["Nix", "BinaryCache", "Registry", "Layers", "Engines", "Cache", "Streams", "Oci"],
        ["Sources"] = ["Settings", "Nix", "BinaryCache", "Registry", "Layers", "Cache", "LayerFormat", "Oci"],
        ["Image"] = ["Settings", "Sources", "Layers", "LayerFormat", "Cache", "Nix", "Oci", "Sbom"],
        ["Sbom"] = ["Nix", "Oci"],
        ["Sinks"] = ["Settings", "Registry", "Engines", "LayerFormat", "Streams", "Oci"],

        // The parts they are made of.
        ["Nix"] = ["Processes"],
        ["BinaryCache"] = ["Nix", "Layers", "LayerFormat", "Cache", "Streams", "Oci"],
        ["Registry"] = ["Streams", "Oci", "Processes"],
        ["Engines"] = ["Processes"],
        ["Layers"] = ["Nix", "Elf", "LayerFormat", "Streams"],
        ["Elf"] = ["LayerFormat"],
        ["Cache"] = ["LayerFormat", "Streams", "Oci"],
        ["LayerFormat"] = ["Streams", "Oci"],
        ["Streams"] = ["Oci"],
        ["Oci"] = [],
        ["Processes"] = [],
        ["Diagnostics"] = [],
    };

    private static string Source => Path.Combine(RepositoryRoot.Path, "src", "Nixery.Build.Tasks");

    [Fact]
    public void EveryFolderIsInTheMap()
    {
        var folders = Directory.GetDirectories(Source)
            .Select(Path.GetFileName)
            .Where(f => f is not ("bin" or "obj"))
            .Order(StringComparer.Ordinal);

        Assert.Equal(Allowed.Keys.Order(StringComparer.Ordinal), folders);
    }

    [Fact]
    public void EachFolderUsesOnlyTheFoldersItMay()
    {
        var offences = new List<string>();
        foreach (var (folder, allowed) in Allowed)
        {
            foreach (var file in Files(folder))
            {
                var text = File.ReadAllText(file);
                var used = NamespaceUse().Matches(text).Select(m => m.Groups[1].Value)
                    .Concat(QualifiedUse().Matches(text).Where(m => TypesOf(m.Groups[1].Value).Contains(m.Groups[2].Value)).Select(m => m.Groups[1].Value))
                    .Distinct(StringComparer.Ordinal);
                offences.AddRange(used
                    .Where(u => Allowed.ContainsKey(u) && u != folder && u != "Diagnostics" && !allowed.Contains(u))
                    .Select(u => $"{Path.GetRelativePath(Source, file)} uses {u}"));
            }
        }

        Assert.Empty(offences);
    }

    [Fact]
    public void EngineFoldersDoNotReferenceMicrosoftBuild() => Assert.Empty(Offenders(allowedIn: "Tasks", MicrosoftBuild()));

    [Fact]
    public void OnlyProcessesStartsProcesses() => Assert.Empty(Offenders(allowedIn: "Processes", ProcessStart()));

    /// <summary>Pipeline may hand an HttpMessageHandler through (tests inject one); sending is for the registry client and the binary-cache client.</summary>
    [Fact]
    public void OnlyRegistryAndBinaryCacheSpeakHttp() => Assert.Empty(Offenders(allowedIn: ["Registry", "BinaryCache"], HttpUse()));

    [Fact]
    public void EachFolderReadmeStatesItsPartOfTheMap()
    {
        foreach (var (folder, allowed) in Allowed)
        {
            var readme = Path.Combine(Source, folder, "README.md");
            Assert.True(File.Exists(readme), $"{folder}/ has no README.md");
            var line = folder == "Diagnostics" ? "May use: nothing."
                : "May use: " + (allowed.Length == 0 ? "nothing" : string.Join(", ", allowed.Select(a => $"`{a}/`"))) + " (and `Diagnostics/`).";
            Assert.True(File.ReadAllText(readme).Contains(line, StringComparison.Ordinal), $"{folder}/README.md lacks the line: {line}");
        }
    }

    [Fact]
    public void TheArchitecturePageHasTheSameMap()
    {
        var page = File.ReadAllLines(Path.Combine(RepositoryRoot.Path, "docs", "architecture.md"));
        var rows = page.Where(l => l.StartsWith("| `", StringComparison.Ordinal))
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries))
            .ToDictionary(cells => cells[1].Trim('`').TrimEnd('/'), cells => cells[3], StringComparer.Ordinal);

        Assert.Equal(Allowed.Keys.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
        foreach (var (folder, allowed) in Allowed)
        {
            Assert.Equal(allowed.Length == 0 ? "nothing" : string.Join(", ", allowed.Select(a => $"`{a}/`")), rows[folder]);
        }
    }

    /// <summary>The files outside <paramref name="allowedIn"/> whose text matches <paramref name="pattern"/>.</summary>
    private static IEnumerable<string> Offenders(string allowedIn, Regex pattern) => Offenders([allowedIn], pattern);

    private static IEnumerable<string> Offenders(string[] allowedIn, Regex pattern) => Allowed.Keys
        .Where(f => !allowedIn.Contains(f))
        .SelectMany(Files)
        .Where(file => pattern.IsMatch(File.ReadAllText(file)))
        .Select(file => Path.GetRelativePath(Source, file));

    /// <summary>
    /// The types a folder declares: inside <c>Nixery.Build.*</c>, a file can name another folder's type as
    /// <c>Folder.Type</c> without a using directive, which the namespace check alone would not see.
    /// </summary>
    private static HashSet<string> TypesOf(string folder) => TypeNames.GetOrAdd(folder, f => Files(f)
        .SelectMany(file => TypeDeclaration().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value))
        .ToHashSet(StringComparer.Ordinal));

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, HashSet<string>> TypeNames = new(StringComparer.Ordinal);

    private static IEnumerable<string> Files(string folder)
    {
        var path = Path.Combine(Source, folder);
        return Directory.Exists(path) ? Directory.EnumerateFiles(path, "*.cs", SearchOption.AllDirectories) : [];
    }

    [GeneratedRegex(@"\bNixery\.Build\.([A-Z][A-Za-z]*)\b")]
    private static partial Regex NamespaceUse();

    /// <summary><c>Folder.Name</c> not preceded by a dot or a word (a member access such as <c>writer.Settings</c> is not a folder).</summary>
    [GeneratedRegex(@"(?<![.\w])([A-Z][A-Za-z]*)\.([A-Z][A-Za-z0-9]*)\b")]
    private static partial Regex QualifiedUse();

    [GeneratedRegex(@"\b(?:class|record|interface|enum|struct)\s+([A-Z][A-Za-z0-9]*)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"\bMicrosoft\.Build\b")]
    private static partial Regex MicrosoftBuild();

    [GeneratedRegex(@"\b(Process\.Start|ProcessStartInfo|new Process\b|posix_spawn\b|fork\(|execve?\()")]
    private static partial Regex ProcessStart();

    [GeneratedRegex(@"\b(HttpClient|HttpRequestMessage|HttpResponseMessage|SocketsHttpHandler|TcpClient|Socket)\b")]
    private static partial Regex HttpUse();
}
