using System.Text;
using Nixery.Build.Settings;
using Nixery.Build.Tasks;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Settings;

/// <summary>
/// Each setting is declared once (<see cref="SettingCatalog"/>): the targets' parameter list and resolved outputs and
/// the defaults table of docs/configuration.md are generated from the declarations and must be exactly what is
/// committed. Set NIXERY_UPDATE_GENERATED=1 to rewrite them after editing the catalog, then review the diff.
/// </summary>
public sealed class SettingCatalogTests
{
    private const string TargetsBegin = "    <!-- Generated from src/Nixery.Build.Tasks/Settings/SettingCatalog.cs: edit the catalog, then run its test with NIXERY_UPDATE_GENERATED=1. -->\n";
    private const string TargetsEnd = "    <!-- End of the generated settings. -->\n";
    private const string DocsBegin = "<!-- Generated from src/Nixery.Build.Tasks/Settings/SettingCatalog.cs (SettingCatalogTests; NIXERY_UPDATE_GENERATED=1 rewrites it). -->\n";
    private const string DocsEnd = "<!-- End of the generated defaults. -->\n";

    [Fact]
    public void TheTargetsHandOverAndSetBackExactlyTheDeclaredSettings() =>
        AssertGenerated(Path.Combine(RepositoryRoot.Path, "build", "Nixery.Build.targets"), TargetsBegin, TargetsEnd, TargetsText());

    [Fact]
    public void TheDocumentedDefaultsAreTheDeclaredOnes() =>
        AssertGenerated(Path.Combine(RepositoryRoot.Path, "docs", "configuration.md"), DocsBegin, DocsEnd, DocsText());

    [Fact]
    public void EveryInputIsFilledByExactlyOneDeclaration()
    {
        // Each declaration, given a value of its own, must change exactly one member of ImageInputs, and every member
        // must be changed by one: no input is forgotten, none is filled twice.
        var empty = SettingCatalog.Inputs(new Dictionary<string, SettingValue>());
        var members = typeof(ImageInputs).GetProperties();
        var filledBy = members.ToDictionary(m => m.Name, _ => new List<string>());
        foreach (var declaration in SettingCatalog.All.Where(d => d.Apply is not null))
        {
            var value = new SettingValue("x-" + declaration.Name, ["x-" + declaration.Name], [new("x-" + declaration.Name, "v")]);
            var inputs = SettingCatalog.Inputs(new Dictionary<string, SettingValue> { [declaration.Name] = value });
            var changed = members.Where(m => !Same(m.GetValue(empty), m.GetValue(inputs))).Select(m => m.Name).ToList();
            Assert.True(changed.Count == 1, $"{declaration.Name} changes {changed.Count} input(s): {string.Join(", ", changed)}");
            filledBy[changed[0]].Add(declaration.Name);
        }

        Assert.Empty(filledBy.Where(f => f.Value.Count != 1).Select(f => $"{f.Key}: {string.Join(", ", f.Value)}"));
    }

    [Fact]
    public void NamesAreUniqueAndAnUnknownSettingIsRefused()
    {
        Assert.Equal(SettingCatalog.All.Count, SettingCatalog.All.Select(d => d.Name).Distinct(StringComparer.Ordinal).Count());

        var error = Assert.Throws<InvalidOperationException>(() => SettingCatalog.Inputs(new Dictionary<string, SettingValue> { ["NixNoSuchSetting"] = SettingValue.Empty }));
        Assert.Contains("NixNoSuchSetting", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The settings handed to ComputeNixImageRequest, the task call, and every resolved value set back.</summary>
    internal static string TargetsText()
    {
        const string setting = ComputeNixImageRequest.SettingMetadata;
        var text = new StringBuilder();
        text.Append("    <ItemGroup>\n");
        foreach (var d in SettingCatalog.All.Where(d => d.Apply is not null))
        {
            text.Append(d.Shape == SettingShape.Property
                ? $"      <_NixImageSetting Include=\"{d.Name}\" Value=\"$({d.Name})\" />\n"
                : $"      <_NixImageSetting Include=\"@({d.Name})\" {setting}=\"{d.Name}\" />\n");
        }

        text.Append("    </ItemGroup>\n");
        text.Append("    <ComputeNixImageRequest Settings=\"@(_NixImageSetting)\">\n");
        text.Append("      <Output TaskParameter=\"RequestToken\" PropertyName=\"_NixImageRequestToken\" />\n");
        text.Append("      <Output TaskParameter=\"Resolved\" ItemName=\"_NixImageResolved\" />\n");
        text.Append("    </ComputeNixImageRequest>\n");
        text.Append("    <PropertyGroup>\n");
        foreach (var d in SettingCatalog.All.Where(d => d.Resolve is not null && d.Shape == SettingShape.Property))
        {
            text.Append($"      <{d.Name}>@(_NixImageResolved->WithMetadataValue('{setting}', '{d.Name}')->'%(Value)')</{d.Name}>\n");
        }

        text.Append("    </PropertyGroup>\n");
        text.Append("    <ItemGroup>\n");
        foreach (var d in SettingCatalog.All.Where(d => d.Resolve is not null && d.Shape == SettingShape.Item))
        {
            var condition = d.ResolveOnlyWhenEmpty ? $" Condition=\"'@({d.Name})' == ''\"" : string.Empty;
            text.Append($"      <{d.Name} Include=\"@(_NixImageResolved->WithMetadataValue('{setting}', '{d.Name}'))\" RemoveMetadata=\"{setting}\"{condition} />\n");
        }

        text.Append("    </ItemGroup>\n");
        return text.ToString();
    }

    /// <summary>The defaults table: one row per declaration that documents a default.</summary>
    internal static string DocsText()
    {
        var text = new StringBuilder("| property | default |\n|---|---|\n");
        foreach (var d in SettingCatalog.All.Where(d => d.DocumentedDefault is not null))
        {
            text.Append($"| `{d.Name}`{(d.ShownAs is null ? string.Empty : $" (as `{d.ShownAs}`)")} | {d.DocumentedDefault} |\n");
        }

        return text.Append('\n').ToString();
    }

    private static void AssertGenerated(string path, string begin, string end, string generated)
    {
        var file = File.ReadAllText(path);
        var start = file.IndexOf(begin, StringComparison.Ordinal);
        var stop = file.IndexOf(end, StringComparison.Ordinal);
        Assert.True(start >= 0 && stop > start, $"{path} lacks the generated region's markers.");
        var committed = file[(start + begin.Length)..stop];
        if (committed != generated && Environment.GetEnvironmentVariable("NIXERY_UPDATE_GENERATED") == "1")
        {
            File.WriteAllText(path, file[..(start + begin.Length)] + generated + file[stop..]);
            return;
        }

        Assert.Equal(generated, committed);
    }

    private static bool Same(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (System.Collections.IEnumerable x, System.Collections.IEnumerable y) when a is not string => x.Cast<object>().SequenceEqual(y.Cast<object>()),
        _ => Equals(a, b),
    };
}
