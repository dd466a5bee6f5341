using System.Runtime.InteropServices;

// A minimal API that shows what the image gives it: who it runs as, where it may write, and jq from Nix.
var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();

app.MapGet("/", () => $"Hello from Nix! .NET {Environment.Version}, user {Environment.UserName} ({Uid()})\n");

app.MapGet("/write", () =>
{
    var home = Environment.GetEnvironmentVariable("HOME") ?? "(no HOME)";
    var results = new[] { Path.GetTempPath(), home, AppContext.BaseDirectory }.Select(folder =>
    {
        try
        {
            var file = Path.Combine(folder, "hello-web.txt");
            File.WriteAllText(file, "written");
            return $"{folder}: ok";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{folder}: {e.GetType().Name}";
        }
    });
    return string.Join('\n', results) + "\n";
});

app.MapGet("/jq", async () =>
{
    using var jq = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("jq", "--version") { RedirectStandardOutput = true })!;
    var version = await jq.StandardOutput.ReadToEndAsync();
    await jq.WaitForExitAsync();
    return version;
});

app.Run();

static uint Uid() => OperatingSystem.IsLinux() ? geteuid() : 0;

[DllImport("libc", SetLastError = false)]
static extern uint geteuid();
