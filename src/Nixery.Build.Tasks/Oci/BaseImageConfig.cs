using System.Text.Json;

namespace Nixery.Build.Oci;

/// <summary>
/// What an image built on a base takes from the base's configuration: its platform, its runtime settings, its layers'
/// diff IDs and its history. Runtime settings this package does not set itself (Volumes, StopSignal, Healthcheck,
/// Shell, OnBuild) are carried as the base wrote them; history entries too, so the base's own entries stay as they are.
/// </summary>
public sealed record BaseImageConfig
{
    /// <summary>Runtime settings carried unchanged from the base.</summary>
    public static readonly IReadOnlyList<string> CarriedSettings = ["Healthcheck", "OnBuild", "Shell", "StopSignal", "Volumes"];

    public required string Os { get; init; }

    public required string Architecture { get; init; }

    public string? Variant { get; init; }

    public string? User { get; init; }

    public IReadOnlyList<string> Env { get; init; } = [];

    public IReadOnlyList<string> Entrypoint { get; init; } = [];

    public IReadOnlyList<string> Cmd { get; init; } = [];

    public string? WorkingDir { get; init; }

    public IReadOnlyList<string> ExposedPorts { get; init; } = [];

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Other runtime settings (<see cref="CarriedSettings"/>) as raw JSON, by name.</summary>
    public IReadOnlyDictionary<string, string> Carried { get; init; } = new Dictionary<string, string>();

    public required IReadOnlyList<Digest> DiffIds { get; init; }

    /// <summary>The base's history entries as raw JSON objects, oldest first.</summary>
    public IReadOnlyList<string> History { get; init; } = [];

    /// <summary>Reads a base's config blob; throws <see cref="JsonException"/>, <see cref="FormatException"/> or <see cref="KeyNotFoundException"/> when it is not one.</summary>
    public static BaseImageConfig Parse(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var settings = root.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        return new BaseImageConfig
        {
            Os = root.GetProperty("os").GetString() ?? throw new FormatException("os is not a string"),
            Architecture = root.GetProperty("architecture").GetString() ?? throw new FormatException("architecture is not a string"),
            Variant = String(root, "variant"),
            User = String(settings, "User"),
            Env = Strings(settings, "Env"),
            Entrypoint = Strings(settings, "Entrypoint"),
            Cmd = Strings(settings, "Cmd"),
            WorkingDir = String(settings, "WorkingDir"),
            ExposedPorts = settings.ValueKind == JsonValueKind.Object && settings.TryGetProperty(nameof(ExposedPorts), out var ports) && ports.ValueKind == JsonValueKind.Object
                ? ports.EnumerateObject().Select(p => p.Name).ToList()
                : [],
            Labels = settings.ValueKind == JsonValueKind.Object && settings.TryGetProperty(nameof(Labels), out var labels) && labels.ValueKind == JsonValueKind.Object
                ? labels.EnumerateObject().Where(l => l.Value.ValueKind == JsonValueKind.String).ToDictionary(l => l.Name, l => l.Value.GetString()!, StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal),
            Carried = settings.ValueKind == JsonValueKind.Object
                ? settings.EnumerateObject().Where(p => CarriedSettings.Contains(p.Name) && p.Value.ValueKind != JsonValueKind.Null).ToDictionary(p => p.Name, p => p.Value.GetRawText(), StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal),
            DiffIds = OciDocuments.DiffIds(root),
            History = root.TryGetProperty("history", out var history) && history.ValueKind == JsonValueKind.Array
                ? history.EnumerateArray().Where(h => h.ValueKind == JsonValueKind.Object).Select(h => h.GetRawText()).ToList()
                : [],
        };
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    private static List<string> Strings(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToList()
            : [];
}
