namespace Malunet.Cli.Serve;

/// <summary>Limits and defaults of <c>malunet serve</c>.</summary>
public sealed record ServeOptions
{
    /// <summary>Where Kestrel listens; loopback by default so nothing is exposed unless asked.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:5000";

    /// <summary>Largest accepted upload (the image file itself).</summary>
    public long MaxUploadBytes { get; init; } = 25L * 1024 * 1024;

    /// <summary>Largest accepted image in pixels (width x height), checked from the header before decoding.</summary>
    public long MaxPixels { get; init; } = Malunet.Data.ImageDecoder.DefaultMaxPixels;

    /// <summary>Requests that may wait for the single inference worker; more are refused with 503.</summary>
    public int QueueCapacity { get; init; } = 16;

    /// <summary>Most images run through the network together when several requests wait (one batch of the image pipeline).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Default probability threshold when a request gives none.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Average over flips (4 forward passes per image).</summary>
    public bool TestTimeAugmentation { get; init; }

    /// <summary>Print one line per request on stderr (method, path, status, time: no file names, no client addresses).</summary>
    public bool LogRequests { get; init; } = true;

    /// <summary>
    /// The access token every <c>/api/</c> request must carry as <c>Authorization: Bearer TOKEN</c> (null: none, the
    /// loopback default). The page and the network's files for its browser mode are served without it.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>A PEM certificate and its PEM private key: Kestrel serves HTTPS with them (the URLs say https://).</summary>
    public string? CertificatePath { get; init; }
    public string? KeyPath { get; init; }

    /// <summary>
    /// Segmentations per minute each client address may ask for, as a token bucket of <see cref="RateBurst"/>
    /// (refilled every second, so a steady client gets RatePerMinute / 60 a second); more get 429 with Retry-After.
    /// The defaults are far above what a person at the page sends.
    /// </summary>
    public int RatePerMinute { get; init; } = 600;
    public int RateBurst { get; init; } = 60;
}
