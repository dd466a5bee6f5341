using System.Text;
using Nixery.Build.Diagnostics;
using Nixery.Build.Registry;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Registry;

/// <summary>Credential lookup order, each source in a temp folder; helpers are recorded, not run.</summary>
public sealed class CredentialStoreTests : IDisposable
{
    private static readonly RegistryHost Registry = RegistryHost.Parse("registry.example.com:5000");

    private readonly TempDirectory _folder = new();
    private readonly Dictionary<string, string?> _environment = new(StringComparer.Ordinal);
    private readonly List<(string Helper, string Server)> _helperCalls = [];

    public CredentialStoreTests()
    {
        _environment["HOME"] = _folder.CreateDirectory("home");
    }

    public void Dispose() => _folder.Dispose();

    private CredentialStore Store() => new(
        name => _environment.GetValueOrDefault(name),
        (helper, server, _) =>
        {
            _helperCalls.Add((helper, server));
            return Task.FromResult<RegistryCredential?>(RegistryCredential.FromPassword("from-" + helper, "helper-secret", "helper " + helper));
        });

    private RegistryCredential? Find(string repository = "team/app") => Store().FindAsync(Registry, repository, CancellationToken.None).GetAwaiter().GetResult();

    private static string Auth(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    private void DockerConfig(string json) => _folder.CreateFile("home/.docker/config.json", json);

    private void PodmanAuth(string json)
    {
        _environment["XDG_RUNTIME_DIR"] = _folder.CreateDirectory("run");
        _folder.CreateFile("run/containers/auth.json", json);
    }

    [Fact]
    public void NothingAnywhereIsNoCredential() => Assert.Null(Find());

    [Fact]
    public void EnvironmentVariablesComeFirst()
    {
        _environment[CredentialStore.UserNameVariable] = "env-user";
        _environment[CredentialStore.PasswordVariable] = "env-secret";
        DockerConfig($$"""{"auths": {"registry.example.com:5000": {"auth": "{{Auth("docker-user", "x")}}"} } }""");

        var credential = Find();
        Assert.Equal("env-user", credential?.UserName);
        Assert.Equal("env-secret", credential?.Password);
        Assert.DoesNotContain("env-secret", credential!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void OnlyOneEnvironmentVariableIsNIXIMG032()
    {
        _environment[CredentialStore.UserNameVariable] = "env-user";
        var error = Assert.Throws<NixImageException>(() => Find());
        Assert.Equal(ErrorCodes.RegistryCredentialsUnreadable, error.Code);
    }

    [Fact]
    public void DockerConfigAuthIsBase64OfUserColonPassword()
    {
        DockerConfig($$"""{"auths": {"registry.example.com:5000": {"auth": "{{Auth("docker-user", "pa:ss")}}"} } }""");
        var credential = Find();
        Assert.Equal(("docker-user", "pa:ss"), (credential?.UserName, credential?.Password));
    }

    [Theory]
    [InlineData("https://registry.example.com:5000")]
    [InlineData("https://registry.example.com:5000/v1/")]
    [InlineData("http://REGISTRY.example.com:5000/v2/")]
    public void DockerConfigKeysMayCarryASchemeAndAPath(string key)
    {
        DockerConfig($$"""{"auths": {"{{key}}": {"username": "u", "password": "p"} } }""");
        Assert.Equal("u", Find()?.UserName);
    }

    [Theory]
    [InlineData("https://index.docker.io/v1/")]
    [InlineData("docker.io")]
    public async Task DockerHubsCredentialsAreFoundUnderTheKeysDockerLoginWrites(string key)
    {
        DockerConfig($$"""{"auths": {"{{key}}": {"auth": "{{Auth("hub-user", "p")}}"} } }""");
        var hub = ImageReference.Parse("busybox").Registry;
        Assert.Equal("hub-user", (await Store().FindAsync(hub, "library/busybox", CancellationToken.None))?.UserName);
    }

    [Fact]
    public async Task DockerHubsHelperIsAskedForTheKeyDockerLoginUses()
    {
        DockerConfig("""{"credsStore": "desktop"}""");
        var hub = ImageReference.Parse("busybox").Registry;
        await Store().FindAsync(hub, "library/busybox", CancellationToken.None);
        Assert.Equal(("desktop", "https://index.docker.io/v1/"), _helperCalls.Single());
    }

    [Fact]
    public void AnotherRegistrysEntryIsNotUsed()
    {
        DockerConfig($$"""{"auths": {"registry.example.com": {"auth": "{{Auth("u", "p")}}"}, "registry.example.com:5001": {"auth": "{{Auth("u", "p")}}"} } }""");
        Assert.Null(Find());
    }

    [Fact]
    public void DockerConfigFolderComesFromDOCKER_CONFIG()
    {
        DockerConfig($$"""{"auths": {"registry.example.com:5000": {"auth": "{{Auth("home-user", "p")}}"} } }""");
        _environment["DOCKER_CONFIG"] = _folder.CreateDirectory("elsewhere");
        _folder.CreateFile("elsewhere/config.json", $$"""{"auths": {"registry.example.com:5000": {"auth": "{{Auth("docker-config-user", "p")}}"} } }""");
        Assert.Equal("docker-config-user", Find()?.UserName);
    }

    [Fact]
    public void IdentityTokenIsARefreshToken()
    {
        DockerConfig("""{"auths": {"registry.example.com:5000": {"identitytoken": "refresh-abc"} } }""");
        var credential = Find();
        Assert.Equal("refresh-abc", credential?.IdentityToken);
        Assert.False(credential!.HasPassword);
        Assert.DoesNotContain("refresh-abc", credential.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void CredHelperForTheRegistryWinsOverAuthsAndCredsStore()
    {
        DockerConfig($$"""
            {"auths": {"registry.example.com:5000": {"auth": "{{Auth("u", "p")}}"} },
             "credHelpers": {"registry.example.com:5000": "pass", "other.example.com": "other"},
             "credsStore": "desktop"}
            """);
        Assert.Equal("from-pass", Find()?.UserName);
        Assert.Equal([("pass", "registry.example.com:5000")], _helperCalls);
    }

    [Fact]
    public void AuthsEntryWinsOverCredsStoreAndAnEmptyEntryFallsThroughToIt()
    {
        DockerConfig($$"""{"auths": {"registry.example.com:5000": {"auth": "{{Auth("u", "p")}}"} }, "credsStore": "desktop"}""");
        Assert.Equal("u", Find()?.UserName);
        Assert.Empty(_helperCalls);

        DockerConfig("""{"auths": {"registry.example.com:5000": {} }, "credsStore": "desktop"}""");
        Assert.Equal("from-desktop", Find()?.UserName);
        Assert.Equal([("desktop", "registry.example.com:5000")], _helperCalls);
    }

    [Fact]
    public void PodmanAuthFileComesAfterDockersConfig()
    {
        PodmanAuth($$"""{"auths": {"registry.example.com:5000": {"auth": "{{Auth("podman-user", "p")}}"} } }""");
        Assert.Equal("podman-user", Find()?.UserName);

        DockerConfig($$"""{"auths": {"registry.example.com:5000": {"auth": "{{Auth("docker-user", "p")}}"} } }""");
        Assert.Equal("docker-user", Find()?.UserName);
    }

    [Fact]
    public void REGISTRY_AUTH_FILEReplacesTheRuntimeFolder()
    {
        PodmanAuth($$"""{"auths": {"registry.example.com:5000": {"auth": "{{Auth("runtime-user", "p")}}"} } }""");
        _environment["REGISTRY_AUTH_FILE"] = _folder.CreateFile("auth.json", $$"""{"auths": {"registry.example.com:5000": {"auth": "{{Auth("auth-file-user", "p")}}"} } }""");
        Assert.Equal("auth-file-user", Find()?.UserName);
    }

    [Fact]
    public void PodmanNamespacedKeysMatchTheMostSpecificRepositoryPrefix()
    {
        PodmanAuth($$"""
            {"auths": {
              "registry.example.com:5000": {"auth": "{{Auth("host-user", "p")}}"},
              "registry.example.com:5000/team": {"auth": "{{Auth("team-user", "p")}}"},
              "registry.example.com:5000/team/app": {"auth": "{{Auth("app-user", "p")}}"},
              "registry.example.com:5000/tea": {"auth": "{{Auth("wrong-prefix-user", "p")}}"}
            } }
            """);
        Assert.Equal("app-user", Find("team/app")?.UserName);
        Assert.Equal("team-user", Find("team/other")?.UserName);
        Assert.Equal("host-user", Find("teammates/x")?.UserName);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1, 2]")]
    [InlineData("""{"auths": {"registry.example.com:5000": {"auth": "%%%"} } }""")]
    [InlineData("""{"auths": {"registry.example.com:5000": {"auth": "bm9jb2xvbg=="} } }""")]
    public void UnreadableFilesAreNIXIMG032WithoutQuotingThem(string json)
    {
        DockerConfig(json);
        var error = Assert.Throws<NixImageException>(() => Find());
        Assert.Equal(ErrorCodes.RegistryCredentialsUnreadable, error.Code);
        Assert.Contains("config.json", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("bm9jb2xvbg", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingHelperIsNIXIMG032()
    {
        _environment["PATH"] = _folder.CreateDirectory("empty-bin");
        DockerConfig("""{"credsStore": "nixery-test-absent"}""");
        var store = new CredentialStore(name => _environment.GetValueOrDefault(name));
        var error = Assert.Throws<NixImageException>(() => store.FindAsync(Registry, "team/app", CancellationToken.None).GetAwaiter().GetResult());
        Assert.Equal(ErrorCodes.RegistryCredentialsUnreadable, error.Code);
        Assert.Contains("docker-credential-nixery-test-absent", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task ARealHelperIsRunWithTheServerOnStdin()
    {
        var bin = _folder.CreateDirectory("bin");
        _folder.CreateFile(
            "bin/docker-credential-nixery-test",
            """
            #!/bin/sh
            read server
            [ "$1" = get ] || exit 3
            if [ "$server" = "registry.example.com:5000" ]; then
              printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}' "$server"
            else
              echo "credentials not found in native keychain"; exit 1
            fi
            """,
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _environment["PATH"] = bin;
        DockerConfig("""{"credsStore": "nixery-test"}""");
        var store = new CredentialStore(name => _environment.GetValueOrDefault(name));

        var credential = await store.FindAsync(Registry, "team/app", CancellationToken.None);
        Assert.Equal(("helper-user", "helper-secret"), (credential?.UserName, credential?.Password));
        Assert.Null(await store.FindAsync(RegistryHost.Parse("other.example.com"), "team/app", CancellationToken.None));
    }
}
