using System.Reflection;
using System.Text.RegularExpressions;
using Nixery.Build.Image;
using Nixery.Build.Tests.Image;
using Nixery.Build.Tests.Support;
using Xunit.Sdk;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// The roll-forward table of <see cref="FrameworkResolutionTests"/>, asked of the real .NET host: for each case a
/// fake install (a copy of this machine's <c>dotnet</c> muxer, its hostfxr, and one <c>shared/Microsoft.NETCore.App</c>
/// folder per version in the case, each a link to the real runtime) and an app whose runtimeconfig.json asks as the
/// case asks. The host's choice (from its trace: "Chose FX version [...]") or its failure must be the table's answer,
/// which the unit tests hold <see cref="FrameworkResolution"/> to, read through <see cref="RuntimeConfig"/> from the same file.
/// </summary>
public sealed class HostResolutionTests : IDisposable
{
    private static readonly Regex Chosen = new(@"Chose FX version \[(?<path>[^\]]+)\]", RegexOptions.CultureInvariant);
    private readonly TempDirectory _temp = new("host-resolution");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void TheRealHostChoosesWhatTheTableSays()
    {
        var failures = new List<string>();
        var cases = 0;
        foreach (var (method, environment, legacy) in new (string, Dictionary<string, string>, bool)[]
        {
            (nameof(FrameworkResolutionTests.PolicyChoosesAsTheHostDoes), [], false),
            (nameof(FrameworkResolutionTests.RollForwardToPrereleaseTreatsPrereleasesAsReleases), new() { [RuntimeConfig.RollForwardToPrereleaseVariable] = "1" }, false),
            (nameof(FrameworkResolutionTests.LegacyApplyPatchesFalseKeepsThePatchFound), [], true),
        })
        {
            var theory = typeof(FrameworkResolutionTests).GetMethod(method)!;
            foreach (var row in theory.GetCustomAttributes<InlineDataAttribute>().SelectMany(a => a.GetData(theory)))
            {
                var (requested, policy, installed, expected) = ((string)row[0], (string)row[1], (string)row[2], (string)row[3]);
                var options = legacy
                    ? $"\"rollForwardOnNoCandidateFx\": {(policy == "LatestPatch" ? 0 : 1)}, \"applyPatches\": false"
                    : $"\"rollForward\": \"{policy}\"";
                var json = "{\"runtimeOptions\": {\"tfm\": \"net10.0\", " + options
                    + ", \"framework\": {\"name\": \"Microsoft.NETCore.App\", \"version\": \"" + requested + "\"}}}";

                var host = AskTheHost(cases++, json, installed.Split(' ', StringSplitOptions.RemoveEmptyEntries), environment);
                var ours = FrameworkResolution.Resolve(
                    Assert.Single(RuntimeConfig.Parse(json, "app.runtimeconfig.json", environment).Frameworks),
                    installed.Split(' ', StringSplitOptions.RemoveEmptyEntries)) ?? "-";
                if (host != expected || ours != expected)
                {
                    failures.Add($"{requested} {policy}{(legacy ? " applyPatches=false" : string.Empty)} {string.Join(",", environment.Keys)} on [{installed}]: host {host}, ours {ours}, table {expected}");
                }
            }
        }

        Assert.True(cases > 50, $"only {cases} cases");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Theory]
    // DOTNET_ROLL_FORWARD wins over the file; an empty one is none; one that is no policy stops the host.
    [InlineData("Disable", "LatestMajor", "10.1.0")]
    [InlineData("Major", "", "10.0.12")]
    [InlineData("Disable", "latestpatch", "10.0.12")]
    [InlineData("LatestMinor", "Newest", "refused")]
    public void TheEnvironmentsPolicyIsReadAsTheHostReadsIt(string inFile, string variable, string expected)
    {
        var json = "{\"runtimeOptions\": {\"rollForward\": \"" + inFile + "\", \"framework\": {\"name\": \"Microsoft.NETCore.App\", \"version\": \"10.0.0\"}}}";
        var environment = new Dictionary<string, string> { ["DOTNET_ROLL_FORWARD"] = variable };
        string[] installed = ["10.0.3", "10.0.12", "10.1.0"];

        Assert.Equal(expected, AskTheHost(0, json, installed, environment));
        string ours;
        try
        {
            ours = FrameworkResolution.Resolve(Assert.Single(RuntimeConfig.Parse(json, "app.runtimeconfig.json", environment).Frameworks), installed) ?? "-";
        }
        catch (Nixery.Build.Diagnostics.NixImageException e) when (e.Code == Nixery.Build.Diagnostics.ErrorCodes.RuntimeConfigUnusable)
        {
            ours = "refused";
        }

        Assert.Equal(expected, ours);
    }

    /// <summary>The version folder the real host picks for the app, "-" when it finds none, "refused" when it refuses a setting.</summary>
    private string AskTheHost(int index, string runtimeConfig, string[] versions, Dictionary<string, string> environment)
    {
        var root = _temp.CreateDirectory($"case{index}/dotnet");
        File.Copy(Path.Combine(DotnetInstall.Root, "dotnet"), Path.Combine(root, "dotnet"));
        File.SetUnixFileMode(Path.Combine(root, "dotnet"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var fxr = Directory.EnumerateDirectories(Path.Combine(DotnetInstall.Root, "host", "fxr")).Single();
        Directory.CreateDirectory(Path.Combine(root, "host", "fxr"));
        Directory.CreateSymbolicLink(Path.Combine(root, "host", "fxr", Path.GetFileName(fxr)), fxr);
        var shared = Directory.CreateDirectory(Path.Combine(root, "shared", "Microsoft.NETCore.App")).FullName;
        foreach (var version in versions)
        {
            Directory.CreateSymbolicLink(Path.Combine(shared, version), DotnetInstall.SharedRuntime);
        }

        var app = _temp.CreateDirectory($"case{index}/app");
        File.WriteAllText(Path.Combine(app, "app.dll"), "not an assembly: the host has chosen its framework before it opens the app");
        File.WriteAllText(Path.Combine(app, "app.runtimeconfig.json"), runtimeConfig);

        var variables = new Dictionary<string, string?>
        {
            ["COREHOST_TRACE"] = "1",
            ["COREHOST_TRACE_VERBOSITY"] = "4",
            ["DOTNET_ROOT"] = null,
            ["DOTNET_ROLL_FORWARD"] = null,
            [RuntimeConfig.RollForwardToPrereleaseVariable] = null,
            [RuntimeConfig.RollForwardOnNoCandidateFxVariable] = null,
        };
        foreach (var (name, value) in environment)
        {
            variables[name] = value;
        }

        var run = Command.Run(Path.Combine(root, "dotnet"), [Path.Combine(app, "app.dll")], environment: variables);
        var chosen = Chosen.Match(run.Output);
        if (chosen.Success)
        {
            return Path.GetFileName(chosen.Groups["path"].Value);
        }

        if (run.Output.Contains("Invalid value for ", StringComparison.Ordinal))
        {
            return "refused";
        }

        Assert.True(
            run.Output.Contains("It was not possible to find any compatible framework version", StringComparison.Ordinal),
            run.Output[..Math.Min(run.Output.Length, 4000)]);
        return "-";
    }
}
