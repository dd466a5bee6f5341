using System.Globalization;

namespace Nixery.Build.BinaryCache;

/// <summary>
/// A binary cache's <c>&lt;hash&gt;.narinfo</c>: where a store path's NAR is (<see cref="Url"/>, relative to the cache),
/// how it is compressed, the hash and size of the uncompressed NAR, the paths it references and who signed it.
/// <see cref="References"/> and <see cref="Deriver"/> are full store paths (the file writes base names);
/// <see cref="NarHash"/> is kept as the file writes it (<c>sha256:</c> and 52 Nix base-32 digits).
/// </summary>
public sealed record NarInfo(
    string StorePath,
    string Url,
    string Compression,
    string NarHash,
    long NarSize,
    IReadOnlyList<string> References,
    string? Deriver,
    IReadOnlyList<string> Signatures,
    string? FileHash,
    long? FileSize)
{
    /// <summary>What a narinfo without a <c>Compression</c> line means, as Nix reads it.</summary>
    public const string DefaultCompression = "bzip2";

    /// <summary>The store directory of cache.nixos.org and of every default Nix installation.</summary>
    public const string DefaultStoreDirectory = "/nix/store";

    private static readonly string[] SingleValuedKeys =
        ["StorePath", "URL", "Compression", "NarHash", "NarSize", "References", "Deriver", "FileHash", "FileSize"];

    /// <summary>
    /// Reads a narinfo: <c>Key: value</c> lines; unknown keys (<c>CA</c>, <c>System</c>, …) are skipped, <c>Sig</c> may
    /// repeat, <c>Compression</c> is <see cref="DefaultCompression"/> when absent, <c>Deriver: unknown-deriver</c> is no
    /// deriver. StorePath, URL, NarHash and NarSize are required.
    /// </summary>
    /// <param name="text">The narinfo's text.</param>
    /// <param name="storeDirectory">The store the cache serves (its <c>nix-cache-info</c> <c>StoreDir</c>).</param>
    /// <exception cref="FormatException">A required key is missing, a key is given twice, a line is not
    /// <c>Key: value</c>, a number is not one, or a path is not a store path in <paramref name="storeDirectory"/>.</exception>
    public static NarInfo Parse(string text, string storeDirectory = DefaultStoreDirectory)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrEmpty(storeDirectory);
        var store = storeDirectory.Length > 1 ? storeDirectory.TrimEnd('/') : storeDirectory;

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var signatures = new List<string>();
        var lineNumber = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new FormatException($"The narinfo's line {lineNumber} is not 'Key: value': '{line}'.");
            }

            var key = line[..colon];
            var value = line[(colon + 1)..].Trim();
            if (key == "Sig")
            {
                if (value.Length > 0)
                {
                    signatures.Add(value);
                }
            }
            else if (Array.IndexOf(SingleValuedKeys, key) >= 0 && !values.TryAdd(key, value))
            {
                // Nix would let the last StorePath win; a narinfo that names two is not one to guess about.
                throw new FormatException($"The narinfo gives '{key}' twice (line {lineNumber}).");
            }
        }

        var storePath = Required(values, "StorePath");
        var baseName = storePath.StartsWith(store + "/", StringComparison.Ordinal) ? storePath[(store.Length + 1)..] : null;
        if (baseName is null || !IsStorePathBaseName(baseName))
        {
            throw new FormatException($"The narinfo's StorePath '{storePath}' is not a store path in {store}.");
        }

        var url = Required(values, "URL");
        var narHash = Required(values, "NarHash");
        var narSize = ParseSize(storePath, "NarSize", Required(values, "NarSize"));
        if (narSize == 0)
        {
            // Nix rejects it too: no NAR is empty, and a fingerprint with size 0 is one Nix never signs.
            throw new FormatException($"The narinfo for {storePath} has NarSize 0.");
        }

        var references = values.TryGetValue("References", out var referenceText)
            ? referenceText.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(name => FullPath(storePath, store, "References", name))
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
                .ToArray()
            : [];

        string? deriver = null;
        if (values.TryGetValue("Deriver", out var deriverName) && deriverName.Length > 0 && deriverName != "unknown-deriver")
        {
            deriver = FullPath(storePath, store, "Deriver", deriverName);
        }

        var compression = values.TryGetValue("Compression", out var c) && c.Length > 0 ? c : DefaultCompression;
        var fileHash = values.TryGetValue("FileHash", out var fh) && fh.Length > 0 ? fh : null;
        long? fileSize = values.TryGetValue("FileSize", out var fs) && fs.Length > 0 ? ParseSize(storePath, "FileSize", fs) : null;

        return new NarInfo(storePath, url, compression, narHash, narSize, references, deriver, signatures, fileHash, fileSize);
    }

    /// <summary>
    /// What the cache signed: <c>1;&lt;store path&gt;;&lt;NarHash&gt;;&lt;NarSize&gt;;&lt;references, full paths, sorted, comma-separated&gt;</c>,
    /// Nix's <c>ValidPathInfo::fingerprint</c>. Nix writes the NAR hash as <c>sha256:</c> and Nix base-32, so a
    /// narinfo that writes it otherwise yields a fingerprint no signature verifies against.
    /// </summary>
    public string Fingerprint() => string.Join(
        ';',
        "1",
        StorePath,
        NarHash,
        NarSize.ToString(CultureInfo.InvariantCulture),
        string.Join(',', References.Order(StringComparer.Ordinal)));

    private static string Required(Dictionary<string, string> values, string key) =>
        values.TryGetValue(key, out var value) && value.Length > 0
            ? value
            : throw new FormatException($"The narinfo has no '{key}', which is required.");

    private static long ParseSize(string storePath, string key, string value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            ? size
            : throw new FormatException($"The narinfo for {storePath} has {key} '{value}', which is not a size in bytes.");

    private static string FullPath(string storePath, string store, string key, string name) =>
        IsStorePathBaseName(name)
            ? store + "/" + name
            : throw new FormatException($"The narinfo for {storePath} has {key} '{name}', which is not a store path's base name.");

    private static bool IsStorePathBaseName(string baseName) => Nix.StorePathText.IsBaseName(baseName);
}
