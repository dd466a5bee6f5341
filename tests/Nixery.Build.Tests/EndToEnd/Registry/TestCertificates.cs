using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>
/// A test CA and what it signs, made fresh for a test class: a server certificate for 127.0.0.1 and localhost
/// (the registry's TLS), and a self-signed token-signing certificate (the registry's <c>rootcertbundle</c>).
/// Written as PEM files in a temp folder.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly TempDirectory _folder = new("nixery-certs");

    public TestCertificates()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Nixery.Build test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var server = serverRequest.Create(ca, now.AddDays(-1), now.AddDays(7), serial);

        SigningKey = RSA.Create(2048);
        var signingRequest = new CertificateRequest("CN=Nixery.Build test token issuer", SigningKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        signingRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        SigningCertificate = signingRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));

        CaFile = Write("ca.crt", ca.ExportCertificatePem());
        ServerCertificateFile = Write("server.crt", server.ExportCertificatePem());
        ServerKeyFile = Write("server.key", serverKey.ExportPkcs8PrivateKeyPem());
        SigningCertificateFile = Write("token-signing.crt", SigningCertificate.ExportCertificatePem());

        // skopeo's --cert-dir takes a folder of CA files named *.crt.
        CaDirectory = _folder.CreateDirectory("ca-dir");
        File.Copy(CaFile, Path.Combine(CaDirectory, "ca.crt"));
    }

    /// <summary>The test CA (PEM): what SSL_CERT_FILE points at for a trusting build.</summary>
    public string CaFile { get; }

    /// <summary>A folder holding only the CA, for skopeo's --src-cert-dir.</summary>
    public string CaDirectory { get; }

    public string ServerCertificateFile { get; }

    public string ServerKeyFile { get; }

    public string SigningCertificateFile { get; }

    public X509Certificate2 SigningCertificate { get; }

    public RSA SigningKey { get; }

    public void Dispose()
    {
        SigningCertificate.Dispose();
        SigningKey.Dispose();
        _folder.Dispose();
    }

    private string Write(string name, string pem) => _folder.CreateFile(name, pem + "\n");
}
