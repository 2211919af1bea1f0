namespace Idempotency.Headers;

internal enum KeyParseStatus
{
    Missing,
    Invalid,
    Valid,
}
