using System.Text.Json;

namespace Nixery.Build.Oci;

/// <summary>
/// Reads back the parts of OCI documents that the readers of a built image need (from an archive or from the
/// layer cache): descriptors, a manifest's config and layers, a config's diff IDs. Missing members throw
/// (<see cref="KeyNotFoundException"/>, <see cref="InvalidOperationException"/>, <see cref="FormatException"/>).
/// </summary>
public static class OciDocuments
{
    public static Descriptor Descriptor(JsonElement element) =>
        new(element.GetProperty("mediaType").GetString()!, Digest.Parse(element.GetProperty("digest").GetString()!), element.GetProperty("size").GetInt64());

    public static (Descriptor Config, IReadOnlyList<Descriptor> Layers) Manifest(JsonElement manifest) =>
        (Descriptor(manifest.GetProperty("config")), manifest.GetProperty("layers").EnumerateArray().Select(Descriptor).ToList());

    public static IReadOnlyList<Digest> DiffIds(JsonElement config) =>
        config.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray().Select(d => Digest.Parse(d.GetString()!)).ToList();
}
