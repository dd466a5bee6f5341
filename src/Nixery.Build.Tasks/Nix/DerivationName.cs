namespace Nixery.Build.Nix;

/// <summary>A derivation name split into package name and version, the way Nix's <c>builtins.parseDrvName</c> splits it.</summary>
/// <param name="Name">The package name: <c>nss-cacert</c> of <c>nss-cacert-3.98</c>.</param>
/// <param name="Version">The version, or empty when the name has none: <c>3.98</c> of <c>nss-cacert-3.98</c>.</param>
public sealed record DerivationName(string Name, string Version)
{
    // A store path base name starts with a 32-character hash and a dash.
    private const int HashLength = 32;

    private const string DrvSuffix = ".drv";

    /// <summary>
    /// Splits <paramref name="drvName"/> at the first <c>-</c> that is followed by a character other than an ASCII letter:
    /// <c>hello-world-2.0-rc1</c> gives <c>hello-world</c> and <c>2.0-rc1</c>; <c>busybox</c> gives <c>busybox</c> and no version.
    /// </summary>
    /// <remarks>
    /// Nix tests with C's <c>isalpha</c>, so a non-ASCII letter after the dash starts a version too.
    /// A dash at the very end does not split.
    /// </remarks>
    public static DerivationName Parse(string drvName)
    {
        ArgumentNullException.ThrowIfNull(drvName);
        for (var i = 0; i + 1 < drvName.Length; i++)
        {
            if (drvName[i] == '-' && !char.IsAsciiLetter(drvName[i + 1]))
            {
                return new DerivationName(drvName[..i], drvName[(i + 1)..]);
            }
        }

        return new DerivationName(drvName, string.Empty);
    }

    /// <summary>
    /// The name and version of the derivation that built a store path, from its deriver:
    /// <c>/nix/store/&lt;hash&gt;-jq-1.7.1.drv</c> or its base name gives <c>jq</c> and <c>1.7.1</c>.
    /// </summary>
    /// <returns>
    /// Null when there is no deriver: null, empty, or <c>unknown-deriver</c> (what <c>nix-store -q --deriver</c> prints then).
    /// </returns>
    public static DerivationName? FromDeriver(string? deriverPath)
    {
        if (string.IsNullOrEmpty(deriverPath) || deriverPath == "unknown-deriver")
        {
            return null;
        }

        var name = deriverPath[(deriverPath.LastIndexOf('/') + 1)..];

        // Strip the hash only where there is one, so a bare "jq-1.7.1.drv" still parses.
        if (name.Length > HashLength && name[HashLength] == '-' && NixBase32.TryDecode(name[..HashLength], out _))
        {
            name = name[(HashLength + 1)..];
        }

        if (name.EndsWith(DrvSuffix, StringComparison.Ordinal))
        {
            name = name[..^DrvSuffix.Length];
        }

        return Parse(name);
    }
}
