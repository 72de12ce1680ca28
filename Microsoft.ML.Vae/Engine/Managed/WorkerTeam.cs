using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>
/// The engine's fork-join: <see cref="Run"/> calls body(0..workers−1), share 0 on the calling thread and the others on
/// dedicated threads (at most one per core, each taking every n-th share) that keep spinning for a while after their
/// last share, so the next hand-off takes about a microsecond.
/// Through the thread pool (<c>Parallel.For</c>) a hand-off of two shares cost 10–45 µs on the 2-core build machine
/// (the pool's worker has gone to sleep), and a training step at K = 1 makes about 40 of them. The work a body does
/// depends only on its index, so results do not depend on which thread runs it. One team serves the process: a call
/// made while the team is busy (from another thread, or from inside a body) runs on <c>Parallel.For</c> instead.
/// </summary>
internal static class WorkerTeam
{
    /// <summary>How long an idle worker spins before it sleeps: longer than the serial stretches inside a training step.</summary>
    private static readonly TimeSpan s_spin = TimeSpan.FromMilliseconds(1);

    private static readonly object s_growing = new();
    private static Worker[] s_workers = [];
    private static int s_busy;
    private static Action<int>? s_body;
    private static int s_shares, s_participants;
    private static int s_pending;
    private static Exception? s_failure;

    public static void Run(int workers, Action<int> body)
    {
        if (workers <= 1)
        {
            body(0);
            return;
        }

        if (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, body);
            return;
        }

        try
        {
            // No more threads than cores: a spinning thread without a core of its own only delays the others. Each
            // participant takes every participants-th share.
            int participants = Math.Min(workers, Environment.ProcessorCount);
            Worker[] team = Grow(participants - 1);
            s_body = body;
            s_shares = workers;
            s_participants = participants;
            s_failure = null;
            Volatile.Write(ref s_pending, participants - 1);
            for (int i = 1; i < participants; i++) team[i - 1].Start(i);
            try
            {
                RunShares(0);
            }
            finally
            {
                var wait = new SpinWait();
                while (Volatile.Read(ref s_pending) != 0) wait.SpinOnce(sleep1Threshold: -1);
                s_body = null;
            }

            if (s_failure is { } failure) ExceptionDispatchInfo.Capture(failure).Throw();
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    private static void RunShares(int participant)
    {
        for (int share = participant; share < s_shares; share += s_participants) s_body!(share);
    }

    private static Worker[] Grow(int count)
    {
        if (s_workers.Length >= count) return s_workers;
        lock (s_growing)
        {
            if (s_workers.Length < count)
            {
                var grown = new Worker[count];
                s_workers.CopyTo(grown, 0);
                for (int i = s_workers.Length; i < count; i++) grown[i] = new Worker(i + 1);
                s_workers = grown;
            }
            return s_workers;
        }
    }

    /// <summary>A dedicated background thread that runs the share it is given, then spins, then sleeps.</summary>
    private sealed class Worker
    {
        private const int Idle = -1;
        private readonly SemaphoreSlim _wake = new(0);
        private int _index = Idle;
        private int _sleeping;

        public Worker(int number)
        {
            new Thread(Loop) { IsBackground = true, Name = $"Microsoft.ML.Vae worker {number}" }.Start();
        }

        public void Start(int index)
        {
            // The exchange orders this write before the read of _sleeping, and the worker's exchange of _sleeping
            // before its last look at _index: one of the two sees the other, so a wake-up is never lost.
            Interlocked.Exchange(ref _index, index);
            if (Volatile.Read(ref _sleeping) == 1) _wake.Release();
        }

        private void Loop()
        {
            while (true)
            {
                int index = WaitForShare();
                try
                {
                    RunShares(index);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref s_failure, e, null);
                }
                Interlocked.Decrement(ref s_pending);
            }
        }

        private int WaitForShare()
        {
            while (true)
            {
                long since = Stopwatch.GetTimestamp();
                var spin = new SpinWait();
                while (Stopwatch.GetElapsedTime(since) < s_spin)
                {
                    if (Volatile.Read(ref _index) != Idle) return Interlocked.Exchange(ref _index, Idle);
                    spin.SpinOnce(sleep1Threshold: -1);
                }

                Interlocked.Exchange(ref _sleeping, 1);
                if (Volatile.Read(ref _index) == Idle) _wake.Wait();
                Volatile.Write(ref _sleeping, 0);
            }
        }
    }
}
