namespace MaestroSla.Tests.Infrastructure;

public static class Repository
{
    /// <summary>The checkout's root folder (the one holding MaestroSla.sln).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: whatever the tests themselves were built as.</summary>
    public static string Configuration { get; } =
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    public static string ApiAssembly =>
        Path.Combine(Root, "src", "Api", "bin", Configuration, "net10.0", "MaestroSla.Api.dll");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MaestroSla.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("MaestroSla.sln not found above " + AppContext.BaseDirectory);
    }
}
