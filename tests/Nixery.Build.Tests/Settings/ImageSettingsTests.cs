using Nixery.Build.Diagnostics;
using Nixery.Build.Settings;

namespace Nixery.Build.Tests.Settings;

public class ImageSettingsTests
{
    [Theory]
    [InlineData("8080", null, "8080/tcp")]
    [InlineData("53", "UDP", "53/udp")]
    [InlineData(" 443 ", "tcp", "443/tcp")]
    [InlineData("65535", "", "65535/tcp")]
    public void PortsAreNumberSlashProtocol(string number, string? type, string expected) =>
        Assert.Equal(expected, ImageSettings.Port(number, type));

    [Theory]
    [InlineData("0", null)]
    [InlineData("65536", null)]
    [InlineData("http", null)]
    [InlineData("-1", null)]
    [InlineData("80", "sctp")]
    public void BadPortsAreNiximg017QuotingTheValue(string number, string? type)
    {
        var error = Assert.Throws<NixImageException>(() => ImageSettings.Port(number, type));
        Assert.Equal(ErrorCodes.InvalidPort, error.Code);
        Assert.Contains($"'{type ?? number}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PATH")]
    [InlineData("_private")]
    [InlineData("ASPNETCORE_HTTP_PORTS")]
    [InlineData("a1")]
    public void ValidEnvironmentNames(string name) => ImageSettings.ValidateEnvironmentName(name);

    [Theory]
    [InlineData("1ABC")]
    [InlineData("A-B")]
    [InlineData("A B")]
    [InlineData("")]
    [InlineData("A=B")]
    public void InvalidEnvironmentNamesAreNiximg018(string name)
    {
        var error = Assert.Throws<NixImageException>(() => ImageSettings.ValidateEnvironmentName(name));
        Assert.Equal(ErrorCodes.InvalidEnvironmentVariable, error.Code);
        Assert.Contains($"'{name}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("org.opencontainers.image.title")]
    [InlineData("com.example/team")]
    [InlineData("a")]
    [InlineData("Maintainer")]
    public void ValidLabelKeys(string key) => ImageSettings.ValidateLabelKey(key);

    [Theory]
    [InlineData("")]
    [InlineData("-leading")]
    [InlineData("trailing.")]
    [InlineData("with space")]
    [InlineData("new\nline")]
    public void InvalidLabelKeysAreNiximg019(string key)
    {
        var error = Assert.Throws<NixImageException>(() => ImageSettings.ValidateLabelKey(key));
        Assert.Equal(ErrorCodes.InvalidLabel, error.Code);
    }

    [Theory]
    [InlineData("root")]
    [InlineData("app")]
    [InlineData("1654")]
    [InlineData("1000:1000")]
    [InlineData("nobody:nobody")]
    [InlineData("0")]
    [InlineData("2147483647:2147483647")]
    [InlineData("app:0")]
    public void ValidUsers(string user) => ImageSettings.ValidateUser(user);

    [Theory]
    [InlineData("")]
    [InlineData("a b")]
    [InlineData("1000:")]
    [InlineData(":1000")]
    [InlineData("a:b:c")]
    public void InvalidUsersAreNiximg020(string user)
    {
        var error = Assert.Throws<NixImageException>(() => ImageSettings.ValidateUser(user));
        Assert.Equal(ErrorCodes.InvalidUser, error.Code);
    }

    [Theory]
    [InlineData("99999999999", "out of range")]
    [InlineData("4294967295", "out of range")]
    [InlineData("2147483648", "out of range")]
    [InlineData("1000:4294967295", "group id 4294967295 is out of range")]
    [InlineData("www-data", "no user named 'www-data'")]
    [InlineData("app:www-data", "no group named 'www-data'")]
    public void UsersTheImageCannotRunAsAreNiximg020SayingWhy(string user, string why)
    {
        var error = Assert.Throws<NixImageException>(() => ImageSettings.ValidateUser(user));
        Assert.Equal(ErrorCodes.InvalidUser, error.Code);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "/app")]
    [InlineData("/app", "/app")]
    [InlineData("/app/", "/app")]
    [InlineData("/a//b", "/a/b")]
    [InlineData("/app/./x/", "/app/x")]
    [InlineData(" /srv/app ", "/srv/app")]
    public void WorkingDirectoryIsCanonical(string? value, string expected) =>
        Assert.Equal(expected, ImageSettings.WorkingDirectory(value));

    [Theory]
    [InlineData("/", "the image's root")]
    [InlineData("//.", "the image's root")]
    [InlineData("/app/../../etc", "'..'")]
    [InlineData("/app/..", "'..'")]
    [InlineData("app", "not an absolute path")]
    public void WorkingDirectoryThatLeavesItsFolderIsNiximg015(string value, string why)
    {
        var error = Assert.Throws<NixImageException>(() => ImageSettings.WorkingDirectory(value));
        Assert.Equal(ErrorCodes.InvalidImageSetting, error.Code);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, ImageFormat.Oci)]
    [InlineData("OCI", ImageFormat.Oci)]
    [InlineData("docker", ImageFormat.Docker)]
    [InlineData("Docker", ImageFormat.Docker)]
    public void ImageFormats(string? value, ImageFormat expected) => Assert.Equal(expected, ImageSettings.Format(value));

    [Fact]
    public void UnknownImageFormatIsNiximg022() =>
        Assert.Equal(ErrorCodes.InvalidImageFormat, Assert.Throws<NixImageException>(() => ImageSettings.Format("squashfs")).Code);

    [Fact]
    public void AspNetUrlsWinOverPortVariables()
    {
        var env = new List<KeyValuePair<string, string>>
        {
            new("ASPNETCORE_HTTP_PORTS", "8080"),
            new("ASPNETCORE_URLS", "http://+:5000;https://*:5001;http://localhost"),
        };

        Assert.Equal(["5000/tcp", "5001/tcp"], ImageSettings.PortsFromEnvironment(env));
    }

    [Fact]
    public void HttpAndHttpsPortVariablesAreBothExposed()
    {
        var env = new List<KeyValuePair<string, string>> { new("ASPNETCORE_HTTP_PORTS", "8080;8081"), new("ASPNETCORE_HTTPS_PORTS", "8443") };

        Assert.Equal(["8080/tcp", "8081/tcp", "8443/tcp"], ImageSettings.PortsFromEnvironment(env));
    }

    // The SDK's rules (ImageBuilder.DetermineEntrypointAndCmd), without a base image.
    [Theory]
    // Default: the app command is the entry point; default args are the command.
    [InlineData("app", "", "", "", "", "", "app", "")]
    [InlineData("dotnet;app.dll", "--x", "a;b", "", "", "", "dotnet;app.dll;--x", "a;b")]
    [InlineData("app", "--x", "a", "Entrypoint", "", "", "app;--x", "a")]
    // DefaultArgs: the app command moves into Cmd, behind a ContainerEntrypoint if there is one.
    [InlineData("app", "--x", "a", "DefaultArgs", "", "", "", "app;--x;a")]
    [InlineData("app", "", "a", "DefaultArgs", "/bin/sh;-c", "", "/bin/sh;-c", "app;a")]
    // None: only ContainerEntrypoint and default args.
    [InlineData("", "", "a", "None", "/bin/tini", "--", "/bin/tini;--", "a")]
    // No instruction but a ContainerEntrypoint: DefaultArgs.
    [InlineData("app", "", "", "", "/bin/tini", "", "/bin/tini", "app")]
    // The SDK's backwards compatibility: ContainerEntrypointArgs alone follow the app command.
    [InlineData("app", "", "", "", "", "--legacy", "app", "--legacy")]
    public void EntrypointAndCmdFollowTheSdk(
        string appCommand, string appCommandArgs, string defaultArgs, string instruction, string entrypoint, string entrypointArgs,
        string expectedEntrypoint, string expectedCmd)
    {
        var (actualEntrypoint, actualCmd) = ImageSettings.EntrypointAndCmd(
            List(appCommand), List(appCommandArgs), List(defaultArgs), instruction, List(entrypoint), List(entrypointArgs));

        Assert.Equal(List(expectedEntrypoint), actualEntrypoint);
        Assert.Equal(List(expectedCmd), actualCmd);
    }

    [Theory]
    [InlineData("", "--x", "", "", "", "")]
    [InlineData("app", "", "", "None", "", "")]
    [InlineData("app", "", "", "Entrypoint", "/bin/tini", "")]
    [InlineData("app", "", "", "Sometimes", "", "")]
    [InlineData("app", "", "", "DefaultArgs", "", "--orphan")]
    public void ConflictingAppCommandSettingsAreNiximg021(string appCommand, string appCommandArgs, string defaultArgs, string instruction, string entrypoint, string entrypointArgs)
    {
        var error = Assert.Throws<NixImageException>(() => ImageSettings.EntrypointAndCmd(
            List(appCommand), List(appCommandArgs), List(defaultArgs), instruction, List(entrypoint), List(entrypointArgs)));
        Assert.Equal(ErrorCodes.InvalidAppCommand, error.Code);
    }

    private static List<string> List(string value) => value.Split(';', StringSplitOptions.RemoveEmptyEntries).ToList();
}
