using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Nixery.Build.Tests.EndToEnd.Registry;
using Nixery.Build.Tests.Support;
using Xunit.Abstractions;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// Freshness has one owner: a project goes through a sequence of edits (a code change, a container setting, a Nix
/// package, a NuGet package, the layer budget, and a revert to where it began), and after each one its incremental
/// publish must give the very image a clean publish of the same sources gives in another folder with nothing cached
/// (new obj/ and bin/, an empty layer cache, an archive where there was none): the manifest digest the destination
/// holds (the archive's or the layout's index, the manifest the registry serves) and the config's digest (Podman's
/// image ID). A publish with no edit writes nothing. For each source of the runtime closure (Nix, a lock and a binary
/// cache without Nix, Nix on a base image) and each destination (archive, OCI layout, registry, Podman).
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class FreshnessSequenceTests : IClassFixture<BaseImageRegistry>
{
    private const string Repository = "freshness/app";

    private readonly PackageFeed _feed;
    private readonly BaseImageRegistry _bases;
    private readonly ITestOutputHelper _output;

    public FreshnessSequenceTests(PackageFeed feed, BaseImageRegistry bases, ITestOutputHelper output)
    {
        _feed = feed;
        _bases = bases;
        _output = output;
    }

    public enum Source
    {
        /// <summary>Nix on PATH resolves the closure (the sample's default).</summary>
        Nix,

        /// <summary>No Nix at all: nix-image.lock.json and a signed binary cache over HTTP.</summary>
        LockAndBinaryCache,

        /// <summary>Nix, on ContainerBaseImage from the test registry.</summary>
        BaseImage,
    }

    public enum Destination
    {
        Archive,
        OciLayout,
        Registry,
        Podman,
    }

    /// <summary>The edits, applied one after another; the last one puts the first state's files back.</summary>
    public enum Step
    {
        First = 1,
        CodeChange,
        ContainerSetting,
        NixPackageAdded,
        NuGetPackageAdded,
        LayerBudgetChanged,
        RevertedToFirst,
    }

    /// <param name="steps">The steps of <see cref="Step"/> this row goes through, by number: the Nix-to-archive row
    /// goes through all of them; the others (a publish costs seconds) through those that concern their source or
    /// destination, and always the first state, the revert to it, and an unchanged publish after each.</param>
    [Theory]
    [InlineData(Source.Nix, Destination.Archive, "1234567")]
    [InlineData(Source.Nix, Destination.OciLayout, "1357")]
    [InlineData(Source.Nix, Destination.Registry, "1357")]
    [InlineData(Source.Nix, Destination.Podman, "1357")]
    [InlineData(Source.LockAndBinaryCache, Destination.Archive, "1467")]
    [InlineData(Source.BaseImage, Destination.Registry, "1347")]
    public void EachEditsIncrementalPublishGivesTheImageOfACleanPublishAndAnUnchangedPublishWritesNothing(Source source, Destination destination, string steps)
    {
        using var context = new CaseContext(this, source, destination);
        var digests = new Dictionary<Step, ImageDigests>();

        // What went wrong, gathered so that one wrong step does not hide what the later ones would show.
        var problems = new List<string>();
        foreach (var step in steps.Select(c => (Step)(c - '0')))
        {
            Assert.True(Enum.IsDefined(step), $"no step {(int)step}");
            var what = $"{source} → {destination}, step {(int)step} ({step})";
            context.Apply(step);
            var incremental = context.PublishIncremental(step);
            var clean = context.PublishClean(step);
            _output.WriteLine($"{what}: incremental {incremental}; clean {clean}");
            if (clean != incremental)
            {
                problems.Add($"{what}: the incremental publish gave {incremental}; a clean publish of the same sources {clean}");
            }

            digests[step] = incremental;
            if (step is Step.First or Step.RevertedToFirst)
            {
                problems.AddRange(context.UnchangedPublishWrites(step, incremental).Select(p => $"{what}, unchanged publish: {p}"));
            }
        }

        // Every edit changed the image (else the step proved nothing), and the revert gives the first image back.
        var changed = digests.Where(d => d.Key != Step.RevertedToFirst).Select(d => d.Value.Manifest).ToList();
        Assert.Equal(changed.Count, changed.Distinct(StringComparer.Ordinal).Count());
        if (digests.TryGetValue(Step.RevertedToFirst, out var reverted) && reverted != digests[Step.First])
        {
            problems.Add($"{source} → {destination}: the revert gave {reverted}, the first state {digests[Step.First]}");
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    /// <summary>An image's manifest digest, and its config's digest (Podman's image ID).</summary>
    private sealed record ImageDigests(string Manifest, string Config)
    {
        public override string ToString() => $"manifest {Manifest}, config {Config}";
    }

    /// <summary>
    /// One row: the incremental project, its destination and its closure source. Clean publishes go to an archive in a
    /// new copy; one per distinct sources and closure source in a test run (the same files give the same image, so rows
    /// that reach the same state share it).
    /// </summary>
    private sealed class CaseContext : IDisposable
    {
        private const string LockFileName = "nix-image.lock.json";

        private static readonly string[] SourceFiles = ["Program.cs", "HelloNix.csproj", LockFileName];

        private static readonly ConcurrentDictionary<string, Lazy<ImageDigests>> CleanImages = new(StringComparer.Ordinal);

        private readonly FreshnessSequenceTests _test;
        private readonly Source _source;
        private readonly Destination _destination;
        private readonly SampleProject _project;
        private readonly List<IDisposable> _owned = [];
        private readonly Dictionary<string, byte[]> _firstState = new(StringComparer.Ordinal);
        private readonly FileServer? _binaryCache;
        private readonly Dictionary<string, string?> _podman = new(StringComparer.Ordinal);
        private string? _summaryPath;

        public CaseContext(FreshnessSequenceTests test, Source source, Destination destination)
        {
            _test = test;
            _source = source;
            _destination = destination;
            _project = Own(SampleProject.Copy(test._feed));
            if (source == Source.LockAndBinaryCache)
            {
                _binaryCache = Own(new FileServer(SignedBinaryCache.Shared.Folder));
            }

            if (destination == Destination.Podman)
            {
                // A Podman storage of the row's own, never the machine's.
                _podman = LocalEngineTests.PodmanStorage(Own(new TempDirectory("nixery-podman")), "vfs");
            }
        }

        private TestRegistry Registry => _test._bases.Registry;

        private string SummaryPath => _summaryPath ?? throw new InvalidOperationException("no publish yet");

        private string LayoutPath => Path.Combine(_project.Root, "oci-layout");

        public void Dispose()
        {
            for (var i = _owned.Count - 1; i >= 0; i--)
            {
                _owned[i].Dispose();
            }
        }

        public void Apply(Step step)
        {
            switch (step)
            {
                case Step.First:
                    break;
                case Step.CodeChange:
                    var program = Path.Combine(_project.Directory, "Program.cs");
                    File.WriteAllText(program, File.ReadAllText(program).Replace("Hello from Nix!", "Hello again from Nix!", StringComparison.Ordinal));
                    break;
                case Step.ContainerSetting:
                    _project.AddToProject("""
                        <ItemGroup>
                          <ContainerEnvironmentVariable Include="FRESHNESS_STEP" Value="3" />
                          <ContainerLabel Include="freshness.step" Value="3" />
                        </ItemGroup>
                        """);
                    break;
                case Step.NixPackageAdded:
                    _project.AddToProject("""<ItemGroup><NixPackage Include="nano" /></ItemGroup>""");
                    break;
                case Step.NuGetPackageAdded:
                    _project.AddToProject("""<ItemGroup><PackageReference Include="Newtonsoft.Json" Version="13.0.3" /></ItemGroup>""");
                    break;
                case Step.LayerBudgetChanged:
                    _project.AddToProject("<PropertyGroup><NixLayerBudget>4</NixLayerBudget></PropertyGroup>");
                    break;
                case Step.RevertedToFirst:
                    // As a checkout of the first commit would: the first state's bytes, written now.
                    foreach (var name in SourceFiles)
                    {
                        var path = Path.Combine(_project.Directory, name);
                        if (_firstState.TryGetValue(name, out var bytes))
                        {
                            File.WriteAllBytes(path, bytes);
                        }
                        else
                        {
                            File.Delete(path);
                        }
                    }

                    break;
            }

            if (_source == Source.LockAndBinaryCache && step is Step.First or Step.NixPackageAdded)
            {
                // A developer with Nix locks the new closure; CI, without Nix, has the lock and a filled binary cache.
                Lock();
            }

            if (step == Step.First)
            {
                foreach (var name in SourceFiles.Where(n => File.Exists(Path.Combine(_project.Directory, n))))
                {
                    _firstState[name] = File.ReadAllBytes(Path.Combine(_project.Directory, name));
                }
            }
        }

        /// <summary>Publishes the project where it is, with what earlier steps left behind; the digests its destination holds.</summary>
        public ImageDigests PublishIncremental(Step step)
        {
            var result = Publish(_project, _destination, step, clean: false);
            Assert.True(result.ExitCode == 0, $"{_source} → {_destination}, step {(int)step} ({step}), incremental publish failed:\n{result.Output}");
            return DestinationDigests();
        }

        /// <summary>
        /// Copies the project's sources into a new folder (new obj/ and bin/, an empty layer cache) and publishes them
        /// there to an archive: the digests in the archive.
        /// </summary>
        public ImageDigests PublishClean(Step step)
        {
            var key = _source + "\n" + string.Join('\n', SourceFiles.Select(name =>
            {
                var path = Path.Combine(_project.Directory, name);
                return name + " " + (File.Exists(path) ? Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))) : "-");
            }));
            return CleanImages.GetOrAdd(key, _ => new Lazy<ImageDigests>(() =>
            {
                using var clean = SampleProject.Copy(_test._feed);
                foreach (var name in SourceFiles)
                {
                    var from = Path.Combine(_project.Directory, name);
                    var to = Path.Combine(clean.Directory, name);
                    File.Delete(to);
                    if (File.Exists(from))
                    {
                        File.Copy(from, to);
                    }
                }

                Assert.False(Directory.Exists(clean.CacheDirectory), "the clean copy's layer cache is not empty");
                var result = Publish(clean, Destination.Archive, step, clean: true);
                Assert.True(result.ExitCode == 0, $"{_source}, step {(int)step} ({step}), clean publish failed:\n{result.Output}");
                var archive = Path.Combine(clean.Directory, "bin", "Release", "net10.0", "linux-x64", "image", Repository.Replace('/', '-') + ".tar");
                return ArchiveDigests(archive);
            })).Value;
        }

        /// <summary>
        /// The same publish again, which must write nothing: what it wrote (none of it is expected). The summary (and
        /// the archive or the layout) keep their bytes and times, the layer cache gains no file, the registry gets no
        /// upload, Podman loads nothing, the binary cache is not asked, and the destination holds the same image.
        /// </summary>
        public List<string> UnchangedPublishWrites(Step step, ImageDigests digests)
        {
            var watched = new List<string> { SummaryPath };
            if (_destination == Destination.Archive)
            {
                watched.Add(Path.ChangeExtension(SummaryPath, ".tar"));
            }

            if (_destination == Destination.OciLayout)
            {
                watched.AddRange(Files(LayoutPath));
            }

            var before = watched.ToDictionary(f => f, f => (Time: File.GetLastWriteTimeUtc(f), Bytes: File.ReadAllBytes(f)), StringComparer.Ordinal);
            var cacheBefore = Files(_project.CacheDirectory);
            var layoutBefore = Files(LayoutPath);
            var registryMark = Registry.Mark();
            var cacheRequests = _binaryCache?.Requests.Count ?? 0;

            var again = Publish(_project, _destination, step, clean: false);

            Assert.True(again.ExitCode == 0, $"{_source} → {_destination}, step {(int)step} ({step}), unchanged publish failed:\n{again.Output}");
            var problems = new List<string>();
            if (!again.Output.Contains("is up to date", StringComparison.Ordinal))
            {
                problems.Add("the build did not find the image up to date");
            }

            foreach (var (file, (time, bytes)) in before)
            {
                var same = bytes.AsSpan().SequenceEqual(File.ReadAllBytes(file));
                if (time != File.GetLastWriteTimeUtc(file) || !same)
                {
                    problems.Add($"{file} was written again ({(same ? "same bytes" : "other bytes")}, modified {time:HH:mm:ss.fff} → {File.GetLastWriteTimeUtc(file):HH:mm:ss.fff})");
                }
            }

            problems.AddRange(Files(_project.CacheDirectory).Except(cacheBefore).Select(f => $"the layer cache gained {f}"));
            problems.AddRange(Files(LayoutPath).Except(layoutBefore).Select(f => $"the layout gained {f}"));
            problems.AddRange(Registry.AccessLogSince(registryMark).Where(e => e.Method is "PUT" or "POST" or "PATCH" or "DELETE").Select(e => $"the registry got {e.Method} {e.Path}"));
            if (again.Output.Contains("Loaded into Podman", StringComparison.Ordinal))
            {
                problems.Add("the image was loaded into Podman again");
            }

            if (cacheRequests != (_binaryCache?.Requests.Count ?? 0))
            {
                problems.Add($"the binary cache was asked for {string.Join(", ", _binaryCache!.Requests.Skip(cacheRequests))}");
            }

            var now = DestinationDigests();
            if (now != digests)
            {
                problems.Add($"the destination holds {now}, before {digests}");
            }

            return problems;
        }

        private static List<string> Files(string folder) =>
            Directory.Exists(folder) ? [.. Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)] : [];

        /// <summary>The digests in an archive (its index's one manifest), checked against the summary the build wrote beside it.</summary>
        private static ImageDigests ArchiveDigests(string archive)
        {
            var summary = Summary(Path.ChangeExtension(archive, ".json"));
            var index = Command.Run("tar", ["-xOf", archive, "index.json"]).EnsureSuccess().StandardOutput;
            using var document = JsonDocument.Parse(index);
            var archived = Assert.Single(document.RootElement.GetProperty("manifests").EnumerateArray()).GetProperty("digest").GetString()!;
            Assert.Equal(summary.Manifest, archived);
            return summary;
        }

        private static ImageDigests Summary(string path)
        {
            using var summary = JsonDocument.Parse(File.ReadAllBytes(path));
            return new ImageDigests(summary.RootElement.GetProperty("manifestDigest").GetString()!, summary.RootElement.GetProperty("configDigest").GetString()!);
        }

        /// <summary>The digest of the manifest the registry serves for the tag (the hash of its bytes, read with HTTP).</summary>
        private static string RegistryManifestDigest(string registry, string repository, string tag)
        {
            using var http = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{registry}/v2/{repository}/manifests/{tag}");
            foreach (var type in new[] { "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.index.v1+json" })
            {
                request.Headers.Accept.Add(new System.Net.Http.Headers.MediaTypeWithQualityHeaderValue(type));
            }

            using var response = http.Send(request);
            response.EnsureSuccessStatusCode();
            var raw = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
            return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(raw));
        }

        private T Own<T>(T disposable)
            where T : IDisposable
        {
            _owned.Add(disposable);
            return disposable;
        }

        private CommandResult Publish(SampleProject project, Destination destination, Step step, bool clean)
        {
            // One repository for every row and destination, so that all of them name (and label) the image alike.
            var arguments = new List<string> { "-p:ContainerRepository=" + Repository };
            var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
            if (_source == Source.BaseImage)
            {
                arguments.Add($"-p:ContainerBaseImage={Registry.Name}/test/base:1");
            }

            switch (destination)
            {
                case Destination.OciLayout:
                    arguments.Add("-p:NixImageOciLayoutPath=" + LayoutPath);
                    break;
                case Destination.Registry:
                    arguments.Add("-p:ContainerRegistry=" + Registry.Name);
                    foreach (var (name, value) in RegistryPush.IsolatedEnvironment(project))
                    {
                        environment[name] = value;
                    }

                    break;
                case Destination.Podman:
                    arguments.Add("-p:LocalRegistry=Podman");
                    foreach (var (name, value) in _podman)
                    {
                        environment[name] = value;
                    }

                    break;
            }

            if (!clean && _summaryPath is null)
            {
                // The summary's path, asked once (the repository, and so the file's name, never changes).
                arguments.Add("-getProperty:NixImageSummaryPath");
            }

            var started = Stopwatch.StartNew();
            var result = _source == Source.LockAndBinaryCache
                ? SignedBinaryCache.PublishWithoutNix(project, _binaryCache!.Url, SignedBinaryCache.Shared.PublicKey, arguments, environment)
                : project.Publish(["-r", "linux-x64", .. arguments], environment);
            _test._output.WriteLine($"  {(clean ? "clean" : "incremental")} publish, step {(int)step}: {started.Elapsed.TotalSeconds:F1} s");
            if (result.ExitCode == 0 && !clean && _summaryPath is null)
            {
                _summaryPath = result.StandardOutput.Trim().Split('\n')[^1].Trim();
                Assert.True(File.Exists(_summaryPath), $"no summary at '{_summaryPath}':\n{result.Output}");
            }

            return result;
        }

        /// <summary>
        /// The digests the destination holds: the manifest's in the archive, the layout's index or the registry (and the
        /// summary's config digest), or Podman's image ID (the config's digest, and the summary's manifest digest).
        /// </summary>
        private ImageDigests DestinationDigests()
        {
            var summary = Summary(SummaryPath);
            switch (_destination)
            {
                case Destination.Archive:
                    return ArchiveDigests(Path.ChangeExtension(SummaryPath, ".tar"));
                case Destination.OciLayout:
                    using (var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(LayoutPath, "index.json"))))
                    {
                        var entry = Assert.Single(index.RootElement.GetProperty("manifests").EnumerateArray(), e => e.TryGetProperty("annotations", out var a) && a.TryGetProperty("org.opencontainers.image.ref.name", out _));
                        return summary with { Manifest = entry.GetProperty("digest").GetString()! };
                    }

                case Destination.Registry:
                    return summary with { Manifest = RegistryManifestDigest(Registry.Name, Repository, "latest") };
                case Destination.Podman:
                    var inspect = Command.Run("podman", ["image", "inspect", $"localhost/{Repository}:latest"], environment: _podman).EnsureSuccess().StandardOutput;
                    using (var image = JsonDocument.Parse(inspect))
                    {
                        return summary with { Config = "sha256:" + image.RootElement[0].GetProperty("Id").GetString() };
                    }

                default:
                    throw new InvalidOperationException(_destination.ToString());
            }
        }

        /// <summary>Locks the project's packages with Nix in a scratch copy, as a developer would, and fills the binary cache with the closure.</summary>
        private void Lock()
        {
            using var scratch = SampleProject.Copy(_test._feed);
            foreach (var name in SourceFiles.Where(n => n != LockFileName))
            {
                File.Copy(Path.Combine(_project.Directory, name), Path.Combine(scratch.Directory, name), overwrite: true);
            }

            var locked = scratch.Dotnet(["build", scratch.ProjectFile, "-t:NixLock", "-p:ContainerRuntimeIdentifiers=linux-x64"], binaryLog: false);
            Assert.True(locked.ExitCode == 0, locked.Output);
            var lockFile = Path.Combine(_project.Directory, LockFileName);
            File.Copy(Path.Combine(scratch.Directory, LockFileName), lockFile, overwrite: true);
            SignedBinaryCache.Shared.Fill(SignedBinaryCache.LockedPaths(lockFile));
        }
    }
}
