namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>
/// Splits per-row work into contiguous row ranges, one per worker, so results depend on the thread count only, never
/// on scheduling.
/// </summary>
internal static class RowRanges
{
    /// <summary>Runs body(worker, start, end) over at most <paramref name="threads"/> ranges covering [0, rows).</summary>
    public static void For(int threads, int rows, Action<int, int, int> body)
    {
        int chunks = Math.Min(threads, rows);
        if (chunks <= 1) { body(0, 0, rows); return; }
        WorkerTeam.Run(chunks, c => body(c, (int)((long)rows * c / chunks), (int)((long)rows * (c + 1) / chunks)));
    }
}
