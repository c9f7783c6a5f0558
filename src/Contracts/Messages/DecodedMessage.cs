namespace MaestroSla.Contracts.Messages;

/// <summary>
/// The outcome of decoding one message. When <see cref="IsValid"/>, <see cref="Kind"/> says which one of
/// <see cref="Request"/>, <see cref="Downtime"/> or <see cref="Health"/> holds the message; otherwise
/// <see cref="Error"/> holds the reason it was rejected and <see cref="Kind"/> means nothing.
/// </summary>
/// <remarks>
/// A struct so that the request firehose decodes without a heap allocation per message.
/// </remarks>
public readonly struct DecodedMessage
{
    private DecodedMessage(
        MessageKind kind,
        RequestMetric request,
        DowntimeInterval? downtime,
        HealthResult? health,
        string? error)
    {
        Kind = kind;
        Request = request;
        Downtime = downtime;
        Health = health;
        Error = error;
    }

    public MessageKind Kind { get; }

    public RequestMetric Request { get; }

    public DowntimeInterval? Downtime { get; }

    public HealthResult? Health { get; }

    public string? Error { get; }

    public bool IsValid => Error is null;

    public static DecodedMessage FromRequest(RequestMetric request) =>
        new(MessageKind.Request, request, downtime: null, health: null, error: null);

    public static DecodedMessage FromDowntime(DowntimeInterval downtime)
    {
        ArgumentNullException.ThrowIfNull(downtime);
        return new(MessageKind.Downtime, default, downtime, health: null, error: null);
    }

    public static DecodedMessage FromHealth(HealthResult health)
    {
        ArgumentNullException.ThrowIfNull(health);
        return new(MessageKind.Health, default, downtime: null, health, error: null);
    }

    public static DecodedMessage Rejected(string reason)
    {
        // An empty reason would read as valid to anyone testing Error for null or emptiness.
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new(default, default, downtime: null, health: null, reason);
    }

    public override string ToString() => IsValid ? $"{Kind} message" : $"rejected: {Error}";
}
