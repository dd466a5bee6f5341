namespace Nixery.Build.Tests.Support;

/// <summary>Runs a tool on the machine (python3, GNU tar) to read back what the writers wrote: UTF-8 names, UTC times.</summary>
public static class ExternalTool
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError);

    private static readonly IReadOnlyDictionary<string, string?> Environment = new Dictionary<string, string?>
    {
        ["LC_ALL"] = "C.UTF-8",
        ["TZ"] = "UTC",
        ["PYTHONIOENCODING"] = "utf-8",
    };

    public static Result Run(string fileName, params string[] arguments)
    {
        var result = Command.Run(fileName, arguments, environment: Environment);
        return new Result(result.ExitCode, result.StandardOutput, result.StandardError);
    }

    /// <summary>Runs the tool and fails the test unless it exits with 0; returns its standard output.</summary>
    public static string RunChecked(string fileName, params string[] arguments)
    {
        var result = Run(fileName, arguments);
        Assert.True(result.ExitCode == 0, $"{fileName} exited with {result.ExitCode}: {result.StandardError}");
        return result.StandardOutput;
    }
}
