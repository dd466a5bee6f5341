using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Nixery.Build.Settings;

namespace Nixery.Build.Tasks;

/// <summary>
/// Runs <see cref="ImageRequestFactory"/> on the project's settings and hands every resolved value back to MSBuild
/// (ComputeNixImageProperties), so a binlog or <c>-getProperty</c> shows what the image will be built with. Writes
/// nothing. The settings arrive as one item list and go back as one, both as <see cref="SettingCatalog"/> declares
/// them. This is the one run of the factory in a build: the request itself is handed on to
/// <see cref="PrepareNixImage"/> in memory, under <see cref="RequestToken"/>, never rebuilt from strings.
/// </summary>
public sealed class ComputeNixImageRequest : CancelableNixTask
{
    /// <summary>Metadata that names the setting an item belongs to (items of item-valued settings carry it).</summary>
    internal const string SettingMetadata = "NixImageSetting";

    /// <summary>
    /// Every setting: a property as an item named after it with its text in <c>Value</c>; an item-valued setting's
    /// items as they are, with <c>NixImageSetting</c> naming it.
    /// </summary>
    [Required]
    public ITaskItem[] Settings { get; set; } = [];

    /// <summary>Names the resolved request handed on to <see cref="PrepareNixImage"/> in this build.</summary>
    [Output]
    public string? RequestToken { get; set; }

    /// <summary>Every resolved value, each with <c>NixImageSetting</c> naming the property or item it goes into (a property's text in <c>Value</c>).</summary>
    [Output]
    public ITaskItem[] Resolved { get; set; } = [];

    protected override string CancelledMessage => "Cancelled; the image settings were not computed.";

    protected override void Run(CancellationToken cancellationToken)
    {
        var inputs = SettingCatalog.Inputs(Values(Settings));
        var resolved = new ResolvedRequest(inputs, ImageRequestFactory.Create(inputs));
        RequestToken = Guid.NewGuid().ToString("N");
        BuildEngine4.RegisterTaskObject(ResolvedRequestKey(RequestToken), resolved, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
        Resolved = [.. SettingCatalog.Resolved(resolved).SelectMany(r => r.Items.Select(i => Item(r.Declaration.Name, i)))];
    }

    /// <summary>The key under which a resolved request is handed from this task to <see cref="PrepareNixImage"/>.</summary>
    internal static (string, string) ResolvedRequestKey(string token) => ("Nixery.Build.ResolvedRequest", token);

    /// <summary>The items of <see cref="Settings"/> as values by setting name.</summary>
    internal static Dictionary<string, SettingValue> Values(IEnumerable<ITaskItem> settings)
    {
        var values = new Dictionary<string, SettingValue>(StringComparer.Ordinal);
        foreach (var group in settings.GroupBy(i => i.GetMetadata(SettingMetadata) is { Length: > 0 } name ? name : null, StringComparer.Ordinal))
        {
            if (group.Key is null)
            {
                foreach (var property in group)
                {
                    var text = property.GetMetadata("Value");
                    values[property.ItemSpec] = new SettingValue(text.Length == 0 ? null : text, [], []);
                }

                continue;
            }

            var metadata = SettingCatalog.Find(group.Key)?.Metadata;
            values[group.Key] = new SettingValue(
                null,
                group.Select(i => i.ItemSpec).ToList(),
                metadata is null ? [] : group.Select(i => new KeyValuePair<string, string>(i.ItemSpec, i.GetMetadata(metadata))).ToList());
        }

        return values;
    }

    private static TaskItem Item(string setting, ResolvedItem resolved)
    {
        var item = new TaskItem(resolved.Spec);
        item.SetMetadata(SettingMetadata, setting);
        foreach (var (name, value) in resolved.Metadata)
        {
            item.SetMetadata(name, value);
        }

        return item;
    }
}
