using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Nixery.Build.Registry;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Registry;

/// <summary>
/// The second opinion on certificates the system store rejects: a chain to a root from the build's SSL_CERT_FILE
/// or SSL_CERT_DIR is accepted, a wrong name never is, and only a registry listed as insecure skips the check.
/// </summary>
public sealed class TlsTrustTests : IDisposable
{
    private readonly TempDirectory _folder = new();
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _leaf;
    private readonly X509Certificate2 _otherCa;

    public TlsTrustTests()
    {
        _ca = CreateCa("CN=Test CA");
        _otherCa = CreateCa("CN=Other CA");
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=registry.test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("registry.test");
        request.CertificateExtensions.Add(names.Build());
        using var signed = request.Create(_ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3, 4]);
        _leaf = signed.CopyWithPrivateKey(key);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
        _leaf.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public void AChainToARootFromSslCertFileIsAccepted()
    {
        var bundle = _folder.CreateFile("bundle.pem", _otherCa.ExportCertificatePem() + "\n" + _ca.ExportCertificatePem() + "\n");
        var trust = TlsTrust.FromEnvironment(Environment(("SSL_CERT_FILE", bundle)), RegistryHost.Parse("registry.test:5000"), InsecureRegistries.None);

        Assert.Equal(2, trust.ExtraRootCount);
        Assert.True(trust.Validate("registry.test", _leaf, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.Equal(SslPolicyErrors.None, trust.Seen("registry.test"));
    }

    [Fact]
    public void RootsFromEverySslCertDirFolderCount()
    {
        var empty = _folder.CreateDirectory("empty");
        var certs = _folder.CreateDirectory("certs");
        _folder.CreateFile("certs/ca.pem", _ca.ExportCertificatePem());
        _folder.CreateFile("certs/not-a-certificate.txt", "hello");
        var trust = TlsTrust.FromEnvironment(Environment(("SSL_CERT_DIR", $"{empty}:{certs}")), RegistryHost.Parse("registry.test"), InsecureRegistries.None);

        Assert.True(trust.Validate("registry.test", _leaf, null, SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public void AnotherRootOrNoneLeavesTheVerdictAsItWas()
    {
        var bundle = _folder.CreateFile("other.pem", _otherCa.ExportCertificatePem());
        var other = TlsTrust.FromEnvironment(Environment(("SSL_CERT_FILE", bundle)), RegistryHost.Parse("registry.test"), InsecureRegistries.None);
        var none = TlsTrust.FromEnvironment(Environment(), RegistryHost.Parse("registry.test"), InsecureRegistries.None);

        Assert.False(other.Validate("registry.test", _leaf, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(none.Validate("registry.test", _leaf, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors, none.Seen("registry.test"));
        Assert.Null(none.Seen("elsewhere.test"));
    }

    [Fact]
    public void ANameMismatchIsNeverForgiven()
    {
        var bundle = _folder.CreateFile("bundle.pem", _ca.ExportCertificatePem());
        var trust = TlsTrust.FromEnvironment(Environment(("SSL_CERT_FILE", bundle)), RegistryHost.Parse("registry.test"), InsecureRegistries.None);
        Assert.False(trust.Validate("registry.test", _leaf, null, SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public void OnlyTheInsecureRegistrysHostSkipsTheCheck()
    {
        var insecure = InsecureRegistries.Parse(null, "registry.test:5000");
        var trust = TlsTrust.FromEnvironment(Environment(), RegistryHost.Parse("registry.test:5000"), insecure);
        Assert.True(trust.Validate("registry.test", _leaf, null, SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch));
        Assert.False(trust.Validate("auth.test", _leaf, null, SslPolicyErrors.RemoteCertificateChainErrors));

        var notListed = TlsTrust.FromEnvironment(Environment(), RegistryHost.Parse("registry.test:5001"), insecure);
        Assert.False(notListed.Validate("registry.test", _leaf, null, SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public void HostOfDropsBracketsAndPort() =>
        Assert.Equal("::1", TlsTrust.HostOf(RegistryHost.Parse("[::1]:5000")));

    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    private static X509Certificate2 CreateCa(string subject)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(2));
    }
}
