using Nixery.Build.Diagnostics;
using Nixery.Build.Registry;

namespace Nixery.Build.Tests.Registry;

public class RegistryNameTests
{
    [Theory]
    [InlineData("registry.example.com", "registry.example.com", null)]
    [InlineData("Registry.Example.COM:5000", "registry.example.com", 5000)]
    [InlineData("localhost:5000", "localhost", 5000)]
    [InlineData("127.0.0.1:65535", "127.0.0.1", 65535)]
    [InlineData("my-registry", "my-registry", null)]
    [InlineData("a.b-c.d", "a.b-c.d", null)]
    [InlineData("[::1]:5000", "[::1]", 5000)]
    [InlineData("[2001:db8::1]", "[2001:db8::1]", null)]
    public void ValidRegistryNamesParse(string text, string host, int? port)
    {
        var registry = RegistryHost.Parse(text);
        Assert.Equal(host, registry.Host);
        Assert.Equal(port, registry.Port);
    }

    [Theory]
    [InlineData("")]
    [InlineData("https://registry.example.com")]
    [InlineData("registry.example.com/team")]
    [InlineData("registry.example.com:0")]
    [InlineData("registry.example.com:65536")]
    [InlineData("registry.example.com:")]
    [InlineData("-registry.example.com")]
    [InlineData("registry-.example.com")]
    [InlineData("registry..example.com")]
    [InlineData("registry_example.com")]
    [InlineData("[not-an-address]:5000")]
    [InlineData("::1")]
    [InlineData("registry.example.com\n")]
    public void InvalidRegistryNamesAreNIXIMG030(string text)
    {
        Assert.False(RegistryHost.TryParse(text, out _));
        var error = Assert.Throws<NixImageException>(() => RegistryHost.Parse(text));
        Assert.Equal(ErrorCodes.InvalidRegistry, error.Code);
    }

    [Fact]
    public void ASchemeGetsItsOwnHint()
    {
        var error = Assert.Throws<NixImageException>(() => RegistryHost.Parse("https://registry.example.com:5000"));
        Assert.Contains("Leave out the scheme", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost", true)]
    [InlineData("LOCALHOST:5000", true)]
    [InlineData("127.0.0.1:5000", true)]
    [InlineData("127.200.3.4", true)]
    [InlineData("[::1]:5000", true)]
    [InlineData("128.0.0.1", false)]
    [InlineData("localhost.example.com", false)]
    [InlineData("10.0.0.1:5000", false)]
    [InlineData("[2001:db8::1]", false)]
    public void LoopbackIsLocalhostAnd127Slash8AndColonColon1(string text, bool loopback) =>
        Assert.Equal(loopback, RegistryHost.Parse(text).IsLoopback);

    [Fact]
    public void NameAndBaseUriKeepThePort()
    {
        var registry = RegistryHost.Parse("[::1]:5000");
        Assert.Equal("[::1]:5000", registry.Name);
        Assert.Equal("http://[::1]:5000/", registry.BaseUri("http").ToString());
    }
}

public class InsecureRegistriesTests
{
    [Fact]
    public void EnvironmentIsCommaSeparatedAndThePropertySemicolonSeparated()
    {
        var insecure = InsecureRegistries.Parse(" a.example.com , b.example.com:5000", "c.example.com;d.example.com:443 ; ");
        Assert.Equal(["a.example.com", "b.example.com:5000", "c.example.com", "d.example.com:443"], insecure.Entries.Select(e => e.Name));
    }

    [Theory]
    [InlineData("registry.example.com", "registry.example.com:5000", true)]
    [InlineData("registry.example.com", "registry.example.com", true)]
    [InlineData("registry.example.com:5000", "registry.example.com:5000", true)]
    [InlineData("registry.example.com:5000", "registry.example.com:5001", false)]
    [InlineData("registry.example.com:5000", "registry.example.com", false)]
    [InlineData("registry.example.com", "other.example.com", false)]
    public void AnEntryWithoutPortMatchesEveryPort(string entry, string registry, bool listed)
    {
        var insecure = InsecureRegistries.Parse(null, entry);
        var host = RegistryHost.Parse(registry);
        Assert.Equal(listed, insecure.IsListed(host));
        Assert.Equal(listed, insecure.AllowsHttp(host));
        Assert.Equal(listed, insecure.SkipsCertificateCheck(host));
    }

    [Fact]
    public void LoopbackMayUsePlainHttpButItsCertificatesAreStillChecked()
    {
        var loopback = RegistryHost.Parse("127.0.0.1:5000");
        Assert.True(InsecureRegistries.None.AllowsHttp(loopback));
        Assert.False(InsecureRegistries.None.SkipsCertificateCheck(loopback));
        Assert.False(InsecureRegistries.None.AllowsHttp(RegistryHost.Parse("registry.example.com")));
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/token", true)]
    [InlineData("http://localhost/token", true)]
    [InlineData("http://auth.example.com/token", false)]
    [InlineData("http://insecure.example.com:8080/token", true)]
    public void TokenServiceOverPlainHttpOnlyOnThisMachineOrWhenListed(string realm, bool allowed) =>
        Assert.Equal(allowed, InsecureRegistries.Parse(null, "insecure.example.com").AllowsHttpRealm(new Uri(realm)));

    [Fact]
    public void AnInvalidEntryIsNIXIMG030NamingTheSetting()
    {
        var error = Assert.Throws<NixImageException>(() => InsecureRegistries.Parse("http://bad", null));
        Assert.Equal(ErrorCodes.InvalidRegistry, error.Code);
        Assert.Contains(InsecureRegistries.EnvironmentVariable, error.Message, StringComparison.Ordinal);
    }
}
