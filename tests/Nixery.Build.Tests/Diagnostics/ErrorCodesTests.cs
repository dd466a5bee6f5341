using System.Reflection;
using System.Text.RegularExpressions;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Tests.Diagnostics;

public class ErrorCodesTests
{
    private static List<string> Codes() =>
        typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (string)f.GetValue(null)!)
            .ToList();

    [Fact]
    public void EveryCodeIsUniqueAndWellFormed()
    {
        var codes = Codes();
        Assert.Equal(codes.Count, codes.Distinct(StringComparer.Ordinal).Count());
        Assert.All(codes, c => Assert.Matches("^NIXIMG[0-9]{3}$", c));
    }

    [Fact]
    public void EveryCodeHasASectionInDocsAndEverySectionACode()
    {
        var page = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "errors.md"));
        var documented = Regex.Matches(page, "^## (NIXIMG[0-9]{3})$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();

        Assert.Equal(Codes().Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
    }
}
