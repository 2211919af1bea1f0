namespace Idempotency.CrashTest.App;

/// <summary>The <c>Crash</c> configuration section: who this instance is and how long its handler dawdles.</summary>
public sealed class CrashOptions
{
    /// <summary>The instance's name, written into each row and response.</summary>
    public string Instance { get; set; } = "app";

    /// <summary>The handler sleeps a random time up to this before its write, so that kills land mid-handler.</summary>
    public int BeforeSaveMilliseconds { get; set; }

    /// <summary>The handler sleeps a random time up to this after its write, so that kills land between the write and the response.</summary>
    public int AfterSaveMilliseconds { get; set; }

    /// <summary>The lease of each record: short, so that a record orphaned by a kill is taken over within the clients' patience.</summary>
    public int LeaseMilliseconds { get; set; } = 2000;

    /// <summary>The process that started this one; when it is gone this one stops, so no instance outlives its harness.</summary>
    public int ParentProcessId { get; set; }
}
