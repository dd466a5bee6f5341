using System.Text.Json;
using Nixery.Build.Processes;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// Validators nobody here wrote, installed at test time into <c>artifacts/sbom-validators/</c> (ignored by git) and
/// kept there between runs: the CycloneDX project's JavaScript library (npm) with its JSON-schema validation, and the
/// CycloneDX tool for .NET (a dotnet tool).
/// </summary>
internal static class SbomValidators
{
    /// <summary>The CycloneDX library and the optional packages its JSON validation needs (its README: ajv, ajv-formats, ajv-formats-draft2019).</summary>
    /// <summary>
    /// The CycloneDX library and the optional packages its JSON validation needs (its README: ajv, ajv-formats,
    /// ajv-formats-draft2019), and two more of its optional peers that the documents' other checks use: the package-url
    /// project's packageurl-js (parses every purl) and spdx-expression-parse (parses every licence expression).
    /// </summary>
    public static readonly string[] NpmPackages =
        ["@cyclonedx/cyclonedx-library@10.3.0", "ajv@8.17.1", "ajv-formats@3.0.1", "ajv-formats-draft2019@1.6.1", "packageurl-js@2.0.1", "spdx-expression-parse@4.0.0"];

    public const string CycloneDxToolVersion = "6.3.1";

    private static readonly Lock Gate = new();

    private static string Root => Path.Combine(RepositoryRoot.Path, "artifacts", "sbom-validators");

    /// <summary>Validates a CycloneDX 1.6 JSON file with <c>JsonStrictValidator</c>; returns (exit code, output): 0 and "valid", or 1 and the errors.</summary>
    public static (int ExitCode, string Output) ValidateCycloneDx(string bomFile)
    {
        var folder = NodeFolder();
        var result = Command.Run("node", [Path.Combine(folder, "validate-cyclonedx.js"), bomFile], folder);
        return (result.ExitCode, result.Output);
    }

    /// <summary>
    /// Parses every purl and licence expression of a CycloneDX or SPDX JSON document with packageurl-js and
    /// spdx-expression-parse; returns the parsed purls (type, name, version, qualifiers) and each expression's error, if any.
    /// </summary>
    public static JsonDocument ParsePurlsAndLicences(string document)
    {
        var folder = NodeFolder();
        var result = Command.Run("node", [Path.Combine(folder, "parse-purls-and-licences.js"), document], folder);
        Assert.True(result.ExitCode == 0, $"parse-purls-and-licences.js failed:\n{result.Output}");
        return JsonDocument.Parse(result.StandardOutput);
    }

    /// <summary>The CycloneDX .NET tool's executable, installed with <c>dotnet tool install --tool-path</c>.</summary>
    public static string CycloneDxTool()
    {
        lock (Gate)
        {
            var toolPath = Path.Combine(Root, "cyclonedx-dotnet-" + CycloneDxToolVersion);
            var executable = Path.Combine(toolPath, "dotnet-CycloneDX");
            if (!File.Exists(executable))
            {
                Command.Run("dotnet", ["tool", "install", "CycloneDX", "--version", CycloneDxToolVersion, "--tool-path", toolPath]).EnsureSuccess();
            }

            return executable;
        }
    }

    private static bool OnPath(string tool) => ProcessRunner.FindOnPath(tool, Environment.GetEnvironmentVariable("PATH")) is not null;

    private static string NodeFolder()
    {
        lock (Gate)
        {
            if (!OnPath("node") || !OnPath("npm"))
            {
                Assert.Fail("The SBOM validation tests need node and npm on PATH. Run scripts/install-prerequisites.sh.");
            }

            var folder = Path.Combine(Root, "node");
            Directory.CreateDirectory(folder);
            var marker = Path.Combine(folder, "installed.txt");
            var wanted = string.Join('\n', NpmPackages);
            if (!File.Exists(marker) || File.ReadAllText(marker) != wanted)
            {
                File.WriteAllText(Path.Combine(folder, "package.json"), """{ "private": true, "description": "SBOM validators for Nixery.Build's tests" }""");
                Command.Run("npm", ["install", "--no-audit", "--no-fund", "--no-save", .. NpmPackages], folder).EnsureSuccess();
                File.WriteAllText(marker, wanted);
            }

            File.WriteAllText(Path.Combine(folder, "validate-cyclonedx.js"), ValidateCycloneDxScript);
            File.WriteAllText(Path.Combine(folder, "parse-purls-and-licences.js"), ParsePurlsAndLicencesScript);
            return folder;
        }
    }

    // Prints "valid" and exits 0, or prints ajv's errors and exits 1; a validator that cannot run exits 2.
    private const string ValidateCycloneDxScript = """
        'use strict';
        const fs = require('node:fs');
        const CDX = require('@cyclonedx/cyclonedx-library');
        const validator = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6);
        validator.validate(fs.readFileSync(process.argv[2], 'utf8')).then(
          errors => {
            if (errors === null) {
              console.log('valid');
              process.exit(0);
            }
            console.log(JSON.stringify(errors, null, 2));
            process.exit(1);
          },
          error => {
            console.error(String(error));
            process.exit(2);
          });
        """;

    // Prints {"purls":[{purl,type,namespace,name,version,qualifiers,error}],"licences":[{expression,error}]} for a
    // CycloneDX document (components, metadata.component) or an SPDX one (packages' purl references and licences).
    private const string ParsePurlsAndLicencesScript = """
        'use strict';
        const fs = require('node:fs');
        const { PackageURL } = require('packageurl-js');
        const parseExpression = require('spdx-expression-parse');
        const doc = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
        const purls = [];
        const expressions = [];
        if (doc.bomFormat === 'CycloneDX') {
          for (const c of [doc.metadata.component, ...(doc.components || [])]) {
            if (c.purl) purls.push(c.purl);
            for (const l of c.licenses || []) if (l.expression) expressions.push(l.expression);
          }
        } else {
          for (const p of doc.packages || []) {
            for (const r of p.externalRefs || []) if (r.referenceType === 'purl') purls.push(r.referenceLocator);
            for (const l of [p.licenseDeclared, p.licenseConcluded]) if (l && l !== 'NOASSERTION' && l !== 'NONE') expressions.push(l);
          }
        }
        const out = { purls: [], licences: [] };
        for (const purl of purls) {
          try {
            const u = PackageURL.fromString(purl);
            out.purls.push({ purl, type: u.type, namespace: u.namespace ?? null, name: u.name, version: u.version ?? null, qualifiers: u.qualifiers ?? null, error: null });
          } catch (e) {
            out.purls.push({ purl, error: String(e.message || e) });
          }
        }
        for (const expression of expressions) {
          try { parseExpression(expression); out.licences.push({ expression, error: null }); }
          catch (e) { out.licences.push({ expression, error: String(e.message || e) }); }
        }
        console.log(JSON.stringify(out));
        """;
}
