using System.Net;
using System.Net.Security;

namespace Nixery.Build.Registry;

/// <summary>The real HTTP stack for registries: sockets, the system trust store plus <see cref="TlsTrust"/>, no redirects followed blindly.</summary>
public static class RegistryTransport
{
    public static SocketsHttpHandler CreateHandler(TlsTrust trust, TimeSpan connectTimeout) => new()
    {
        // Registries answer uploads with Location headers the uploader follows itself; redirects are not followed
        // (they would carry the Authorization header off to another host or drop it, depending on the stack).
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = connectTimeout,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        UseCookies = false,
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                trust.Validate(sender is SslStream stream ? stream.TargetHostName : string.Empty, certificate, chain, errors),
        },
    };
}
