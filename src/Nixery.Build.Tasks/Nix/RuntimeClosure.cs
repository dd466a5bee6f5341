using System.Text.Json;

namespace Nixery.Build.Nix;

/// <summary>A requested package as Nix resolved it.</summary>
/// <param name="Name">The name as requested (<c>bashinteractive</c>).</param>
/// <param name="AttributePath">The attribute path it resolved to (<c>bashInteractive</c>).</param>
/// <param name="StorePath">The output the image takes (<see cref="Output"/>), realised.</param>
/// <param name="Origin">The setting that asked for it (NixPackage, NixDefaultPackages, ...).</param>
/// <param name="OutputName">Nix's name of that output: <c>bin</c>, <c>lib</c>, <c>out</c>.</param>
/// <param name="License">
/// The package's <c>meta.license</c> as an SPDX licence expression (<c>MIT</c>, <c>BSD-3-Clause AND MIT</c>), or null
/// when the package set says none that is one (no meta, a licence without an SPDX identifier, free text): resolve.nix's
/// <c>licenseOf</c> decides, and nothing here guesses.
/// </param>
public sealed record ResolvedPackage(string Name, string AttributePath, string StorePath, string Origin, string OutputName = "out", string? License = null)
{
    /// <summary>Which output was asked for: the libraries of an app-host package, else what the attribute names.</summary>
    public PackageOutput Output => PackageRequest.OutputOf(Origin);

    /// <summary>Writes the package as one JSON object, as the closure cache and the lock file keep it.</summary>
    internal void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("name", Name);
        w.WriteString("origin", Origin);
        w.WriteString("attrPath", AttributePath);
        w.WriteString("output", OutputName);
        w.WriteString("storePath", StorePath);
        if (License is { } license)
        {
            w.WriteString("license", license);
        }

        w.WriteEndObject();
    }

    /// <summary>Reads a package <see cref="Write"/> wrote (without <c>license</c> when it had none).</summary>
    internal static ResolvedPackage Read(JsonElement json) => new(
        json.GetProperty("name").GetString()!,
        json.GetProperty("attrPath").GetString()!,
        json.GetProperty("storePath").GetString()!,
        json.GetProperty("origin").GetString()!,
        json.GetProperty("output").GetString()!,
        json.TryGetProperty("license", out var license) ? license.GetString() : null);
}

/// <summary>One store path of a runtime closure, as the Nix database records it.</summary>
/// <param name="Path">The store path.</param>
/// <param name="NarSize">Size of its serialisation (NAR), which tracks its unpacked size.</param>
/// <param name="References">Store paths it refers to (Nix records self-references too).</param>
/// <param name="NarHash">The SHA-256 of its NAR: what a binary cache's copy is checked against (null where nobody said).</param>
/// <param name="Deriver">The derivation that built it (<c>/nix/store/…-jq-1.7.1.drv</c>), when Nix knows it.</param>
public sealed record StorePathInfo(string Path, long NarSize, IReadOnlyList<string> References, NarHash? NarHash = null, string? Deriver = null);

/// <summary>The realised packages and every store path they need at run time.</summary>
public sealed record RuntimeClosure(IReadOnlyList<ResolvedPackage> Packages, IReadOnlyDictionary<string, StorePathInfo> Paths)
{
    /// <summary>The store name without <c>/nix/store/&lt;hash&gt;-</c>: <c>jq-1.7.1-bin</c>.</summary>
    public static string NameOf(string storePath)
    {
        var baseName = storePath[(storePath.LastIndexOf('/') + 1)..];
        var dash = baseName.IndexOf('-', StringComparison.Ordinal);
        return dash < 0 ? baseName : baseName[(dash + 1)..];
    }
}
