namespace MaestroSla.Sla.Reports;

/// <summary>
/// Service and endpoint names in queries obey the rule ingest applies to the names it stores (TelemetryDecoder):
/// not empty, at most Contract:MaxNameLength characters, no control characters and no '|'. A name ingest would refuse
/// names nothing, and is answered 400 rather than looked up.
/// </summary>
public static class ReportNames
{
    public static string? Problem(string? name, string field, int maxLength)
    {
        if (string.IsNullOrEmpty(name))
        {
            return $"{field} must not be empty";
        }
        if (name.Length > maxLength)
        {
            return $"{field} must be at most {maxLength} characters (Contract:MaxNameLength)";
        }
        foreach (var c in name)
        {
            if (c == '|')
            {
                return $"{field} must not contain '|'";
            }
            if (char.IsControl(c))
            {
                return $"{field} must not contain control characters";
            }
        }
        return null;
    }
}
