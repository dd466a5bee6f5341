namespace Nixery.Build.Tests.Support;

/// <summary>The .NET install that runs the tests: where the SDK's packs and the shared runtime's native files are.</summary>
public static class DotnetInstall
{
    /// <summary>The running runtime's folder (<c>shared/Microsoft.NETCore.App/&lt;version&gt;</c>): libcoreclr.so and friends.</summary>
    public static string SharedRuntime => Path.GetDirectoryName(typeof(object).Assembly.Location)!;

    /// <summary>The install's root (holding <c>dotnet</c>, <c>packs</c>, <c>shared</c>).</summary>
    public static string Root => Path.GetFullPath(Path.Combine(SharedRuntime, "..", "..", ".."));

    /// <summary>The SDK's linux-x64 apphost, as it is copied into publish folders.</summary>
    public static string AppHost =>
        Directory.EnumerateFiles(Path.Combine(Root, "packs"), "apphost", SearchOption.AllDirectories)
            .First(p => p.Contains("linux-x64", StringComparison.Ordinal));
}
