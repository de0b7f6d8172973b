using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

namespace QueueCtl.Tests.Support;

/// <summary>
/// The rule of docs/testing.md, checked where processes start: a test that starts one (queuectl,
/// a worker, the dashboard, script(1), the wrapper, node, mount, kill) is
/// <c>[Category("EndToEnd")]</c>, on itself or on its fixture, so that
/// <c>--filter "TestCategory!=EndToEnd"</c> runs in process only. The helpers of Support/ that
/// start a process call <see cref="Require"/> first.
/// </summary>
public static class EndToEnd
{
    public const string Category = "EndToEnd";

    /// <summary>
    /// Fails the current test unless it, or a suite it belongs to, is in category EndToEnd. A
    /// category on a fixture is not copied to its tests (TestContext's Properties are the test's
    /// own), nor one on a [TestCase] method to its cases, so the walk goes up through the parents:
    /// case, parameterized method, fixture, namespace, assembly. Called from [OneTimeSetUp], the
    /// current test is the fixture itself. The context flows into tasks and threads (AsyncLocal).
    /// </summary>
    public static void Require(string what)
    {
        var sawFixture = false;
        for (ITest? test = TestExecutionContext.CurrentContext.CurrentTest; test is not null; test = test.Parent)
        {
            if (test.Properties[PropertyNames.Category].Contains(Category))
            {
                return;
            }
            sawFixture |= test is TestFixture;
        }
        if (!sawFixture)
        {
            // Not inside a test of this assembly (no fixture above): nothing to check against.
            return;
        }
        Assert.Fail(
            $"{TestExecutionContext.CurrentContext.CurrentTest.FullName} starts a process ({what}) but is not "
            + $"[Category(\"{Category}\")]: mark the test or its fixture, or run the command in process "
            + "(TempHome.Run, QueueCtlInProcess). The fast loop (--filter \"TestCategory!=EndToEnd\") starts no process; see docs/testing.md.");
    }
}
