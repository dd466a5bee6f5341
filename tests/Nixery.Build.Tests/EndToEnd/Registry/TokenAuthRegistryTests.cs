using Xunit.Abstractions;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>A registry in <c>auth: token</c> mode on 127.0.0.1, with the tests' token server as its realm.</summary>
public sealed class TokenAuthRegistry : IDisposable
{
    public const string User = "builder";
    public const string Password = "token-secret-31b8";

    public TokenAuthRegistry()
    {
        Certificates = new TestCertificates();
        Tokens = new TokenServer(Certificates, new Dictionary<string, string> { [User] = Password });
        Registry = new TestRegistry(new RegistrySecurity
        {
            Token = (Tokens.Realm, TokenServer.Service, TokenServer.Issuer, Certificates.SigningCertificateFile),
        });
    }

    public TestCertificates Certificates { get; }

    public TokenServer Tokens { get; }

    public TestRegistry Registry { get; }

    public void Dispose()
    {
        Registry.Dispose();
        Tokens.Dispose();
        Certificates.Dispose();
    }
}

/// <summary>
/// The Bearer flow for real: the registry challenges, the token service is asked for exactly the scopes a request
/// needs (pull,push on the target; pull on a mount source), the JWTs it signs are accepted by the registry; a
/// refresh token handed out once is used for later scopes, and Docker's identitytoken is used as one.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class TokenAuthRegistryTests : IClassFixture<TokenAuthRegistry>
{
    private readonly PackageFeed _feed;
    private readonly TokenAuthRegistry _fixture;
    private readonly ITestOutputHelper _output;

    public TokenAuthRegistryTests(PackageFeed feed, TokenAuthRegistry fixture, ITestOutputHelper output)
    {
        _feed = feed;
        _fixture = fixture;
        _output = output;
    }

    private TestRegistry Registry => _fixture.Registry;

    private static Dictionary<string, string?> Credentials(string password = TokenAuthRegistry.Password) => new()
    {
        ["DOTNET_CONTAINER_REGISTRY_UNAME"] = TokenAuthRegistry.User,
        ["DOTNET_CONTAINER_REGISTRY_PWORD"] = password,
    };

    private static string[] SkopeoOptions => ["--src-tls-verify=false", "--src-creds", $"{TokenAuthRegistry.User}:{TokenAuthRegistry.Password}"];

    [Fact]
    public void BearerTokensForThePushScopeLetTheImageIn()
    {
        using var project = SampleProject.Copy(_feed);
        var before = _fixture.Tokens.Requests.Count;
        var publish = RegistryPush.Publish(project, Registry.Name, "token/app", environment: Credentials());
        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.Contains("(http, token authentication)", publish.Output, StringComparison.Ordinal);

        var requests = _fixture.Tokens.Requests.Skip(before).ToList();
        _output.WriteLine(string.Join('\n', requests));
        var first = requests[0];
        Assert.Equal(("GET", "basic", TokenAuthRegistry.User, 200), (first.Method, first.GrantType, first.User, first.Status));
        Assert.Equal(["repository:token/app:pull,push"], first.Scopes);
        Assert.All(requests, r => Assert.Equal(200, r.Status));

        using var pulled = ImageReader.FromRegistry($"{Registry.Name}/token/app:latest", SkopeoOptions);
        var run = pulled.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void MountFromAnotherRepositoryAsksForPullOnTheSourceWithTheRefreshToken()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = RegistryPush.Publish(project, Registry.Name, "token/source", environment: Credentials());
        Assert.True(publish.ExitCode == 0, publish.Output);

        var before = _fixture.Tokens.Requests.Count;
        var mark = Registry.Mark();
        publish = RegistryPush.Publish(project, Registry.Name, "token/target", environment: Credentials());
        Assert.True(publish.ExitCode == 0, publish.Output);
        var requests = _fixture.Tokens.Requests.Skip(before).ToList();
        _output.WriteLine(string.Join('\n', requests));
        _output.WriteLine(Registry.AccessLogSince(mark).Summary());

        Assert.Contains(requests, r => r.Scopes.Contains("repository:token/source:pull") && r.Scopes.Contains("repository:token/target:pull,push") && r.Status == 200);
        // The first token came with a refresh token: the mount's wider scope is asked for with it, not the password.
        Assert.Contains(requests, r => r.Method == "POST" && r.GrantType == "refresh_token" && r.User == TokenAuthRegistry.User);
        var log = Registry.AccessLogSince(mark);
        Assert.True(log.Mounts() > 0, log.Summary());

        // Every blob mounted but the two SBOM documents, which name the repository, so differ from the source's.
        Assert.Equal(2, log.BlobUploads());
    }

    [Fact]
    public void IdentityTokenFromDockerConfigIsSentAsARefreshToken()
    {
        using var project = SampleProject.Copy(_feed);
        var identity = _fixture.Tokens.IssueRefreshToken(TokenAuthRegistry.User);
        File.WriteAllText(
            Path.Combine(RegistryPush.DockerConfigDirectory(project), "config.json"),
            $$"""{"auths": {"{{Registry.Name}}": {"auth": "", "identitytoken": "{{identity}}"} } }""");

        var before = _fixture.Tokens.Requests.Count;
        var publish = RegistryPush.Publish(project, Registry.Name, "token/identity");
        Assert.True(publish.ExitCode == 0, publish.Output);
        var requests = _fixture.Tokens.Requests.Skip(before).ToList();
        _output.WriteLine(string.Join('\n', requests));
        Assert.NotEmpty(requests);
        Assert.All(requests, r => Assert.Equal(("POST", "refresh_token", TokenAuthRegistry.User), (r.Method, r.GrantType, r.User)));
        Assert.DoesNotContain(identity, publish.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void PasswordRefusedByTheTokenServiceIsNIXIMG031()
    {
        using var project = SampleProject.Copy(_feed);
        const string wrong = "not-the-token-secret-0a9c";
        var publish = RegistryPush.Publish(project, Registry.Name, "token/refused", environment: Credentials(wrong), binaryLog: false);

        Assert.NotEqual(0, publish.ExitCode);
        var error = publish.Output.Split('\n').First(l => l.Contains("error NIXIMG031", StringComparison.Ordinal));
        Assert.Contains(Registry.Name, error, StringComparison.Ordinal);
        Assert.Contains("token/refused", error, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, publish.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void NoCredentialsAtAllIsNIXIMG031SayingWhereTheyAreLookedFor()
    {
        using var project = SampleProject.Copy(_feed);
        var publish = RegistryPush.Publish(project, Registry.Name, "token/anonymous");

        Assert.NotEqual(0, publish.ExitCode);
        var error = publish.Output.Split('\n').First(l => l.Contains("error NIXIMG031", StringComparison.Ordinal));
        Assert.Contains("none were found", error, StringComparison.Ordinal);
        Assert.Contains("DOTNET_CONTAINER_REGISTRY_UNAME", error, StringComparison.Ordinal);
    }
}
