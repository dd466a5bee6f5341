using System.Text;
using Nixery.Build.Oci;
using Nixery.Build.Settings;

namespace Nixery.Build.Tests.Oci;

public class OciJsonTests
{
    private static readonly Digest DigestA = Digest.Parse("sha256:" + new string('a', 64));
    private static readonly Digest DigestB = Digest.Parse("sha256:" + new string('b', 64));
    private static readonly Digest DigestC = Digest.Parse("sha256:" + new string('c', 64));

    private static readonly string HexA = new('a', 64);
    private static readonly string HexB = new('b', 64);
    private static readonly string HexC = new('c', 64);

    [Fact]
    public void ConfigWithVariantIsExactCompactJson()
    {
        var config = new ImageConfig
        {
            Created = ImageDefaults.Epoch,
            Platform = Platform.FromNixSystem("aarch64-linux"),
            Settings = new ContainerSettings
            {
                User = "1000:1000",
                ExposedPorts = ["8080/tcp", "53/udp", "8080/tcp"],
                Env = ["PATH=/usr/bin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-bundle.crt"],
                Entrypoint = ["/app/HelloWeb"],
                Cmd = ["--urls", "http://+:8080"],
                WorkingDir = "/app",
                Labels = new Dictionary<string, string> { ["b"] = "3", ["a"] = "2", ["B"] = "1" },
            },
            DiffIds = [DigestA, DigestB],
            History = [new HistoryEntry("nix: hello"), new HistoryEntry("app", "the app")],
        };

        var json = Encoding.UTF8.GetString(OciJson.Serialize(config));

        Assert.Equal(
            "{\"created\":\"1970-01-01T00:00:01Z\",\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\","
            + "\"config\":{\"User\":\"1000:1000\",\"ExposedPorts\":{\"53/udp\":{},\"8080/tcp\":{}},"
            + "\"Env\":[\"PATH=/usr/bin:/bin\",\"SSL_CERT_FILE=/etc/ssl/certs/ca-bundle.crt\"],"
            + "\"Entrypoint\":[\"/app/HelloWeb\"],\"Cmd\":[\"--urls\",\"http://+:8080\"],\"WorkingDir\":\"/app\","
            + "\"Labels\":{\"B\":\"1\",\"a\":\"2\",\"b\":\"3\"}},"
            + $"\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"sha256:{HexA}\",\"sha256:{HexB}\"]}},"
            + "\"history\":[{\"created\":\"1970-01-01T00:00:01Z\",\"created_by\":\"nix: hello\"},"
            + "{\"created\":\"1970-01-01T00:00:01Z\",\"created_by\":\"app\",\"comment\":\"the app\"}]}",
            json);
    }

    [Fact]
    public void ConfigWithoutVariantAndEmptySettingsLeavesThemOut()
    {
        var config = new ImageConfig
        {
            Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
            Platform = Platform.FromNixSystem("x86_64-linux"),
            Settings = new ContainerSettings(),
            DiffIds = [DigestC],
            History = [new HistoryEntry("symlinks")],
        };

        var json = Encoding.UTF8.GetString(OciJson.Serialize(config));

        Assert.Equal(
            "{\"created\":\"2023-11-14T22:13:20Z\",\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
            + $"\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"sha256:{HexC}\"]}},"
            + "\"history\":[{\"created\":\"2023-11-14T22:13:20Z\",\"created_by\":\"symlinks\"}]}",
            json);
    }

    [Fact]
    public void ManifestIsExactCompactJsonWithMediaTypesUnescaped()
    {
        var manifest = new ImageManifest(
            MediaTypes.OciManifest,
            new Descriptor(MediaTypes.OciConfig, DigestA, 1234),
            [new Descriptor(MediaTypes.OciLayerGzip, DigestB, 10), new Descriptor(MediaTypes.OciLayerGzip, DigestC, 20)]);

        var json = Encoding.UTF8.GetString(OciJson.Serialize(manifest));

        Assert.Equal(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
            + $"\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:{HexA}\",\"size\":1234}},"
            + $"\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:{HexB}\",\"size\":10}},"
            + $"{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:{HexC}\",\"size\":20}}]}}",
            json);
        Assert.DoesNotContain("\\u002B", json, StringComparison.Ordinal);
    }

    [Fact]
    public void ManifestAnnotationsAreSortedOrdinally()
    {
        var manifest = new ImageManifest(MediaTypes.OciManifest, new Descriptor(MediaTypes.OciConfig, DigestA, 1), [])
        {
            Annotations = new Dictionary<string, string> { ["a"] = "lower", ["B"] = "upper" },
        };

        var json = Encoding.UTF8.GetString(OciJson.Serialize(manifest));

        Assert.EndsWith("\"layers\":[],\"annotations\":{\"B\":\"upper\",\"a\":\"lower\"}}", json, StringComparison.Ordinal);
    }

    [Fact]
    public void IndexWithAnnotationsIsExactCompactJson()
    {
        var index = new ImageIndex(
        [
            new Descriptor(MediaTypes.OciManifest, DigestA, 500)
            {
                Annotations = new Dictionary<string, string>
                {
                    ["org.opencontainers.image.ref.name"] = "1.0",
                    ["io.containerd.image.name"] = "shop/api:1.0",
                    ["B"] = "upper",
                },
            },
            new Descriptor(MediaTypes.OciManifest, DigestB, 501),
        ]);

        var json = Encoding.UTF8.GetString(OciJson.Serialize(index));

        Assert.Equal(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
            + $"{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:{HexA}\",\"size\":500,"
            + "\"annotations\":{\"B\":\"upper\",\"io.containerd.image.name\":\"shop/api:1.0\",\"org.opencontainers.image.ref.name\":\"1.0\"}},"
            + $"{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:{HexB}\",\"size\":501}}]}}",
            json);
    }

    [Fact]
    public void SameDocumentGivesSameBytesWhateverTheMapInsertionOrder()
    {
        static byte[] Serialize(Dictionary<string, string> labels) => OciJson.Serialize(new ImageConfig
        {
            Created = ImageDefaults.Epoch,
            Platform = Platform.FromNixSystem("x86_64-linux"),
            Settings = new ContainerSettings { Labels = labels },
            DiffIds = [],
            History = [],
        });

        var forward = Serialize(new Dictionary<string, string> { ["x"] = "1", ["y"] = "2", ["Z"] = "3" });
        var backward = Serialize(new Dictionary<string, string> { ["Z"] = "3", ["y"] = "2", ["x"] = "1" });

        Assert.Equal(forward, backward);
    }

    [Theory]
    [InlineData("1970-01-01T00:00:01+00:00", "1970-01-01T00:00:01Z")]
    [InlineData("2024-03-01T12:30:45.999+02:00", "2024-03-01T10:30:45Z")]
    [InlineData("2038-01-19T03:14:07+00:00", "2038-01-19T03:14:07Z")]
    public void TimesAreUtcWithWholeSeconds(string time, string expected)
    {
        Assert.Equal(expected, OciJson.FormatTime(DateTimeOffset.Parse(time, System.Globalization.CultureInfo.InvariantCulture)));
    }
}
