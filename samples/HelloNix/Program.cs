using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

// A greeting, then proof that the image's Nix packages are usable: ICU and OpenSSL (loaded by .NET at run time),
// and jq, run from PATH.
Console.WriteLine($"Hello from Nix! .NET {Environment.Version} on {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}");
if (args.Length > 0)
{
    Console.WriteLine($"args: {string.Join(' ', args)}");
}

Console.WriteLine($"ICU: March is {new CultureInfo("de-DE").DateTimeFormat.GetMonthName(3)} in German");
Console.WriteLine($"OpenSSL: SHA-256(abc) = {Convert.ToHexStringLower(SHA256.HashData("abc"u8))[..16]}…");

var start = new ProcessStartInfo("jq", "--version") { RedirectStandardOutput = true };
using var jq = Process.Start(start)!;
var version = jq.StandardOutput.ReadToEnd().Trim();
jq.WaitForExit();
Console.WriteLine($"jq says: {version}");
return jq.ExitCode;
