using System.Text;
using System.Text.Json;
using Nixery.Build.Oci;
using Nixery.Build.Settings;

namespace Nixery.Build.Tests.Oci;

/// <summary>
/// Reading a base image's configuration (what an image built on it takes: platform, runtime settings, diff IDs,
/// history), naming the base's layers in the built image's format, and writing the base's history and carried
/// settings back out.
/// </summary>
public class BaseImageConfigTests
{
    private static readonly string HexA = new('a', 64);
    private static readonly string HexB = new('b', 64);

    private const string AddHistory =
        "{\"created\":\"2024-06-01T10:00:00.123456789Z\",\"created_by\":\"/bin/sh -c #(nop) ADD file:0123 in / \"}";

    private const string CmdHistory =
        "{\"created\":\"2024-06-01T10:00:01Z\",\"created_by\":\"/bin/sh -c #(nop)  CMD [\\\"bash\\\"]\",\"empty_layer\":true}";

    private const string RunHistory =
        "{\"created\":\"2024-06-01T10:00:05Z\",\"created_by\":\"/bin/sh -c apt-get update\",\"comment\":\"buildkit.dockerfile.v0\"}";

    /// <summary>A config as docker build writes it: Docker's extra fields, nulls where nothing is set, an empty-layer history entry.</summary>
    private static readonly string DockerConfig = $$"""
        {
          "architecture": "arm64",
          "variant": "v8",
          "os": "linux",
          "created": "2024-06-01T10:00:05Z",
          "config": {
            "Hostname": "",
            "Domainname": "",
            "User": "",
            "AttachStdin": false,
            "Tty": false,
            "ExposedPorts": { "80/tcp": {}, "443/tcp": {} },
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.27.0"],
            "Cmd": ["nginx", "-g", "daemon off;"],
            "Image": "",
            "Volumes": { "/var/cache/nginx": {} },
            "WorkingDir": "",
            "Entrypoint": null,
            "OnBuild": null,
            "Healthcheck": null,
            "Labels": { "maintainer": "NGINX Docker Maintainers", "org.opencontainers.image.version": "1.27.0", "weird": 3 },
            "StopSignal": "SIGQUIT"
          },
          "rootfs": {
            "type": "layers",
            "diff_ids": ["sha256:{{HexA}}", "sha256:{{HexB}}"]
          },
          "history": [
            {{AddHistory}},
            {{CmdHistory}},
            {{RunHistory}}
          ]
        }
        """;

    [Fact]
    public void ADockerConfigGivesItsPlatformAndSettings()
    {
        var config = BaseImageConfig.Parse(Encoding.UTF8.GetBytes(DockerConfig));

        Assert.Equal("linux", config.Os);
        Assert.Equal("arm64", config.Architecture);
        Assert.Equal("v8", config.Variant);
        Assert.Null(config.User);
        Assert.Null(config.WorkingDir);
        Assert.Equal(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.27.0"], config.Env);
        Assert.Equal(["nginx", "-g", "daemon off;"], config.Cmd);
        Assert.Empty(config.Entrypoint);
        Assert.Equal(["80/tcp", "443/tcp"], config.ExposedPorts);
        Assert.Equal(
            new Dictionary<string, string> { ["maintainer"] = "NGINX Docker Maintainers", ["org.opencontainers.image.version"] = "1.27.0" },
            config.Labels);
    }

    [Fact]
    public void OnlyTheCarriedSettingsThatAreSetAreCarriedAsRawJson()
    {
        var config = BaseImageConfig.Parse(Encoding.UTF8.GetBytes(DockerConfig));

        Assert.Equal(["Healthcheck", "OnBuild", "Shell", "StopSignal", "Volumes"], BaseImageConfig.CarriedSettings);
        Assert.Equal(["StopSignal", "Volumes"], config.Carried.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("\"SIGQUIT\"", config.Carried["StopSignal"]);
        Assert.Equal("{ \"/var/cache/nginx\": {} }", config.Carried["Volumes"]);
        Assert.All(config.Carried.Keys, k => Assert.Contains(k, BaseImageConfig.CarriedSettings));
    }

    [Fact]
    public void EveryCarriedSettingIsTakenWhenSet()
    {
        var json = """
            {"architecture":"amd64","os":"linux","config":{
              "Healthcheck":{"Test":["CMD","true"],"Interval":30000000000},
              "OnBuild":["RUN echo hi"],
              "Shell":["/bin/bash","-c"],
              "StopSignal":"SIGTERM",
              "Volumes":{"/data":{}},
              "Hostname":"abc","ArgsEscaped":true},
             "rootfs":{"type":"layers","diff_ids":[]}}
            """;

        var config = BaseImageConfig.Parse(Encoding.UTF8.GetBytes(json));

        Assert.Equal(BaseImageConfig.CarriedSettings, config.Carried.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("[\"/bin/bash\",\"-c\"]", config.Carried["Shell"]);
        Assert.Empty(config.DiffIds);
        Assert.Null(config.Variant);
    }

    [Fact]
    public void DiffIdsAndHistoryAreKeptInOrder()
    {
        var config = BaseImageConfig.Parse(Encoding.UTF8.GetBytes(DockerConfig));

        Assert.Equal([Digest.Parse("sha256:" + HexA), Digest.Parse("sha256:" + HexB)], config.DiffIds);
        Assert.Equal([AddHistory, CmdHistory, RunHistory], config.History);
        Assert.True(JsonDocument.Parse(config.History[1]).RootElement.GetProperty("empty_layer").GetBoolean());
    }

    [Fact]
    public void AConfigWithoutSettingsOrHistoryHasEmptyOnes()
    {
        var json = $$$"""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:{{{HexA}}}"]}}""";

        var config = BaseImageConfig.Parse(Encoding.UTF8.GetBytes(json));

        Assert.Equal("amd64", config.Architecture);
        Assert.Empty(config.Env);
        Assert.Empty(config.Cmd);
        Assert.Empty(config.ExposedPorts);
        Assert.Empty(config.Labels);
        Assert.Empty(config.Carried);
        Assert.Empty(config.History);
        Assert.Single(config.DiffIds);
    }

    [Fact]
    public void AConfigWithoutRootfsIsNotABaseConfig()
    {
        var json = """{"architecture":"amd64","os":"linux","config":{}}""";

        Assert.Throws<KeyNotFoundException>(() => BaseImageConfig.Parse(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void ADiffIdThatIsNotADigestIsAFormatError()
    {
        var json = """{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:abc"]}}""";

        Assert.Throws<FormatException>(() => BaseImageConfig.Parse(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void NotJsonIsAJsonError() =>
        Assert.ThrowsAny<JsonException>(() => BaseImageConfig.Parse(Encoding.UTF8.GetBytes("not json")));

    [Theory]
    [InlineData(MediaTypes.DockerLayerGzip, true, MediaTypes.DockerLayerGzip)]
    [InlineData(MediaTypes.DockerLayerGzip, false, MediaTypes.OciLayerGzip)]
    [InlineData(MediaTypes.OciLayerGzip, true, MediaTypes.DockerLayerGzip)]
    [InlineData(MediaTypes.OciLayerGzip, false, MediaTypes.OciLayerGzip)]
    [InlineData(MediaTypes.DockerLayer, true, MediaTypes.DockerLayer)]
    [InlineData(MediaTypes.DockerLayer, false, MediaTypes.OciLayer)]
    [InlineData(MediaTypes.OciLayer, true, MediaTypes.DockerLayer)]
    [InlineData(MediaTypes.OciLayer, false, MediaTypes.OciLayer)]
    [InlineData(MediaTypes.OciLayerZstd, true, MediaTypes.OciLayerZstd)]
    [InlineData(MediaTypes.OciLayerZstd, false, MediaTypes.OciLayerZstd)]
    public void ALayerKeepsItsCompressionAndTakesTheNameOfTheBuiltFormat(string mediaType, bool docker, string expected)
    {
        Assert.Equal(expected, MediaTypes.LayerIn(mediaType, docker));
        Assert.Equal(MediaTypes.CompressionOf(mediaType), MediaTypes.CompressionOf(MediaTypes.LayerIn(mediaType, docker)));
    }

    [Theory]
    [InlineData(MediaTypes.OciLayerGzip, LayerCompression.Gzip)]
    [InlineData(MediaTypes.DockerLayerGzip, LayerCompression.Gzip)]
    [InlineData(MediaTypes.OciLayer, LayerCompression.None)]
    [InlineData(MediaTypes.DockerLayer, LayerCompression.None)]
    [InlineData(MediaTypes.OciLayerZstd, LayerCompression.Zstd)]
    public void CompressionComesFromTheLayerType(string mediaType, LayerCompression compression) =>
        Assert.Equal(compression, MediaTypes.CompressionOf(mediaType));

    [Theory]
    [InlineData(MediaTypes.OciConfig)]
    [InlineData(MediaTypes.OciManifest)]
    [InlineData("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip")]
    [InlineData("text/plain")]
    public void OtherTypesAreNotLayersThisPackageReadsAndKeepTheirName(string mediaType)
    {
        Assert.Null(MediaTypes.CompressionOf(mediaType));
        Assert.Equal(mediaType, MediaTypes.LayerIn(mediaType, docker: true));
        Assert.Equal(mediaType, MediaTypes.LayerIn(mediaType, docker: false));
    }

    [Fact]
    public void OnlyIndexesAndManifestListsAreIndexes()
    {
        Assert.True(MediaTypes.IsIndex(MediaTypes.OciIndex));
        Assert.True(MediaTypes.IsIndex(MediaTypes.DockerManifestList));
        Assert.False(MediaTypes.IsIndex(MediaTypes.OciManifest));
        Assert.False(MediaTypes.IsIndex(MediaTypes.DockerManifest));
        Assert.Equal(2, MediaTypes.Manifests.Count(MediaTypes.IsIndex));
    }

    [Fact]
    public void TheBasesHistoryIsWrittenFirstAndUnchanged()
    {
        var config = BuiltOn(BaseImageConfig.Parse(Encoding.UTF8.GetBytes(DockerConfig)));

        using var document = JsonDocument.Parse(OciJson.Serialize(config));
        var history = document.RootElement.GetProperty("history").EnumerateArray().ToList();

        Assert.Equal([AddHistory, CmdHistory, RunHistory], history.Take(3).Select(h => h.GetRawText()));
        Assert.Equal(["nix: hello", "app"], history.Skip(3).Select(h => h.GetProperty("created_by").GetString()));
        Assert.All(history.Skip(3), h => Assert.Equal(OciJson.FormatTime(ImageDefaults.Epoch), h.GetProperty("created").GetString()));
    }

    [Fact]
    public void CarriedSettingsAreWrittenInConfigAfterLabelsSorted()
    {
        var config = BuiltOn(BaseImageConfig.Parse(Encoding.UTF8.GetBytes(DockerConfig)));

        using var document = JsonDocument.Parse(OciJson.Serialize(config));
        var settings = document.RootElement.GetProperty("config");
        var names = settings.EnumerateObject().Select(p => p.Name).ToList();

        Assert.Equal(["Labels", "StopSignal", "Volumes"], names[^3..]);
        Assert.Equal("SIGQUIT", settings.GetProperty("StopSignal").GetString());
        Assert.Equal(["/var/cache/nginx"], settings.GetProperty("Volumes").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void CarriedSettingsWithoutLabelsCloseTheConfig()
    {
        var built = BuiltOn(BaseImageConfig.Parse(Encoding.UTF8.GetBytes(DockerConfig)));
        var config = built with { Settings = built.Settings with { Labels = new Dictionary<string, string>() } };

        using var document = JsonDocument.Parse(OciJson.Serialize(config));

        Assert.Equal(["Cmd", "StopSignal", "Volumes"], document.RootElement.GetProperty("config").EnumerateObject().Select(p => p.Name).TakeLast(3));
    }

    [Fact]
    public void AWrittenConfigReadsBackAsTheSameBase()
    {
        var parsed = BaseImageConfig.Parse(Encoding.UTF8.GetBytes(DockerConfig));

        var reread = BaseImageConfig.Parse(OciJson.Serialize(BuiltOn(parsed)));

        Assert.Equal(parsed.Carried.Keys.Order(StringComparer.Ordinal), reread.Carried.Keys.Order(StringComparer.Ordinal));
        Assert.All(parsed.Carried, p => Assert.Equal(JsonNormalized(p.Value), JsonNormalized(reread.Carried[p.Key])));
        Assert.Equal(parsed.DiffIds, reread.DiffIds.Take(parsed.DiffIds.Count));
        Assert.Equal(parsed.DiffIds.Count + 2, reread.DiffIds.Count);
        Assert.Equal(parsed.History, reread.History.Take(parsed.History.Count));
        Assert.Equal(parsed.Labels, reread.Labels);
        Assert.Equal(parsed.Env, reread.Env);
    }

    /// <summary>The configuration of an image built on <paramref name="baseConfig"/> with two layers of its own.</summary>
    private static ImageConfig BuiltOn(BaseImageConfig baseConfig) => new()
    {
        Created = ImageDefaults.Epoch,
        Platform = Platform.FromNixSystem("aarch64-linux"),
        Settings = new ContainerSettings
        {
            Env = baseConfig.Env,
            Cmd = baseConfig.Cmd,
            ExposedPorts = baseConfig.ExposedPorts,
            Labels = baseConfig.Labels,
            Carried = baseConfig.Carried,
        },
        DiffIds = [.. baseConfig.DiffIds, Digest.Of("nix"u8), Digest.Of("app"u8)],
        History = [new HistoryEntry("nix: hello"), new HistoryEntry("app")],
        BaseHistory = baseConfig.History,
    };

    /// <summary>JSON text without insignificant whitespace, to compare raw values.</summary>
    private static string JsonNormalized(string json)
    {
        using var document = JsonDocument.Parse(json);
        return JsonSerializer.Serialize(document.RootElement);
    }
}
