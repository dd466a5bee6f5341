using System.Diagnostics;
using System.Runtime.InteropServices;

// A greeting, then proof that the image's Nix packages are usable: run jq from PATH.
Console.WriteLine($"Hello from Nix! .NET {Environment.Version} on {RuntimeInformation.OSDescription}");
if (args.Length > 0)
{
    Console.WriteLine($"args: {string.Join(' ', args)}");
}

var start = new ProcessStartInfo("jq", "--version") { RedirectStandardOutput = true };
using var jq = Process.Start(start)!;
var version = jq.StandardOutput.ReadToEnd().Trim();
jq.WaitForExit();
Console.WriteLine($"jq says: {version}");
return jq.ExitCode;
