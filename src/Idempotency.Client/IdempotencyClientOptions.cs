namespace Idempotency.Client;

/// <summary>
/// Options for the client side of the idempotency protocol: which requests get an <c>Idempotency-Key</c>, how the
/// handler answers <c>Retry-After</c> on the server's in-flight and store-unavailable problems, and optional
/// <c>Sequence-Number</c> streams. Configured per named <see cref="System.Net.Http.HttpClient"/> with
/// <c>AddIdempotencyKeys</c> and validated when the handler is built (and at host start for named clients).
/// </summary>
public sealed class IdempotencyClientOptions
{
    /// <summary>The request header that carries the idempotency key.</summary>
    /// <value>Defaults to <c>Idempotency-Key</c>.</value>
    public string KeyHeaderName { get; set; } = "Idempotency-Key";

    /// <summary>
    /// The methods whose requests take part: they get a key (and a sequence number when
    /// <see cref="AssignSequenceNumbers"/> is on) and have their in-flight and store-unavailable answers retried.
    /// Requests of other methods pass through untouched.
    /// </summary>
    /// <value>Defaults to POST and PATCH, the methods that are not idempotent by definition.</value>
    public ISet<HttpMethod> Methods { get; } = new HashSet<HttpMethod> { HttpMethod.Post, HttpMethod.Patch };

    /// <summary>
    /// Creates the key of one logical request; called once per request that has no key yet. The value is sent as
    /// it is returned: return a quoted string (<c>"\"...\""</c>) for a server that insists on the RFC 8941 sf-string
    /// form. It must be 1 or more printable ASCII characters.
    /// </summary>
    /// <value>Defaults to a new GUID in the 32-digit <c>N</c> format.</value>
    public Func<HttpRequestMessage, string> KeyFactory { get; set; } = static _ => Guid.NewGuid().ToString("N");

    /// <summary>
    /// The most times one logical request is sent by this handler, the first time included, when the server keeps
    /// answering with a problem this handler retries. 1 turns the handler's own retries off.
    /// </summary>
    /// <value>Defaults to 5.</value>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The longest wait before a retry; a longer <c>Retry-After</c> from the server is cut to this.</summary>
    /// <value>Defaults to 30 seconds.</value>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The wait before a retry when a retried problem response has no usable <c>Retry-After</c>.</summary>
    /// <value>Defaults to 1 second.</value>
    public TimeSpan DefaultRetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether <c>409 idempotency-request-in-flight</c> (another attempt with the same key is still running on the
    /// server) is retried with the same key after <c>Retry-After</c>.
    /// </summary>
    /// <value>Defaults to <see langword="true"/>.</value>
    public bool RetryInFlight { get; set; } = true;

    /// <summary>
    /// Whether <c>503 idempotency-store-unavailable</c> (the server refused to run the request because it could not
    /// check its records) and <c>503 idempotency-store-full</c> (it had no room to record it) are retried with the same
    /// key after <c>Retry-After</c>. <c>429 idempotency-quota-exceeded</c> (the caller holds its quota of the server's
    /// store) is never retried here: it is the caller's own load, for its resilience pipeline to pace.
    /// </summary>
    /// <value>Defaults to <see langword="true"/>.</value>
    public bool RetryStoreUnavailable { get; set; } = true;

    /// <summary>
    /// Whether <c>409 sequence-gap</c> (an earlier number of the stream has not been applied yet) is retried after
    /// <c>Retry-After</c>, or <see cref="DefaultRetryAfter"/> when the server sends none. Useful when several requests
    /// of one stream are sent concurrently and may overtake each other.
    /// </summary>
    /// <value>Defaults to <see langword="false"/>.</value>
    public bool RetrySequenceGap { get; set; }

    /// <summary>The prefix of the problem <c>type</c>s the server sends; must match the server's <c>ProblemTypeBaseUri</c>.</summary>
    /// <value>Defaults to <c>urn:idempotency:</c>.</value>
    public string ProblemTypeBaseUri { get; set; } = "urn:idempotency:";

    /// <summary>
    /// Whether requests of <see cref="Methods"/> are numbered with <c>Sequence-Number</c>: 1, 2, 3, ... per stream,
    /// one number per logical request, kept across retries. The number is taken when the request enters this
    /// handler, so requests sent concurrently get numbers in the order they are sent, which is not necessarily the
    /// order they reach the server (see <see cref="RetrySequenceGap"/>).
    /// </summary>
    /// <value>Defaults to <see langword="false"/>.</value>
    public bool AssignSequenceNumbers { get; set; }

    /// <summary>
    /// The stream sent in <c>Sequence-Stream</c> with numbered requests. A request that already carries a
    /// <c>Sequence-Stream</c> header keeps it and is numbered in that stream.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>: no header, the server's default stream.</value>
    public string? SequenceStream { get; set; }

    /// <summary>
    /// The epoch sent in <c>Sequence-Epoch</c> with numbered requests. A client that restarts and cannot resume its
    /// numbering starts a new epoch with a higher value (for example the start time in Unix seconds); numbering starts
    /// again at <see cref="FirstSequenceNumber"/> in every epoch.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>: no header, the server takes epoch 0.</value>
    public long? SequenceEpoch { get; set; }

    /// <summary>The number given to the first numbered request of a stream and epoch, for a client that resumes a stream.</summary>
    /// <value>Defaults to 1.</value>
    public long FirstSequenceNumber { get; set; } = 1;

    /// <summary>The request header that carries the sequence number.</summary>
    /// <value>Defaults to <c>Sequence-Number</c>.</value>
    public string SequenceNumberHeaderName { get; set; } = "Sequence-Number";

    /// <summary>The request header that names the stream.</summary>
    /// <value>Defaults to <c>Sequence-Stream</c>.</value>
    public string SequenceStreamHeaderName { get; set; } = "Sequence-Stream";

    /// <summary>The request header that carries the epoch.</summary>
    /// <value>Defaults to <c>Sequence-Epoch</c>.</value>
    public string SequenceEpochHeaderName { get; set; } = "Sequence-Epoch";
}
