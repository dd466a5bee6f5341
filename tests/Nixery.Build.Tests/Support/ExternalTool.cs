using System.Diagnostics;

namespace Nixery.Build.Tests.Support;

/// <summary>Runs a tool on the machine (python3, GNU tar) to read back what the writers wrote.</summary>
public static class ExternalTool
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError);

    public static Result Run(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
            StandardErrorEncoding = System.Text.Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Names are printed as UTF-8, times in UTC.
        start.Environment["LC_ALL"] = "C.UTF-8";
        start.Environment["TZ"] = "UTC";
        start.Environment["PYTHONIOENCODING"] = "utf-8";

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new Result(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Runs the tool and fails the test unless it exits with 0; returns its standard output.</summary>
    public static string RunChecked(string fileName, params string[] arguments)
    {
        var result = Run(fileName, arguments);
        Assert.True(result.ExitCode == 0, $"{fileName} exited with {result.ExitCode}: {result.StandardError}");
        return result.StandardOutput;
    }
}
