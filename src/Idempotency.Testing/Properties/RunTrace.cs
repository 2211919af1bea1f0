using System.Globalization;
using System.Text;
using Xunit.Sdk;

namespace Idempotency.Testing.Properties;

/// <summary>The steps of one run so far, each with the model's and the store's answer; the body of a failure message.</summary>
internal sealed class RunTrace
{
    private readonly StringBuilder _steps = new();
    private int _count;

    public void Step(object operation, string model, string store)
    {
        _steps.Append(CultureInfo.InvariantCulture, $"\n  #{_count++} {operation} -> model {model}; store {store}");
    }

    /// <summary>Records a renew, complete or release, which presented the token named <paramref name="token"/>; throws when the answers differ.</summary>
    /// <returns>The outcome, for the statistics.</returns>
    public string Owner(object operation, string token, bool model, bool store)
    {
        _steps.Append(CultureInfo.InvariantCulture, $"\n  #{_count++} {operation} with {token} -> model {model}; store {store}");
        if (model != store)
        {
            throw Divergence(store ? "the store accepted a token the model refuses" : "the store refused the owner's token");
        }

        return model ? "accepted" : "refused";
    }

    public void Advance(object operation) => _steps.Append(CultureInfo.InvariantCulture, $"\n  #{_count++} {operation}");

    /// <summary>The failure of the last step: what differs, after every step that led there.</summary>
    public XunitException Divergence(string difference)
        => new($"The store and the model differ at step #{_count - 1}: {difference}.\nSteps (tokens named by the model token they were paired with):{_steps}");
}
