using Nixery.Build.Diagnostics;
using Nixery.Build.Image;

namespace Nixery.Build.Tests.Image;

/// <summary>What the host reads from an app's runtimeconfig.json and the image's environment, in its order of precedence.</summary>
public sealed class RuntimeConfigTests
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    [Fact]
    public void OneFrameworkWithTheDefaultPolicy()
    {
        var config = Parse("""{"runtimeOptions":{"tfm":"net10.0","framework":{"name":"Microsoft.NETCore.App","version":"10.0.0"}}}""");
        var framework = Assert.Single(config.Frameworks);
        Assert.Equal(("Microsoft.NETCore.App", "10.0.0", RollForward.Minor, true, true, "the default"),
            (framework.Name, framework.VersionText, framework.RollForward, framework.ApplyPatches, framework.PreferRelease, framework.PolicySource));
    }

    [Fact]
    public void RuntimeOptionsPolicyAppliesToEveryFrameworkAndAFrameworksOwnWins()
    {
        var config = Parse("""
            {
              "runtimeOptions": {
                "rollForward": "disable",
                "frameworks": [
                  { "name": "Microsoft.NETCore.App", "version": "10.0.0" },
                  { "name": "Microsoft.AspNetCore.App", "version": "10.0.1", "rollForward": "LatestMajor" }
                ]
              }
            }
            """);
        Assert.Equal(
            [("Microsoft.NETCore.App", RollForward.Disable, "runtimeOptions.rollForward in App.runtimeconfig.json"),
             ("Microsoft.AspNetCore.App", RollForward.LatestMajor, "the Microsoft.AspNetCore.App entry's rollForward in App.runtimeconfig.json")],
            config.Frameworks.Select(f => (f.Name, f.RollForward, f.PolicySource)));
    }

    [Fact]
    public void FrameworkAndFrameworksAreBothRead()
    {
        var config = Parse("""{"runtimeOptions":{"framework":{"name":"A","version":"1.0.0"},"frameworks":[{"name":"B","version":"2.0.0-rc.1"}]}}""");
        Assert.Equal(["A", "B"], config.Frameworks.Select(f => f.Name));
        Assert.False(config.Frameworks[1].PreferRelease);
    }

    [Fact]
    public void EnvironmentPolicyWinsOverTheFile()
    {
        var config = Parse(
            """{"runtimeOptions":{"framework":{"name":"Microsoft.NETCore.App","version":"10.0.0","rollForward":"Disable"}}}""",
            new() { ["DOTNET_ROLL_FORWARD"] = "latestMajor" });
        var framework = Assert.Single(config.Frameworks);
        Assert.Equal((RollForward.LatestMajor, "DOTNET_ROLL_FORWARD in the image's environment"), (framework.RollForward, framework.PolicySource));
    }

    [Fact]
    public void AnEmptyVariableIsNoVariableAsTheHostReadsIt()
    {
        var framework = Assert.Single(Parse(
            """{"runtimeOptions":{"rollForward":"Major","framework":{"name":"X","version":"1.0.0"}}}""",
            new() { ["DOTNET_ROLL_FORWARD"] = string.Empty, ["DOTNET_ROLL_FORWARD_ON_NO_CANDIDATE_FX"] = string.Empty }).Frameworks);
        Assert.Equal(RollForward.Major, framework.RollForward);
    }

    [Fact]
    public void RollForwardToPrereleaseMakesReleaseReferencesConsiderEveryVersion()
    {
        var config = Parse(
            """{"runtimeOptions":{"framework":{"name":"Microsoft.NETCore.App","version":"10.0.0"}}}""",
            new() { ["DOTNET_ROLL_FORWARD_TO_PRERELEASE"] = "1" });
        Assert.False(Assert.Single(config.Frameworks).PreferRelease);
        Assert.True(Assert.Single(Parse("""{"runtimeOptions":{"framework":{"name":"X","version":"1.0.0"}}}""",
            new() { ["DOTNET_ROLL_FORWARD_TO_PRERELEASE"] = "true" }).Frameworks).PreferRelease);
    }

    [Theory]
    [InlineData("""{"rollForwardOnNoCandidateFx":0}""", RollForward.LatestPatch, true)]
    [InlineData("""{"rollForwardOnNoCandidateFx":2}""", RollForward.Major, true)]
    [InlineData("""{"applyPatches":false}""", RollForward.Minor, false)]
    [InlineData("""{"rollForwardOnNoCandidateFx":0,"applyPatches":false}""", RollForward.LatestPatch, false)]
    public void LegacySettingsMapAsTheHostMapsThem(string options, RollForward policy, bool applyPatches)
    {
        var json = options.TrimEnd('}') + ""","framework":{"name":"Microsoft.NETCore.App","version":"3.1.0"}}""";
        var framework = Assert.Single(Parse("""{"runtimeOptions":""" + json + "}").Frameworks);
        Assert.Equal((policy, applyPatches), (framework.RollForward, framework.ApplyPatches));
    }

    [Fact]
    public void LegacyEnvironmentVariableIsTheDefaultTheFileOverrides()
    {
        Dictionary<string, string> environment = new() { ["DOTNET_ROLL_FORWARD_ON_NO_CANDIDATE_FX"] = "2" };
        Assert.Equal(RollForward.Major, Assert.Single(Parse("""{"runtimeOptions":{"framework":{"name":"X","version":"1.0.0"}}}""", environment).Frameworks).RollForward);
        Assert.Equal(RollForward.Disable, Assert.Single(Parse("""{"runtimeOptions":{"rollForward":"Disable","framework":{"name":"X","version":"1.0.0"}}}""", environment).Frameworks).RollForward);
    }

    [Theory]
    [InlineData("""{"runtimeOptions":{"includedFrameworks":[{"name":"Microsoft.NETCore.App","version":"10.0.12"}]}}""")]
    [InlineData("""{"runtimeOptions":{"tfm":"net10.0"}}""")]
    public void SelfContainedAppsNameNoFramework(string json) => Assert.True(Parse(json).IsSelfContained);

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("""{"other":{}}""", "no runtimeOptions")]
    [InlineData("""{"runtimeOptions":{"rollForward":"Sometimes","framework":{"name":"X","version":"1.0.0"}}}""", "runtimeOptions.rollForward \"Sometimes\" is not a roll-forward policy")]
    [InlineData("""{"runtimeOptions":{"framework":{"name":"X","version":"1.0.0","rollForward":3}}}""", "the X entry's rollForward 3 is not")]
    [InlineData("""{"runtimeOptions":{"framework":{"name":"X","version":"10.0"}}}""", "the version '10.0' of X is not a version")]
    [InlineData("""{"runtimeOptions":{"framework":{"version":"1.0.0"}}}""", "framework name is missing")]
    [InlineData("""{"runtimeOptions":{"frameworks":[{"name":"X","version":"1.0.0"},{"name":"X","version":"2.0.0"}]}}""", "names the framework X twice")]
    [InlineData("""{"runtimeOptions":{"rollForward":"Major","applyPatches":true,"framework":{"name":"X","version":"1.0.0"}}}""", "both rollForward and one of rollForwardOnNoCandidateFx or applyPatches")]
    [InlineData("""{"runtimeOptions":{"rollForward":"Major","framework":{"name":"X","version":"1.0.0","rollForwardOnNoCandidateFx":1}}}""", "both rollForward and one of")]
    [InlineData("""{"runtimeOptions":{"framework":{"name":"X","version":"1.0.0"},"includedFrameworks":[]}}""", "both framework(s) and includedFrameworks")]
    public void WhatTheHostRefusesIsNIXIMG058(string json, string expected)
    {
        var e = Assert.Throws<NixImageException>(() => Parse(json));
        Assert.Equal(ErrorCodes.RuntimeConfigUnusable, e.Code);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("App.runtimeconfig.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnInvalidRollForwardVariableIsNIXIMG058NamingIt()
    {
        var e = Assert.Throws<NixImageException>(() => Parse(
            """{"runtimeOptions":{"framework":{"name":"X","version":"1.0.0"}}}""",
            new() { ["DOTNET_ROLL_FORWARD"] = "Newest" }));
        Assert.Equal(ErrorCodes.RuntimeConfigUnusable, e.Code);
        Assert.Contains("DOTNET_ROLL_FORWARD='Newest' in the image's environment is not a roll-forward policy", e.Message, StringComparison.Ordinal);
    }

    private static RuntimeConfig Parse(string json, Dictionary<string, string>? environment = null) =>
        RuntimeConfig.Parse(json, "App.runtimeconfig.json", environment ?? NoEnvironment);
}
