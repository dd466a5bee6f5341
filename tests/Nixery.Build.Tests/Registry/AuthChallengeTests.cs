using Nixery.Build.Registry;

namespace Nixery.Build.Tests.Registry;

public class AuthChallengeTests
{
    [Fact]
    public void BearerChallengeGivesRealmServiceAndScope()
    {
        var challenge = Assert.Single(AuthChallenge.Parse("""Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push" """));
        Assert.True(challenge.IsBearer);
        Assert.Equal("https://auth.example.com/token", challenge["realm"]);
        Assert.Equal("registry.example.com", challenge["service"]);
        Assert.Equal("repository:team/app:pull,push", challenge["scope"]);
    }

    [Fact]
    public void SchemeAndParameterNamesAreCaseInsensitive()
    {
        var challenge = Assert.Single(AuthChallenge.Parse("""bearer Realm="https://a/token", SERVICE=registry"""));
        Assert.True(challenge.IsBearer);
        Assert.Equal("https://a/token", challenge["realm"]);
        Assert.Equal("registry", challenge["service"]);
    }

    [Fact]
    public void BasicChallengeWithARealm()
    {
        var challenge = Assert.Single(AuthChallenge.Parse("""Basic realm="Registry Realm" """));
        Assert.True(challenge.IsBasic);
        Assert.Equal("Registry Realm", challenge["realm"]);
    }

    [Fact]
    public void SeveralChallengesInOneHeaderAndAcrossHeaders()
    {
        var challenges = AuthChallenge.Parse(["""Basic realm="basic", Bearer realm="https://t/token",service="s" """, "Negotiate"]);
        Assert.Equal(["Basic", "Bearer", "Negotiate"], challenges.Select(c => c.Scheme));
        Assert.Equal("basic", challenges[0]["realm"]);
        Assert.Equal("s", challenges[1]["service"]);
        Assert.Empty(challenges[2].Parameters);
        Assert.Same(challenges[1], AuthChallenge.Preferred(challenges));
    }

    [Fact]
    public void QuotedValuesMayHoldCommasEqualsAndEscapedQuotes()
    {
        var challenge = Assert.Single(AuthChallenge.Parse("""Bearer realm="https://t/token?a=b,c",error="insufficient_scope",error_description="say \"hi\"" """));
        Assert.Equal("https://t/token?a=b,c", challenge["realm"]);
        Assert.Equal("insufficient_scope", challenge["error"]);
        Assert.Equal("say \"hi\"", challenge["error_description"]);
    }

    [Fact]
    public void TokenValuesAndSpacesAroundEqualsAreRead()
    {
        // Unquoted values are RFC 9110 tokens (no ':' or '/': a URL must be quoted).
        var challenge = Assert.Single(AuthChallenge.Parse("Bearer realm = realm-1 , service = registry.local"));
        Assert.Equal("realm-1", challenge["realm"]);
        Assert.Equal("registry.local", challenge["service"]);
    }

    [Fact]
    public void GarbageIsSkippedNotFatal()
    {
        Assert.Empty(AuthChallenge.Parse(""));
        Assert.Empty(AuthChallenge.Parse(" , ,"));
        var challenges = AuthChallenge.Parse("""=== Bearer realm="x" """);
        Assert.Equal("x", Assert.Single(challenges)["realm"]);
        Assert.Null(AuthChallenge.Preferred(AuthChallenge.Parse("Negotiate")));
    }

    [Fact]
    public void AnUnterminatedQuoteTakesTheRest()
    {
        var challenge = Assert.Single(AuthChallenge.Parse("""Bearer realm="https://t/token"""));
        Assert.Equal("https://t/token", challenge["realm"]);
    }
}
