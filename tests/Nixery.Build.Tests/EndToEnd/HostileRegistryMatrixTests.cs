using System.Diagnostics;
using System.Net;
using System.Text;
using Nixery.Build.Tests.EndToEnd.Registry;
using Nixery.Build.Tests.Support;
using Xunit.Abstractions;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// The hostile-source section of the bad-input matrix (BadInputMatrixTests' style), for base images: every row
/// publishes for real on a base a <see cref="HostileRegistry"/> on 127.0.0.1 serves, crafted or answered so as to
/// lie, and must end as the coded error it names — never NIXIMG099, MSB4018, a hang or a silent accept. A row with
/// no code must succeed, and its check must hold. The counts are printed at the end.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class HostileRegistryMatrixTests
{
    private static readonly TimeSpan RowTimeout = TimeSpan.FromMinutes(3);

    private readonly PackageFeed _feed;
    private readonly ITestOutputHelper _output;

    public HostileRegistryMatrixTests(PackageFeed feed, ITestOutputHelper output)
    {
        _feed = feed;
        _output = output;
    }

    /// <summary>A hostile base: what it is, the code it must end in (null: it must succeed), the base's repository, how to serve it.</summary>
    private sealed record Row(string Input, string? Code, string Repository, Action<HostileRegistry> Serve)
    {
        public string[] Arguments { get; init; } = [];

        /// <summary>Text the error must hold (the row's own failure, not another).</summary>
        public string? Expect { get; init; }

        public Func<SampleProject, IDisposable?>? Arrange { get; init; }

        /// <summary>For a row that succeeds: what must be true of the image (an empty string: it is).</summary>
        public Func<SampleProject, string>? Check { get; init; }
    }

    private enum Outcome
    {
        CodedError,
        Accepted,
        WrongCode,
        InternalError,
        Crash,
        Hang,
        SilentAccept,
    }

    private static IEnumerable<Row> Rows(SampleProject project)
    {
        static string Replace(string json, string from, string to) => json.Replace(from, to, StringComparison.Ordinal);
        static byte[] Plain(string repository) => HostileRegistry.PlainLayer(repository);
        const string Index = "application/vnd.oci.image.index.v1+json";
        const string Zeros = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

        // Downloads stop at what was declared.
        yield return new("blob body 1 GB past its declared size", "NIXIMG035", "oversize", r => r.Serve("oversize", [Plain("oversize")], blob: (i, _) => i == 0
            ? async context =>
            {
                context.Response.ContentLength64 = 1L << 30;
                await r.Endless(context, []);
            }
        : null))
        { Expect = "more than" };
        yield return new("endless chunked manifest", "NIXIMG035", "endless-manifest", r => r.Serve("endless-manifest", [Plain("endless-manifest")], manifestAnswer: async context =>
        {
            if (context.Request.HttpMethod == "HEAD")
            {
                await r.Answer(context, HttpStatusCode.OK, []);
                return;
            }

            context.Response.ContentType = "application/vnd.oci.image.manifest.v1+json";
            context.Response.SendChunked = true;
            await r.Endless(context, "{\"schemaVersion\":2,\"x\":\""u8.ToArray());
        }))
        { Expect = "4194304 bytes" };
        yield return new("endless token answer", "NIXIMG035", "endless-token", r =>
        {
            r.Serve("endless-token", [Plain("endless-token")]);
            r.Route("/v2/endless-token/manifests/1", async context =>
            {
                if (context.Request.Headers["Authorization"] is null)
                {
                    context.Response.Headers["WWW-Authenticate"] = $"Bearer realm=\"http://{r.Name}/token\",service=\"hostile\"";
                    await r.Answer(context, HttpStatusCode.Unauthorized, []);
                    return;
                }

                await r.Answer(context, HttpStatusCode.NotFound, []);
            });
        })
        { Expect = "4194304 bytes" };

        // No wait without bound.
        yield return new("base blob trickled at 1 byte/s", "NIXIMG033", "trickle", r =>
        {
            var layer = HostileRegistry.Gzip(Plain("trickle"));
            r.Serve("trickle", [Plain("trickle")], blob: (i, _) => i == 0 ? context => r.Trickle(context, layer) : null);
        })
        { Expect = "no progress" };
        yield return new("base blob that stalls after its headers", "NIXIMG033", "stall", r => r.Serve("stall", [Plain("stall")], blob: (i, _) => i == 0
            ? async context =>
            {
                context.Response.ContentLength64 = 4096;
                await context.Response.OutputStream.WriteAsync(new byte[10]);
                await context.Response.OutputStream.FlushAsync();
                await Task.Delay(TimeSpan.FromMinutes(4));
            }
        : null))
        { Expect = "no progress" };

        // Malformed documents: coded input errors, never NIXIMG099.
        yield return new("manifest served with an index media type", "NIXIMG046", "manifest-as-index", r => r.Serve("manifest-as-index", [Plain("manifest-as-index")], manifest: m => Replace(m, "application/vnd.oci.image.manifest.v1+json", Index)));
        yield return new("index without manifests", "NIXIMG046", "index-empty", r => r.Serve("index-empty", [Plain("index-empty")], manifest: _ => $$"""{"schemaVersion":2,"mediaType":"{{Index}}"}"""));
        yield return new("index whose platform is a string", "NIXIMG046", "platform-string", r => r.Serve("platform-string", [Plain("platform-string")], manifest: _ =>
            $$"""{"schemaVersion":2,"mediaType":"{{Index}}","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{{Zeros}}","size":2,"platform":"linux/amd64"}]}"""));
        yield return new("layer digest sha256:../../etc/passwd", "NIXIMG046", "digest-escape", r => r.Serve("digest-escape", [Plain("digest-escape")], manifest: m =>
            System.Text.RegularExpressions.Regex.Replace(m, "(\"layers\":\\[\\{[^}]*\"digest\":\")sha256:[0-9a-f]{64}", "$1sha256:../../etc/passwd")));
        yield return new("negative layer size", "NIXIMG046", "negative-size", r => r.Serve("negative-size", [Plain("negative-size")], manifest: m =>
            System.Text.RegularExpressions.Regex.Replace(m, "(\"layers\":\\[\\{[^}]*\"size\":)[0-9]+", "$1-1")));
        yield return new("config whose diff_ids is a string", "NIXIMG046", "diffids-string", r => r.Serve("diffids-string", [Plain("diffids-string")], config: c =>
            System.Text.RegularExpressions.Regex.Replace(c, "\"diff_ids\":\\[[^\\]]*\\]", "\"diff_ids\":\"x\"")));
        yield return new("blob redirect to file:///etc/passwd", "NIXIMG035", "redirect-file", r => r.Serve("redirect-file", [Plain("redirect-file")], blob: (i, _) => i == 0
            ? context =>
            {
                context.Response.Headers["Location"] = "file:///etc/passwd";
                return r.Answer(context, HttpStatusCode.TemporaryRedirect, []);
            }
        : null))
        { Expect = "not an http or https URL" };

        // Base images checked as umoci and containerd check them.
        yield return new("config diff_ids that do not match the layers", "NIXIMG046", "wrong-diffid", r => r.Serve("wrong-diffid", [Plain("wrong-diffid")], config: c =>
            System.Text.RegularExpressions.Regex.Replace(c, "sha256:[0-9a-f]{64}", Zeros)))
        { Expect = "diff_ids do not match" };
        yield return new("/etc/passwd over 1 MiB with ContainerUser=app", "NIXIMG046", "huge-passwd", r => r.Serve("huge-passwd", [HostileRegistry.PlainLayer("huge-passwd", "root:x:0:0:root:/root:/bin/sh\n" + new string('#', 1 << 20) + "\n")]))
        {
            Arguments = ["-p:ContainerUser=app"],
            Expect = "over 1 MiB",
        };
        yield return new("500-layer base", "NIXIMG009", "many-layers", r => r.Serve("many-layers", Enumerable.Range(0, 500).Select(i => HostileRegistry.Layer(($"l{i}", Encoding.ASCII.GetBytes($"many-layers {i}")))).ToList()))
        { Expect = "too many to build on" };
        yield return new("root opaque whiteout hiding the base's /etc/passwd", null, "root-opaque", r => r.Serve("root-opaque", [
            HostileRegistry.PlainLayer("root-opaque", "root:x:0:0:root:/root:/bin/sh\nhidden:x:77:77::/:/bin/sh\n"),
            HostileRegistry.Layer(("./.wh..wh..opq", []), ("tmp/", null), ("etc/", null), ("etc/group", "root:x:0:\n"u8.ToArray())),
        ]))
        {
            Arguments = ["-p:ContainerUser=app"],
            Check = p =>
            {
                using var image = new ImageReader(p.DefaultArchive());
                var passwd = File.ReadAllText(Path.Combine(image.RootFileSystem, "etc", "passwd"));
                return passwd.Contains("hidden", StringComparison.Ordinal) ? "the hidden /etc/passwd came back: " + passwd : passwd.Contains("app:x:1654", StringComparison.Ordinal) ? string.Empty : "no app user: " + passwd;
            },
        };

        // Right codes: the layer cache's disk, not the network.
        var fullCache = Path.Combine(project.Root, "full-cache");
        yield return new("full disk under the layer cache during a base pull", "NIXIMG012", "full-disk", r => r.Serve("full-disk", [HostileRegistry.Layer(("etc/", null), ("noise", RandomNumberGenerator(3 << 20)))]))
        {
            Arguments = ["-p:NixImageCacheDirectory=" + fullCache],
            Arrange = _ => SmallDisk(fullCache, "2m"),
            Expect = "No space left on device",
        };
        var lockedCache = Path.Combine(project.Root, "locked-cache");
        yield return new("layer cache that cannot be written during a base pull", "NIXIMG012", "locked-cache", r => r.Serve("locked-cache", [Plain("locked-cache")]))
        {
            Arguments = ["-p:NixImageCacheDirectory=" + lockedCache],
            Arrange = _ => Immutable(lockedCache),
        };
    }

    [Fact]
    public void EveryHostileBaseIsACodedErrorNeverNiximg099AHangOrASilentAccept()
    {
        using var project = SampleProject.Copy(_feed);
        using var registry = new HostileRegistry();
        var good = project.Publish("-r", "linux-x64");
        Assert.True(good.ExitCode == 0, good.Output);

        var results = new List<(Row Row, Outcome Outcome, string Detail)>();
        foreach (var row in Rows(project))
        {
            row.Serve(registry);
            using (row.Arrange?.Invoke(project))
            {
                var stopwatch = Stopwatch.StartNew();
                var sentBefore = registry.Sent;
                CommandResult? publish = null;
                try
                {
                    publish = project.Dotnet(
                        ["publish", project.ProjectFile, "-c", "Release", "-p:NixImage=true", "-r", "linux-x64", $"-p:ContainerBaseImage={registry.Name}/{row.Repository}:1", "-p:NixImageRegistryTimeout=2", .. row.Arguments],
                        binaryLog: false,
                        timeout: RowTimeout);
                }
                catch (TimeoutException)
                {
                }

                var (outcome, detail) = Classify(row, publish, project);
                results.Add((row, outcome, detail));
                var blobGets = $", {registry.BlobRequests(row.Repository)} blob request(s)";
                _output.WriteLine($"{outcome,-13} {row.Code ?? "success"} {row.Input} ({stopwatch.Elapsed.TotalSeconds:0.0} s, {(registry.Sent - sentBefore) / 1024.0 / 1024.0:0.0} MiB sent{blobGets}){(detail.Length > 0 ? ": " + detail : string.Empty)}");
            }
        }

        var counts = Enum.GetValues<Outcome>().ToDictionary(o => o, o => results.Count(r => r.Outcome == o));
        _output.WriteLine(
            $"{results.Count} inputs: {counts[Outcome.CodedError]} coded errors, {counts[Outcome.Accepted]} accepted as they should be, {counts[Outcome.WrongCode]} with another code, "
            + $"{counts[Outcome.InternalError]} NIXIMG099, {counts[Outcome.Crash]} MSB4018, {counts[Outcome.Hang]} hangs, {counts[Outcome.SilentAccept]} silent accepts");
        Assert.All(results, r => Assert.True(r.Outcome is Outcome.CodedError or Outcome.Accepted, $"{r.Row.Input}: {r.Outcome} {r.Detail}"));
    }

    private static (Outcome Outcome, string Detail) Classify(Row row, CommandResult? publish, SampleProject project)
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

        if (output.Contains("error NIXIMG099", StringComparison.Ordinal))
        {
            return (Outcome.InternalError, FirstLine(output, "error NIXIMG099"));
        }

        if (row.Code is null)
        {
            var problem = publish.ExitCode == 0 ? row.Check?.Invoke(project) ?? string.Empty : FirstLine(output, "error");
            return problem.Length == 0 ? (Outcome.Accepted, string.Empty) : (Outcome.WrongCode, problem);
        }

        if (publish.ExitCode == 0)
        {
            return (Outcome.SilentAccept, string.Empty);
        }

        var line = FirstLine(output, $"error {row.Code}");
        if (line.Length == 0)
        {
            return (Outcome.WrongCode, FirstLine(output, "error"));
        }

        if (row.Expect is { } expected && !line.Contains(expected, StringComparison.Ordinal))
        {
            return (Outcome.WrongCode, $"'{expected}' not in: {line}");
        }

        return line.Any(c => char.IsControl(c) && c != '\t') ? (Outcome.WrongCode, "control characters in the message") : (Outcome.CodedError, string.Empty);
    }

    private static string FirstLine(string output, string containing) =>
        output.Split('\n').FirstOrDefault(l => l.Contains(containing, StringComparison.Ordinal))?.Trim() ?? string.Empty;

    private static byte[] RandomNumberGenerator(int length) => System.Security.Cryptography.RandomNumberGenerator.GetBytes(length);

    /// <summary>A tmpfs of <paramref name="size"/> mounted at <paramref name="folder"/> (tests run as root).</summary>
    private static Undo SmallDisk(string folder, string size)
    {
        Directory.CreateDirectory(folder);
        Command.Run("mount", ["-t", "tmpfs", "-o", "size=" + size, "tmpfs", folder]).EnsureSuccess();
        return new Undo(() =>
        {
            Command.Run("umount", [folder]).EnsureSuccess();
            Directory.Delete(folder, recursive: true);
        });
    }

    /// <summary>An empty folder made immutable (chattr +i): nothing can be created in it, by root either.</summary>
    private static Undo Immutable(string folder)
    {
        Directory.CreateDirectory(folder);
        Command.Run("chattr", ["+i", folder]).EnsureSuccess();
        return new Undo(() =>
        {
            Command.Run("chattr", ["-i", folder]).EnsureSuccess();
            Directory.Delete(folder, recursive: true);
        });
    }

    private sealed class Undo(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }
}
