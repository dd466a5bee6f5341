using System.Globalization;
using System.Text.Json;
using Nixery.Build.Diagnostics;
using NuGet.Versioning;

namespace Nixery.Build.Image;

/// <summary>
/// The frameworks an app's <c>&lt;app&gt;.runtimeconfig.json</c> asks for, with the roll-forward settings the .NET host
/// would apply in the image: read in the host's order, where a later one wins (the environment's legacy
/// <c>DOTNET_ROLL_FORWARD_ON_NO_CANDIDATE_FX</c>, then <c>runtimeOptions</c>, then each framework's own, then the
/// environment's <c>DOTNET_ROLL_FORWARD</c>). No frameworks means a self-contained app (<c>includedFrameworks</c>).
/// </summary>
public sealed record RuntimeConfig(IReadOnlyList<FrameworkReference> Frameworks)
{
    public const string RollForwardVariable = "DOTNET_ROLL_FORWARD";
    public const string RollForwardToPrereleaseVariable = "DOTNET_ROLL_FORWARD_TO_PRERELEASE";
    public const string RollForwardOnNoCandidateFxVariable = "DOTNET_ROLL_FORWARD_ON_NO_CANDIDATE_FX";

    /// <summary>Whether the app carries its runtime (or names no framework), so there is nothing to check.</summary>
    public bool IsSelfContained => Frameworks.Count == 0;

    /// <param name="fileName">The file's name, for messages.</param>
    /// <param name="environment">The image's environment (the last value of a name wins).</param>
    public static RuntimeConfig Parse(string json, string fileName, IReadOnlyDictionary<string, string> environment)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw Unusable(fileName, $"it is not JSON ({e.Message})");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("runtimeOptions", out var options)
                || options.ValueKind != JsonValueKind.Object)
            {
                throw Unusable(fileName, "it has no runtimeOptions object");
            }

            return new Reader(fileName, environment).Read(options);
        }
    }

    private static NixImageException Unusable(string fileName, string why) => new(
        ErrorCodes.RuntimeConfigUnusable,
        $"The app's {fileName} cannot be used by the .NET host: {why}, so the app would not start in the image. "
        + "Fix the value (in the project's RollForward or runtimeconfig.template.json, or the ContainerEnvironmentVariable that sets it) and publish again.");

    /// <summary>One file's settings as the host keeps them while it reads: defaults, then each later scope over them.</summary>
    private sealed class Reader(string fileName, IReadOnlyDictionary<string, string> environment)
    {
        private RollForward _rollForward = RollForward.Minor;
        private string _source = "the default";
        private bool _applyPatches = true;
        private bool _usesRollForward;
        private bool _usesLegacy;

        public RuntimeConfig Read(JsonElement options)
        {
            if (Variable(RollForwardOnNoCandidateFxVariable) is { } legacy
                && int.TryParse(legacy, NumberStyles.Integer, CultureInfo.InvariantCulture, out var legacyValue)
                && FromLegacy(legacyValue) is { } legacyPolicy)
            {
                _rollForward = legacyPolicy;
                _source = $"{RollForwardOnNoCandidateFxVariable}={legacyValue} in the image's environment";
            }

            ApplySettings(options, "runtimeOptions.", ref _rollForward, ref _applyPatches, ref _source);
            var frameworks = new List<FrameworkReference>();
            if (options.TryGetProperty("framework", out var single))
            {
                frameworks.Add(Framework(single));
            }

            if (options.TryGetProperty("frameworks", out var several))
            {
                if (several.ValueKind != JsonValueKind.Array)
                {
                    throw Unusable(fileName, "runtimeOptions.frameworks is not an array");
                }

                foreach (var framework in several.EnumerateArray())
                {
                    var reference = Framework(framework);
                    if (frameworks.Any(f => f.Name == reference.Name))
                    {
                        throw Unusable(fileName, $"it names the framework {reference.Name} twice");
                    }

                    frameworks.Add(reference);
                }
            }

            if (frameworks.Count > 0 && options.TryGetProperty("includedFrameworks", out _))
            {
                throw Unusable(fileName, "it has both framework(s) and includedFrameworks");
            }

            return new RuntimeConfig(frameworks);
        }

        private FrameworkReference Framework(JsonElement framework)
        {
            if (framework.ValueKind != JsonValueKind.Object)
            {
                throw Unusable(fileName, "a framework entry is not an object");
            }

            var name = String(framework, "name", "framework name");
            var versionText = String(framework, "version", $"version of {name}");
            if (name.Length == 0)
            {
                throw Unusable(fileName, "a framework has an empty name");
            }

            if (!SemanticVersion.TryParse(versionText, out var version))
            {
                throw Unusable(fileName, $"the version '{versionText}' of {name} is not a version (major.minor.patch, as SemVer 2 writes it)");
            }

            var rollForward = _rollForward;
            var applyPatches = _applyPatches;
            var source = _source;
            ApplySettings(framework, $"the {name} entry's ", ref rollForward, ref applyPatches, ref source);
            if (Variable(RollForwardVariable) is { } fromEnvironment)
            {
                if (!FrameworkResolution.TryParse(fromEnvironment, out rollForward))
                {
                    throw Unusable(fileName, $"{RollForwardVariable}='{fromEnvironment}' in the image's environment is not a roll-forward policy ({string.Join(", ", Enum.GetNames<RollForward>())})");
                }

                source = $"{RollForwardVariable} in the image's environment";
            }

            var toPrerelease = Variable(RollForwardToPrereleaseVariable) is { } prerelease
                && int.TryParse(prerelease, NumberStyles.Integer, CultureInfo.InvariantCulture, out var flag) && flag == 1;
            return new FrameworkReference(name, versionText, version, rollForward, applyPatches, PreferRelease: !version.IsPrerelease && !toPrerelease, source);
        }

        /// <summary>One scope's rollForward, applyPatches and rollForwardOnNoCandidateFx over what is in effect.</summary>
        private void ApplySettings(JsonElement scope, string where, ref RollForward rollForward, ref bool applyPatches, ref string source)
        {
            if (scope.TryGetProperty("rollForward", out var value))
            {
                var text = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                if (!FrameworkResolution.TryParse(text, out rollForward))
                {
                    throw Unusable(fileName, $"{where}rollForward {value.GetRawText()} is not a roll-forward policy ({string.Join(", ", Enum.GetNames<RollForward>())})");
                }

                source = $"{where}rollForward in {fileName}";
                _usesRollForward = true;
            }

            if (scope.TryGetProperty("applyPatches", out var patches))
            {
                if (patches.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    throw Unusable(fileName, $"{where}applyPatches {patches.GetRawText()} is not true or false");
                }

                applyPatches = patches.GetBoolean();
                _usesLegacy = true;
            }

            if (scope.TryGetProperty("rollForwardOnNoCandidateFx", out var legacy))
            {
                if (!legacy.TryGetInt32(out var number) || FromLegacy(number) is not { } policy)
                {
                    throw Unusable(fileName, $"{where}rollForwardOnNoCandidateFx {legacy.GetRawText()} is not 0, 1 or 2");
                }

                rollForward = policy;
                source = $"{where}rollForwardOnNoCandidateFx={number} in {fileName}";
                _usesLegacy = true;
            }

            if (_usesRollForward && _usesLegacy)
            {
                throw Unusable(fileName, "it uses both rollForward and one of rollForwardOnNoCandidateFx or applyPatches, which the host refuses");
            }
        }

        /// <summary>A variable of the image's environment; null when unset or empty, as the host reads an empty one.</summary>
        private string? Variable(string name) =>
            environment.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

        private string String(JsonElement element, string property, string what) =>
            element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString()!
                : throw Unusable(fileName, $"the {what} is missing or not a string");

        /// <summary>The legacy setting as the host maps it: 0 rolls on patches only, 1 is the default, 2 rolls on majors.</summary>
        private static RollForward? FromLegacy(int value) => value switch
        {
            0 => RollForward.LatestPatch,
            1 => RollForward.Minor,
            2 => RollForward.Major,
            _ => null,
        };
    }
}
