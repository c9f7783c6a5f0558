namespace MaestroSla.Cli;

// The parts of the API's JSON the CLI prints (System.Text.Json web defaults: camelCase) that are not in Contracts;
// reports, status and targets are read into the API's own records (MaestroSla.Contracts.Reports, .Targets). The CLI
// is an HTTP client on purpose: it references Contracts only, never the server's assemblies (nor Marten).

/// <summary>GET /api/status/months: the current month and the latest one with recorded requests (null: none yet).</summary>
public sealed record StatusMonths(string TimeZone, string Current, string? LatestWithData);
