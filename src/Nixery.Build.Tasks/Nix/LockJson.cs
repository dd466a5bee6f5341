using System.Text.Json;

namespace Nixery.Build.Nix;

/// <summary>
/// Reads the lock file's JSON strictly: a missing field, a field of the wrong type, a bad NAR hash, a negative size or
/// a closure entry that is not a store path is a <see cref="FormatException"/> that says which and where.
/// </summary>
internal static class LockJson
{
    public static JsonElement Object(JsonElement value, string where) =>
        value.ValueKind == JsonValueKind.Object ? value : throw new FormatException($"{where} is {Kind(value)}, not an object");

    public static JsonElement Property(JsonElement value, string name, string where) =>
        value.TryGetProperty(name, out var property) ? property : throw new FormatException($"{where} has no '{name}'");

    public static string String(JsonElement value, string name, string where)
    {
        var property = Property(value, name, where);
        return property.ValueKind == JsonValueKind.String ? property.GetString()! : throw new FormatException($"'{name}' of {where} is {Kind(property)}, not a string");
    }

    public static long Integer(JsonElement value, string name, string where)
    {
        var property = Property(value, name, where);
        return property.ValueKind == JsonValueKind.Number && property.TryGetInt64(out var number)
            ? number
            : throw new FormatException($"'{name}' of {where} is {Kind(property)}, not a whole number");
    }

    public static IEnumerable<JsonElement> Array(JsonElement value, string name, string where)
    {
        var property = Property(value, name, where);
        return property.ValueKind == JsonValueKind.Array ? property.EnumerateArray() : throw new FormatException($"'{name}' of {where} is {Kind(property)}, not an array");
    }

    public static ResolvedPackage Package(JsonElement value, string where)
    {
        Object(value, where);
        var storePath = String(value, "storePath", where);
        if (!StorePathText.IsStorePath(storePath))
        {
            throw new FormatException($"the storePath '{storePath}' of {where} is not a store path");
        }

        // Optional: a lock written before licences were recorded has none, and a package may have none (absent, or
        // null from a hand edit); when given it is the SPDX expression resolve.nix wrote.
        string? license = null;
        if (value.TryGetProperty("license", out var licenseProperty) && licenseProperty.ValueKind != JsonValueKind.Null)
        {
            license = licenseProperty.ValueKind == JsonValueKind.String && licenseProperty.GetString()!.Trim().Length > 0
                ? licenseProperty.GetString()
                : throw new FormatException($"'license' of {where} is {(licenseProperty.ValueKind == JsonValueKind.String ? "empty" : Kind(licenseProperty))}, not an SPDX licence expression");
        }

        return new ResolvedPackage(String(value, "name", where), String(value, "attrPath", where), storePath, String(value, "origin", where), String(value, "output", where), license);
    }

    public static StorePathInfo StorePath(string path, JsonElement value, string platform)
    {
        var where = $"the closure entry {path} of {platform}";
        if (!StorePathText.IsStorePath(path))
        {
            throw new FormatException($"the closure entry '{path}' of {platform} is not a store path");
        }

        Object(value, where);

        // The lock keeps the deriver's name and version, not its path: a base name that gives them back.
        var name = String(value, "name", where);
        var version = String(value, "version", where);
        var narSize = Integer(value, "narSize", where);
        if (narSize <= 0)
        {
            throw new FormatException($"'narSize' of {where} is {narSize}; a NAR has at least one byte");
        }

        var references = new List<string>();
        foreach (var reference in Array(value, "references", where))
        {
            references.Add(reference.ValueKind == JsonValueKind.String && StorePathText.IsStorePath(reference.GetString())
                ? reference.GetString()!
                : throw new FormatException($"a reference of {where} is {(reference.ValueKind == JsonValueKind.String ? $"'{reference.GetString()}'" : Kind(reference))}, not a store path"));
        }

        var hashText = String(value, "narHash", where);
        if (!NarHash.TryParse(hashText, out var narHash))
        {
            throw new FormatException($"'narHash' of {where} is '{hashText}', not a NAR hash (sha256:<52 Nix base-32 characters>)");
        }

        // The derivation's path when the lock has it (written since SBOMs name it); else a base name that gives its name and version back.
        string? deriver = null;
        if (value.TryGetProperty("deriver", out var d) && d.ValueKind != JsonValueKind.Null)
        {
            deriver = d.ValueKind == JsonValueKind.String && StorePathText.IsStorePath(d.GetString()) && d.GetString()!.EndsWith(".drv", StringComparison.Ordinal)
                ? d.GetString()
                : throw new FormatException($"'deriver' of {where} is {(d.ValueKind == JsonValueKind.String ? $"'{d.GetString()}'" : Kind(d))}, not the store path of a derivation");
        }

        return new StorePathInfo(path, narSize, references, narHash, deriver ?? (version.Length == 0 ? name : name + "-" + version) + ".drv");
    }

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "missing",
    };
}
