using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Nixery.Build.Registry;

/// <summary>
/// Decides which registry certificates are trusted, and remembers what each TLS server presented (so a failure
/// can say why, and a loopback registry that answers without TLS can be told apart from one whose certificate
/// is bad).
/// <para>
/// The system store decides first. .NET on Linux builds it from OpenSSL's default file and folder, which
/// <c>SSL_CERT_FILE</c> and <c>SSL_CERT_DIR</c> replace — but it reads them with the C library's <c>getenv</c>, once
/// a process, so a build node started before the variables were set (MSBuild's reused nodes, or a variable
/// set for the build only) does not see them. So when the build's own <c>SSL_CERT_FILE</c>/<c>SSL_CERT_DIR</c>
/// name certificates, a chain the system rejects is built again with exactly those as roots. A name that does
/// not match the certificate is never accepted; a registry listed as insecure accepts any certificate.
/// </para>
/// </summary>
public sealed class TlsTrust
{
    private readonly Lazy<X509Certificate2Collection> _extraRoots;
    private readonly Func<string, bool> _skipCheck;
    private readonly ConcurrentDictionary<string, SslPolicyErrors> _seen = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="extraRoots">Certificates from the build's SSL_CERT_FILE / SSL_CERT_DIR.</param>
    /// <param name="skipCheck">Whether a host (without brackets or port: TLS knows only the host) is one whose certificate is not checked.</param>
    public TlsTrust(X509Certificate2Collection extraRoots, Func<string, bool> skipCheck)
        : this(new Lazy<X509Certificate2Collection>(extraRoots), skipCheck)
    {
    }

    private TlsTrust(Lazy<X509Certificate2Collection> extraRoots, Func<string, bool> skipCheck)
    {
        _extraRoots = extraRoots;
        _skipCheck = skipCheck;
    }

    /// <summary>
    /// Trust for a push to <paramref name="registry"/> from the build's environment: reads SSL_CERT_FILE (a PEM bundle)
    /// and SSL_CERT_DIR (folders, ':'-separated). The certificate check is skipped for the registry's host when the
    /// registry is listed as insecure (TLS sees host names, not ports).
    /// </summary>
    /// <remarks>
    /// The certificates are read only when a chain needs them: a full system bundle and folder take a tenth of a
    /// second to parse, which a push over plain HTTP, or one the system store already trusts, should not pay.
    /// </remarks>
    public static TlsTrust FromEnvironment(Func<string, string?> environment, RegistryHost registry, InsecureRegistries insecure)
    {
        var file = environment("SSL_CERT_FILE");
        var directories = environment("SSL_CERT_DIR");
        var skip = insecure.SkipsCertificateCheck(registry);
        return new TlsTrust(
            new Lazy<X509Certificate2Collection>(() => ReadRoots(file, directories), LazyThreadSafetyMode.ExecutionAndPublication),
            host => skip && string.Equals(host, HostOf(registry), StringComparison.OrdinalIgnoreCase));
    }

    private static X509Certificate2Collection ReadRoots(string? file, string? directories)
    {
        var roots = new X509Certificate2Collection();
        if (file is { Length: > 0 } && File.Exists(file))
        {
            Import(roots, file);
        }

        foreach (var directory in (directories ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (Directory.Exists(directory))
            {
                foreach (var candidate in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
                {
                    Import(roots, candidate);
                }
            }
        }

        return roots;
    }

    public int ExtraRootCount => _extraRoots.Value.Count;

    /// <summary>The host as TLS names it: no brackets, no port.</summary>
    public static string HostOf(RegistryHost registry) => registry.Host.Trim('[', ']');

    /// <summary>What the TLS server at <paramref name="host"/> presented and how it was judged, if it spoke TLS at all.</summary>
    public SslPolicyErrors? Seen(string host) => _seen.TryGetValue(host, out var errors) ? errors : null;

    /// <summary>The callback for <see cref="SslClientAuthenticationOptions.RemoteCertificateValidationCallback"/>.</summary>
    public bool Validate(string host, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var verdict = Judge(certificate, chain, errors);
        _seen[host] = verdict;
        return verdict == SslPolicyErrors.None || _skipCheck(host);
    }

    private SslPolicyErrors Judge(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is null || _extraRoots.Value.Count == 0)
        {
            return errors;
        }

        using var leaf = new X509Certificate2(certificate);
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_extraRoots.Value);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(leaf) ? SslPolicyErrors.None : errors;
    }

    private static void Import(X509Certificate2Collection roots, string file)
    {
        try
        {
            roots.ImportFromPemFile(file);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            // Not a PEM certificate (SSL_CERT_DIR also holds CRLs and links): nothing to trust there.
        }
    }
}
