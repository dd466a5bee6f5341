using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Registry;

/// <summary>
/// A registry as <c>ContainerRegistry</c> names it: <c>host[:port]</c> in the distribution reference grammar
/// (dot-separated domain components of letters, digits and inner dashes, an IPv4 address, or an IPv6 address
/// in brackets). Validated before any network call.
/// </summary>
public sealed partial record RegistryHost
{
    private RegistryHost(string host, int? port)
    {
        Host = host;
        Port = port;
    }

    /// <summary>The host as written, lower-cased; an IPv6 address keeps its brackets.</summary>
    public string Host { get; }

    public int? Port { get; }

    /// <summary><c>host[:port]</c>: the registry's name in references, credentials and the push memory.</summary>
    public string Name => Port is { } port ? $"{Host}:{port.ToString(CultureInfo.InvariantCulture)}" : Host;

    /// <summary><c>localhost</c>, <c>127.0.0.0/8</c> or <c>[::1]</c>: a registry on this machine.</summary>
    public bool IsLoopback =>
        Host == "localhost"
        || (IPAddress.TryParse(Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    /// <summary>The registry's base address for a scheme (<c>https</c> or <c>http</c>).</summary>
    public Uri BaseUri(string scheme) => new($"{scheme}://{Name}/");

    public override string ToString() => Name;

    public static RegistryHost Parse(string value, string setting = "ContainerRegistry")
    {
        if (TryParse(value, out var host))
        {
            return host;
        }

        var hint = value.Contains("://", StringComparison.Ordinal)
            ? " Leave out the scheme: write 'registry.example.com:5000', not 'https://registry.example.com:5000'."
            : value.Contains('/', StringComparison.Ordinal)
                ? " The repository goes into ContainerRepository, not the registry."
                : string.Empty;
        throw new NixImageException(
            ErrorCodes.InvalidRegistry,
            $"{setting} '{value}' is not a registry name. Use host[:port], e.g. 'registry.example.com', 'localhost:5000' or '[::1]:5000'.{hint}");
    }

    public static bool TryParse(string? value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RegistryHost? host)
    {
        host = null;
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        var match = HostPattern().Match(value);
        if (!match.Success)
        {
            return false;
        }

        int? port = null;
        if (match.Groups["port"].Success)
        {
            if (!int.TryParse(match.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > 65535)
            {
                return false;
            }

            port = number;
        }

        var name = match.Groups["host"].Value;
        if (name.StartsWith('[') && !IPAddress.TryParse(name[1..^1], out _))
        {
            return false;
        }

        host = new RegistryHost(name.ToLowerInvariant(), port);
        return true;
    }

    /// <summary>domain-component ('.' domain-component)* or an IPv6 address in brackets, then an optional port.</summary>
    [GeneratedRegex(
        "^(?<host>\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::(?<port>[0-9]{1,5}))?\\z",
        RegexOptions.CultureInvariant)]
    private static partial Regex HostPattern();
}
