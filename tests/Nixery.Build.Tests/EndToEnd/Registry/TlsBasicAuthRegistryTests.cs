using System.Text;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>A registry on 127.0.0.1 serving TLS with a certificate from a test CA, asking for Basic credentials (htpasswd).</summary>
public sealed class TlsBasicAuthRegistry : IDisposable
{
    public const string User = "pusher";
    public const string Password = "correct-horse-5e2f";

    private readonly TempDirectory _folder = new("nixery-htpasswd");

    public TlsBasicAuthRegistry()
    {
        Certificates = new TestCertificates();
        var htpasswd = _folder.Combine("htpasswd");
        var entry = Command.Run("htpasswd", ["-Bbn", User, Password]).EnsureSuccess().StandardOutput.Trim();
        File.WriteAllText(htpasswd, entry + "\n");
        Registry = new TestRegistry(new RegistrySecurity
        {
            Tls = (Certificates.ServerCertificateFile, Certificates.ServerKeyFile),
            Htpasswd = htpasswd,
        });
    }

    public TestCertificates Certificates { get; }

    public TestRegistry Registry { get; }

    public void Dispose()
    {
        Registry.Dispose();
        Certificates.Dispose();
        _folder.Dispose();
    }
}

/// <summary>
/// TLS and Basic authentication for real: the certificate is trusted through SSL_CERT_FILE (or not at all, or skipped
/// for a registry listed as insecure); credentials come from the environment or Docker's config.json; a wrong
/// password is a coded error that names the registry and the repository, and the password appears in no log.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class TlsBasicAuthRegistryTests : IClassFixture<TlsBasicAuthRegistry>
{
    private readonly PackageFeed _feed;
    private readonly TlsBasicAuthRegistry _fixture;

    public TlsBasicAuthRegistryTests(PackageFeed feed, TlsBasicAuthRegistry fixture)
    {
        _feed = feed;
        _fixture = fixture;
    }

    private TestRegistry Registry => _fixture.Registry;

    private string[] SkopeoOptions => ["--src-cert-dir", _fixture.Certificates.CaDirectory, "--src-creds", $"{TlsBasicAuthRegistry.User}:{TlsBasicAuthRegistry.Password}"];

    [Fact]
    public void CaFromSslCertFileAndCredentialsFromTheEnvironmentPushAnImageThatRuns()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = RegistryPush.Publish(project, Registry.Name, "tls/env", environment: new Dictionary<string, string?>
        {
            ["SSL_CERT_FILE"] = _fixture.Certificates.CaFile,
            ["DOTNET_CONTAINER_REGISTRY_UNAME"] = TlsBasicAuthRegistry.User,
            ["DOTNET_CONTAINER_REGISTRY_PWORD"] = TlsBasicAuthRegistry.Password,
        });
        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.Contains("(https, basic authentication)", publish.Output, StringComparison.Ordinal);

        using var pulled = ImageReader.FromRegistry($"{Registry.Name}/tls/env:latest", SkopeoOptions);
        var run = pulled.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Hello from Nix!", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void CredentialsFromDockerConfigJsonAreUsed()
    {
        using var project = SampleProject.Copy(_feed);
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TlsBasicAuthRegistry.User}:{TlsBasicAuthRegistry.Password}"));
        File.WriteAllText(
            Path.Combine(RegistryPush.DockerConfigDirectory(project), "config.json"),
            $$"""{"auths": {"https://{{Registry.Name}}": {"auth": "{{auth}}"} } }""");

        var publish = RegistryPush.Publish(project, Registry.Name, "tls/docker-config", environment: new Dictionary<string, string?>
        {
            ["SSL_CERT_FILE"] = _fixture.Certificates.CaFile,
        });
        Assert.True(publish.ExitCode == 0, publish.Output);

        using var pulled = ImageReader.FromRegistry($"{Registry.Name}/tls/docker-config:latest", SkopeoOptions);
        Assert.Contains($"pushed {Registry.Name}/tls/docker-config:latest@{pulled.Inspect().GetProperty("Digest").GetString()}", publish.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void CertificateFromAnUnknownCaFailsWithNIXIMG034AndOnceTrustedTheImageIsPushedFromTheLayersAlreadyBuilt()
    {
        using var project = SampleProject.Copy(_feed);
        var credentials = new Dictionary<string, string?>
        {
            ["DOTNET_CONTAINER_REGISTRY_UNAME"] = TlsBasicAuthRegistry.User,
            ["DOTNET_CONTAINER_REGISTRY_PWORD"] = TlsBasicAuthRegistry.Password,
        };
        var publish = RegistryPush.Publish(project, Registry.Name, "tls/untrusted", environment: credentials);

        Assert.NotEqual(0, publish.ExitCode);
        var error = publish.Output.Split('\n').First(l => l.Contains("error NIXIMG034", StringComparison.Ordinal));
        Assert.Contains(Registry.Name, error, StringComparison.Ordinal);
        Assert.Contains("not signed by a certificate authority this machine trusts", error, StringComparison.Ordinal);
        Assert.Contains("SSL_CERT_FILE", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", publish.Output, StringComparison.Ordinal);

        // Nothing built is lost: with the CA trusted, the next publish pushes the image from the layers the first one cached.
        credentials["SSL_CERT_FILE"] = _fixture.Certificates.CaFile;
        publish = RegistryPush.Publish(project, Registry.Name, "tls/untrusted", environment: credentials);
        Assert.True(publish.ExitCode == 0, publish.Output);
        var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(project.DefaultArchive().Replace("hellonix.tar", "tls-untrusted.json", StringComparison.Ordinal))).RootElement;
        Assert.Equal(0, summary.GetProperty("build").GetProperty("layersBuilt").GetInt32());
        using var pulled = ImageReader.FromRegistry($"{Registry.Name}/tls/untrusted:latest", SkopeoOptions);
        Assert.Contains($"pushed {Registry.Name}/tls/untrusted:latest@{pulled.Inspect().GetProperty("Digest").GetString()}", publish.Output, StringComparison.Ordinal);
        var run = pulled.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Hello from Nix!", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void RegistryListedAsInsecureIsPushedToWithoutCheckingItsCertificate()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = RegistryPush.Publish(
            project,
            Registry.Name,
            "tls/insecure",
            ["-p:ContainerInsecureRegistries=registry.invalid%3B" + Registry.Name],
            new Dictionary<string, string?>
            {
                ["DOTNET_CONTAINER_REGISTRY_UNAME"] = TlsBasicAuthRegistry.User,
                ["DOTNET_CONTAINER_REGISTRY_PWORD"] = TlsBasicAuthRegistry.Password,
            });
        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.Contains("(https, basic authentication)", publish.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("environment")]
    [InlineData("docker-config")]
    public void WrongPasswordFailsWithNIXIMG031NamingRegistryAndRepositoryAndLeaksNothing(string source)
    {
        using var project = SampleProject.Copy(_feed);
        const string wrong = "Wr0ng-Pa55word-9d41c7";
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TlsBasicAuthRegistry.User}:{wrong}"));
        var environment = new Dictionary<string, string?> { ["SSL_CERT_FILE"] = _fixture.Certificates.CaFile };
        if (source == "environment")
        {
            environment["DOTNET_CONTAINER_REGISTRY_UNAME"] = TlsBasicAuthRegistry.User;
            environment["DOTNET_CONTAINER_REGISTRY_PWORD"] = wrong;
        }
        else
        {
            File.WriteAllText(
                Path.Combine(RegistryPush.DockerConfigDirectory(project), "config.json"),
                $$"""{"auths": {"{{Registry.Name}}": {"auth": "{{basic}}"} } }""");
        }

        // The full diagnostic log, and no binlog: everything the build says is in the output.
        var publish = RegistryPush.Publish(project, Registry.Name, "tls/wrong", ["-v:diag"], environment, binaryLog: false);

        Assert.NotEqual(0, publish.ExitCode);
        var error = publish.Output.Split('\n').First(l => l.Contains("error NIXIMG031", StringComparison.Ordinal));
        Assert.Contains(Registry.Name, error, StringComparison.Ordinal);
        Assert.Contains("tls/wrong", error, StringComparison.Ordinal);
        Assert.Contains("user 'pusher'", error, StringComparison.Ordinal);
        // At diagnostic verbosity MSBuild itself lists every environment variable (and each as an initial property)
        // before any target runs: that is MSBuild's dump of the variable, not something Nixery.Build writes.
        // Nothing else may hold the password.
        var lines = publish.Output.Split('\n');
        var msbuildDump = lines.Where(l => l.TrimStart().StartsWith("DOTNET_CONTAINER_REGISTRY_PWORD = ", StringComparison.Ordinal)).ToList();
        Assert.Equal(source == "environment", msbuildDump.Count > 0);
        var rest = string.Join('\n', lines.Except(msbuildDump));
        Assert.DoesNotContain(wrong, rest, StringComparison.Ordinal);
        Assert.DoesNotContain(basic, rest, StringComparison.Ordinal);
        Assert.DoesNotContain("Authorization:", rest, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", rest, StringComparison.Ordinal);
    }

    /// <summary>A base image behind TLS and Basic credentials (an image of ours, pushed there first) is pulled with the push's credentials and trust; without them, NIXIMG031 says so.</summary>
    [Fact]
    public void ABaseImageIsPulledWithTheCredentialsAndTrustOfPushesAndRefusedWithoutThem()
    {
        using var project = SampleProject.Copy(_feed);
        var trust = new Dictionary<string, string?> { ["SSL_CERT_FILE"] = _fixture.Certificates.CaFile };
        var credentials = new Dictionary<string, string?>(trust)
        {
            ["DOTNET_CONTAINER_REGISTRY_UNAME"] = TlsBasicAuthRegistry.User,
            ["DOTNET_CONTAINER_REGISTRY_PWORD"] = TlsBasicAuthRegistry.Password,
        };
        var pushed = RegistryPush.Publish(project, Registry.Name, "tls/base", environment: credentials);
        Assert.True(pushed.ExitCode == 0, pushed.Output);
        var baseImage = $"-p:ContainerBaseImage={Registry.Name}/tls/base:latest";

        var refused = project.Publish(["-r", "linux-x64", baseImage], With(RegistryPush.IsolatedEnvironment(project), trust));
        Assert.NotEqual(0, refused.ExitCode);
        var error = refused.Output.Split('\n').First(l => l.Contains("error NIXIMG031", StringComparison.Ordinal));
        Assert.Contains("to pull from tls/base", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.Output, StringComparison.Ordinal);

        var onBase = project.Publish(["-r", "linux-x64", baseImage], With(RegistryPush.IsolatedEnvironment(project), credentials));
        Assert.True(onBase.ExitCode == 0, onBase.Output);
        using var image = new ImageReader(project.DefaultArchive());
        Assert.Equal($"{Registry.Name}/tls/base:latest", image.Config().GetProperty("config").GetProperty("Labels").GetProperty("org.opencontainers.image.base.name").GetString());
        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Hello from Nix!", run.Output, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> With(Dictionary<string, string?> environment, Dictionary<string, string?> more)
    {
        foreach (var (name, value) in more)
        {
            environment[name] = value;
        }

        return environment;
    }
}
