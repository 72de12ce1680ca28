using System.Collections.Concurrent;
using Microsoft.ML.Vae.Engine.Managed;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public sealed class WorkerTeamTests
{
    [TestMethod]
    public void EveryShareRunsOnceAndTheCallerTakesTheFirst()
    {
        foreach (int workers in new[] { 1, 2, 3, 5 })
        {
            var runs = new int[workers];
            var threads = new int[workers];
            WorkerTeam.Run(workers, i =>
            {
                Interlocked.Increment(ref runs[i]);
                threads[i] = Environment.CurrentManagedThreadId;
            });
            CollectionAssert.AreEqual(Enumerable.Repeat(1, workers).ToArray(), runs, $"{workers} workers");
            Assert.AreEqual(Environment.CurrentManagedThreadId, threads[0], "share 0 runs on the caller");
            // At most one thread per core; with fewer cores than shares, share i runs with share i mod cores.
            int participants = Math.Min(workers, Environment.ProcessorCount);
            Assert.AreEqual(participants, threads.Distinct().Count(), $"{workers} workers on {Environment.ProcessorCount} cores");
            for (int i = participants; i < workers; i++)
                Assert.AreEqual(threads[i % participants], threads[i], $"{workers} workers: share {i}");
        }
    }

    [TestMethod]
    public void SharesRunAtTheSameTime()
    {
        if (Environment.ProcessorCount < 2) Assert.Inconclusive("needs two cores");
        // Each share waits for the other: run one after the other, this would never finish.
        using var barrier = new Barrier(2);
        bool[] met = new bool[2];
        WorkerTeam.Run(2, i => met[i] = barrier.SignalAndWait(TimeSpan.FromSeconds(10)));
        Assert.IsTrue(met[0] && met[1], "the two shares did not overlap");
    }

    [TestMethod]
    public void AFailureInAnyShareReachesTheCallerWithNoShareStillRunning()
    {
        foreach (int failing in new[] { 0, 1, 2 })
        {
            int running = 0;
            var error = Assert.ThrowsExactly<InvalidOperationException>(() => WorkerTeam.Run(3, i =>
            {
                Interlocked.Increment(ref running);
                try
                {
                    if (i == failing) throw new InvalidOperationException($"share {i}");
                    Thread.Sleep(20);
                }
                finally
                {
                    Interlocked.Decrement(ref running);
                }
            }));
            Assert.AreEqual($"share {failing}", error.Message);
            Assert.AreEqual(0, Volatile.Read(ref running), "the call returned while a share was still running");
        }
        int after = 0;
        WorkerTeam.Run(3, _ => Interlocked.Increment(ref after));
        Assert.AreEqual(3, after, "the team works after a failure");
    }

    [TestMethod]
    public void NestedAndConcurrentCallsComplete()
    {
        // A call from inside a share, and calls from several threads at once, find the team busy and run on the thread
        // pool instead; every share of every call must still run exactly once.
        long total = 0;
        Parallel.For(0, 8, _ =>
        {
            for (int r = 0; r < 200; r++)
                WorkerTeam.Run(2, i => WorkerTeam.Run(2, j => Interlocked.Add(ref total, 1 + i * 2 + j)));
        });
        Assert.AreEqual(8L * 200 * (1 + 2 + 3 + 4), total);
    }

    [TestMethod]
    public void ASleepingTeamWakesUp()
    {
        var seen = new ConcurrentBag<int>();
        WorkerTeam.Run(2, seen.Add);
        Thread.Sleep(50);  // well past the spin: the worker is asleep
        WorkerTeam.Run(2, seen.Add);
        Assert.AreEqual(4, seen.Count);
    }
}
