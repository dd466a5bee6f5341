using Nixery.Build.Layers;

namespace Nixery.Build.Tests.Layers;

public class PopularityTests
{
    private static readonly Popularity Counts = new(new Dictionary<string, ulong>(StringComparer.Ordinal)
    {
        ["jq-1.7.1-bin"] = 42,
        ["glibc-2.40-66"] = 300_000,
        ["iana-etc-20240318"] = 3,
        ["zlib-1.3.1"] = 0,
    });

    [Fact]
    public void EntryMatchesTheStoreNameWithoutStoreDirectoryAndHash()
    {
        Assert.Equal(42UL, Counts.Of("/nix/store/5s2wbph7ll35rhj0c2bsm4nz9f2jw6a6-jq-1.7.1-bin"));
        Assert.Equal(300_000UL, Counts.Of("/nix/store/p9kdj55g5l39nbrxpjyz5wc1m0s7rzsx-glibc-2.40-66"));
        Assert.Equal(0UL, Counts.Of("/nix/store/0jimw2dsgbfsxpckqj6nb6snsr3zcnzq-zlib-1.3.1"));
    }

    [Theory]
    [InlineData("/nix/store/5s2wbph7ll35rhj0c2bsm4nz9f2jw6a6-jq-1.7.1")]
    [InlineData("/nix/store/5s2wbph7ll35rhj0c2bsm4nz9f2jw6a6-jq-1.7.1-bin-extra")]
    [InlineData("/nix/store/5s2wbph7ll35rhj0c2bsm4nz9f2jw6a6-JQ-1.7.1-bin")]
    [InlineData("/nix/store/5s2wbph7ll35rhj0c2bsm4nz9f2jw6a6-my-jq-1.7.1-bin")]
    public void EntryMatchesOnlyTheExactName(string storePath)
    {
        Assert.Equal(Popularity.Default, Counts.Of(storePath));
    }

    [Theory]
    [InlineData("/nix/store/8kbdhq4d6pyp2cl1i6c4bg7ndxq3kzkb-nss-cacert-3.101")]
    [InlineData("/nix/store/8kbdhq4d6pyp2cl1i6c4bg7ndxq3kzkb-nss-cacert-3.101-unbundled")]
    [InlineData("/nix/store/4lwhnh7kbdnnhd9hm28glp8r0vnrhcak-iana-etc-20240318")]
    [InlineData("/nix/store/4lwhnh7kbdnnhd9hm28glp8r0vnrhcak-iana-etc")]
    public void NssCacertAndIanaEtcRateHalfAMillionWhateverTheMapSays(string storePath)
    {
        Assert.Equal(500_000UL, Popularity.Universal);
        Assert.Equal(Popularity.Universal, Counts.Of(storePath));
        Assert.Equal(Popularity.Universal, Popularity.None.Of(storePath));
    }

    [Theory]
    [InlineData("/nix/store/8kbdhq4d6pyp2cl1i6c4bg7ndxq3kzkb-my-nss-cacert-3.101")]
    [InlineData("/nix/store/8kbdhq4d6pyp2cl1i6c4bg7ndxq3kzkb-cacert-3.101")]
    [InlineData("/nix/store/4lwhnh7kbdnnhd9hm28glp8r0vnrhcak-iana-et")]
    public void TheUniversalRuleIsAPrefixOfTheNameOnly(string storePath)
    {
        Assert.Equal(Popularity.Default, Counts.Of(storePath));
    }

    [Fact]
    public void PathsWithoutAnEntryRateOne()
    {
        Assert.Equal(1UL, Popularity.Default);
        Assert.Equal(1UL, Counts.Of("/nix/store/0jimw2dsgbfsxpckqj6nb6snsr3zcnzq-bash-5.2p37"));
        Assert.Equal(1UL, Popularity.None.Of("/nix/store/5s2wbph7ll35rhj0c2bsm4nz9f2jw6a6-jq-1.7.1-bin"));
    }
}
