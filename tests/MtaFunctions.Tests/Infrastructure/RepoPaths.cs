namespace MtaFunctions.Tests.Infrastructure;

/// <summary>Finds files of the repository from the test binaries.</summary>
public static class RepoPaths
{
    /// <summary>The folder holding MtaFunctions.sln.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MtaFunctions.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("MtaFunctions.sln not found above " + AppContext.BaseDirectory);
    }
}
