using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;

namespace Nixery.Build.Tests.Oci;

public class ImageNamesTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("a/b")]
    [InlineData("shop/api")]
    [InlineData("a.b_c__d--e")]
    [InlineData("a---b")]
    [InlineData("0/1/2")]
    [InlineData("library/ubuntu-22.04")]
    public void ValidRepositories(string repository)
    {
        Assert.True(ImageNames.IsValidRepository(repository));
        ImageNames.ValidateRepository(repository);
    }

    [Theory]
    [InlineData("")]
    [InlineData("A")]
    [InlineData("Shop/api")]
    [InlineData("a/")]
    [InlineData("/a")]
    [InlineData("a//b")]
    [InlineData("-a")]
    [InlineData("a-")]
    [InlineData(".a")]
    [InlineData("a..b")]
    [InlineData("a___b")]
    [InlineData("a._b")]
    [InlineData("a b")]
    [InlineData("a:b")]
    [InlineData("localhost:5000/a")]
    [InlineData("a\n")]
    [InlineData("a/b\n")]
    public void InvalidRepositories(string repository)
    {
        Assert.False(ImageNames.IsValidRepository(repository));
        var error = Assert.Throws<NixImageException>(() => ImageNames.ValidateRepository(repository));
        Assert.Equal("NIXIMG008", error.Code);
        Assert.Equal(ErrorCodes.InvalidImageName, error.Code);
    }

    [Fact]
    public void RepositoryOf255CharactersIsValidAnd256IsNot()
    {
        Assert.True(ImageNames.IsValidRepository(new string('a', 255)));
        Assert.False(ImageNames.IsValidRepository(new string('a', 256)));
    }

    [Theory]
    [InlineData("latest")]
    [InlineData("1.0")]
    [InlineData("v1.2.3-rc.1")]
    [InlineData("_underscore")]
    [InlineData("UPPER_case")]
    [InlineData("a")]
    public void ValidTags(string tag)
    {
        Assert.True(ImageNames.IsValidTag(tag));
        ImageNames.ValidateTag(tag);
    }

    [Theory]
    [InlineData("")]
    [InlineData(".hidden")]
    [InlineData("-dash")]
    [InlineData("a b")]
    [InlineData("a:b")]
    [InlineData("a/b")]
    [InlineData("ünï")]
    [InlineData("latest\n")]
    public void InvalidTags(string tag)
    {
        Assert.False(ImageNames.IsValidTag(tag));
        var error = Assert.Throws<NixImageException>(() => ImageNames.ValidateTag(tag));
        Assert.Equal("NIXIMG008", error.Code);
    }

    [Fact]
    public void TagOf128CharactersIsValidAnd129IsNot()
    {
        Assert.True(ImageNames.IsValidTag(new string('t', 128)));
        Assert.False(ImageNames.IsValidTag(new string('t', 129)));
        Assert.Throws<NixImageException>(() => ImageNames.ValidateTag(new string('t', 129)));
    }

    [Theory]
    [InlineData("HelloNix", "hellonix")]
    [InlineData("My.App_Name", "my.app_name")]
    [InlineData("Foo Bar!", "foo-bar")]
    [InlineData("---", "app")]
    [InlineData("", "app")]
    [InlineData("Contoso.Shop.Api", "contoso.shop.api")]
    [InlineData("My__App", "my_app")]
    [InlineData("My._-App", "my-app")]
    [InlineData("_Leading.Trailing_", "leading.trailing")]
    [InlineData("Ünïcode App", "n-code-app")]
    public void RepositoryFromAssemblyName(string assemblyName, string expected)
    {
        Assert.Equal(expected, ImageNames.RepositoryFromAssemblyName(assemblyName));
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData("A . B")]
    [InlineData("x___y")]
    [InlineData("日本語")]
    [InlineData("1.0")]
    [InlineData("a/./b")]
    [InlineData("Name With    Many   Spaces")]
    public void RepositoryFromAnyAssemblyNameIsValid(string assemblyName)
    {
        Assert.True(ImageNames.IsValidRepository(ImageNames.RepositoryFromAssemblyName(assemblyName)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void RepositoryFromAVeryLongAssemblyNameIsValid(int extra)
    {
        // 363 characters or more, cut at 255: on a letter (extra 0) or on a '.' (extra 3), which must go.
        var name = new string('X', extra) + string.Concat(Enumerable.Repeat("Contoso.Component.", 20)) + "Api";

        var repository = ImageNames.RepositoryFromAssemblyName(name);

        Assert.True(ImageNames.IsValidRepository(repository), repository);
        Assert.InRange(repository.Length, 250, 255);
        Assert.StartsWith(new string('x', extra) + "contoso.component.", repository, StringComparison.Ordinal);
    }
}
