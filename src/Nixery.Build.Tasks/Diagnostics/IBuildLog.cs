namespace Nixery.Build.Diagnostics;

/// <summary>Where the engine reports progress. The MSBuild task adapts it to its logger; tests record it.</summary>
public interface IBuildLog
{
    /// <summary>A line the user sees at normal verbosity.</summary>
    void Info(string message);

    /// <summary>A line for detailed verbosity (Nix's own output, per-file decisions).</summary>
    void Detail(string message);

    /// <summary>A coded warning.</summary>
    void Warning(string code, string message);
}

/// <summary>A log that keeps nothing.</summary>
public sealed class NullBuildLog : IBuildLog
{
    public static readonly NullBuildLog Instance = new();

    private NullBuildLog()
    {
    }

    public void Info(string message)
    {
    }

    public void Detail(string message)
    {
    }

    public void Warning(string code, string message)
    {
    }
}
