using System.Globalization;

namespace PaymentApi.Accounts;

internal enum SequenceHeaderStatus
{
    Missing,
    Invalid,
    Valid,
}

/// <summary>
/// Reads <c>Sequence-Number</c> and <c>Sequence-Epoch</c> with the syntax of SPEC §1: one decimal integer, digits
/// only (no sign, no spaces inside). Under the <c>transfers</c> policy the middleware has checked both already; the
/// handler reads them again because the ledger needs the number, and so that a misconfigured policy still gets a
/// client's bad header answered as the middleware would, never with a 500.
/// </summary>
internal static class SequenceHeaders
{
    public static SequenceHeaderStatus Read(HttpRequest request, string headerName, long minimum, out long value)
    {
        value = 0;
        var values = request.Headers[headerName];
        if (values.Count == 0)
        {
            return SequenceHeaderStatus.Missing;
        }

        // Two header lines are two numbers for one request: as malformed as "1, 2".
        return values.Count == 1
            && long.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out value)
            && value >= minimum
                ? SequenceHeaderStatus.Valid
                : SequenceHeaderStatus.Invalid;
    }
}
