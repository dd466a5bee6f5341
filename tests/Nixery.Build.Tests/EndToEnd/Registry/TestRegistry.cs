using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>One request as the registry's own access log saw it.</summary>
public sealed record AccessLogEntry(string Method, string Path, int Status);

/// <summary>How a <see cref="TestRegistry"/> guards itself.</summary>
public sealed record RegistrySecurity
{
    /// <summary>Serve TLS with these PEM files.</summary>
    public (string Certificate, string Key)? Tls { get; init; }

    /// <summary>Basic authentication against this htpasswd file (bcrypt).</summary>
    public string? Htpasswd { get; init; }

    /// <summary>Token authentication: the token service's URL, and the certificate bundle its signatures are checked with.</summary>
    public (string Realm, string Service, string Issuer, string RootCertificateBundle)? Token { get; init; }
}

/// <summary>
/// Debian's <c>docker-registry</c> (CNCF distribution 2.8) on 127.0.0.1 with a free port, a temp storage folder and a
/// config written for the test class. Its stdout is the HTTP access log (combined log format), read back with
/// <see cref="AccessLog"/> to count what clients really sent.
/// </summary>
public sealed partial class TestRegistry : IDisposable
{
    private readonly TempDirectory _folder = new("nixery-registry");
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    public TestRegistry(RegistrySecurity? security = null)
    {
        Port = FreePort.Next();
        var config = _folder.CreateFile("config.yml", Config(security ?? new RegistrySecurity()));
        var start = new ProcessStartInfo("docker-registry")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("serve");
        start.ArgumentList.Add(config);
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        FreePort.WaitForListener(Port, TimeSpan.FromSeconds(20), () => ServerLog);
    }

    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>: ContainerRegistry for it.</summary>
    public string Name => $"127.0.0.1:{Port}";

    public string StorageDirectory => _folder.Combine("storage");

    /// <summary>The registry's own log (stderr): for failure messages.</summary>
    public string ServerLog
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Every request the registry served so far, in order.</summary>
    public List<AccessLogEntry> AccessLog()
    {
        string text;
        lock (_stdout)
        {
            text = _stdout.ToString();
        }

        return text.Split('\n')
            .Select(line => AccessLine().Match(line))
            .Where(m => m.Success)
            .Select(m => new AccessLogEntry(m.Groups["method"].Value, m.Groups["path"].Value, int.Parse(m.Groups["status"].Value, System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
    }

    /// <summary>Where the access log stands now: pass it to <see cref="AccessLogSince"/> to see one push's requests.</summary>
    public int Mark() => AccessLog().Count;

    public List<AccessLogEntry> AccessLogSince(int mark) => AccessLog().Skip(mark).ToList();

    public void Dispose()
    {
        try
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        _folder.Dispose();
    }

    private string Config(RegistrySecurity security)
    {
        var yaml = new StringBuilder($"""
            version: 0.1
            log:
              level: info
              formatter: text
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: {StorageDirectory}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{Port}
              secret: nixery-build-tests

            """);
        if (security.Tls is { } tls)
        {
            yaml.Append($"""
                  tls:
                    certificate: {tls.Certificate}
                    key: {tls.Key}

                """);
        }

        if (security.Htpasswd is { } htpasswd)
        {
            yaml.Append($"""
                auth:
                  htpasswd:
                    realm: nixery-build-tests
                    path: {htpasswd}

                """);
        }
        else if (security.Token is { } token)
        {
            yaml.Append($"""
                auth:
                  token:
                    realm: {token.Realm}
                    service: {token.Service}
                    issuer: {token.Issuer}
                    rootcertbundle: {token.RootCertificateBundle}

                """);
        }

        return yaml.ToString();
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.AppendLine(line);
        }
    }

    // 127.0.0.1 - - [28/Nov/2026:05:58:53 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"
    [GeneratedRegex("\"(?<method>[A-Z]+) (?<path>\\S+) HTTP/[0-9.]+\" (?<status>[0-9]{3}) ", RegexOptions.CultureInvariant)]
    private static partial Regex AccessLine();
}
