namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// Work that <see cref="Gemm.Multiply{TEpilogue}(Transpose, Transpose, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int, int, TEpilogue)"/>
/// applies to each block of C as soon as the block holds its final value (alpha·op(A)·op(B) + beta·C), while the
/// block is still in cache, instead of a separate pass over C afterwards. Implemented by structs, so the call is
/// specialised and inlined per epilogue type (no virtual call).
/// </summary>
/// <remarks>
/// Which thread runs which block: all blocks of one row of C go to the epilogue on one thread, one after another with
/// increasing <c>columnStart</c>, never concurrently; together the blocks cover each element of C exactly once. The
/// managed kernel splits the rows between its workers (never the columns, when there is an epilogue) and calls the
/// epilogue on the worker that computed the block, for blocks of up to 162 rows (with a 1 MiB L2) × 2048 columns;
/// with OpenBLAS, or when alpha or k is 0, the calling thread gets all of C as one block. Calls for different rows may run at the same time on different threads.
/// So an epilogue may accumulate per row (a sum over the output columns, say) into a per-row slot without locking,
/// but must not accumulate into anything shared between rows without synchronisation. Each worker thread calls its
/// own copy of the struct, so the struct's fields should be references to the shared state, not the state itself.
/// </remarks>
internal interface IGemmEpilogue
{
    /// <summary>
    /// Processes the finished block C[rowStart..rowStart+rowCount, columnStart..columnStart+columnCount].
    /// <paramref name="block"/> starts at C[rowStart, columnStart]; row i of the block is
    /// <c>block.Slice(i·ldc, columnCount)</c>.
    /// </summary>
    void Apply(int rowStart, int rowCount, int columnStart, int columnCount, Span<float> block, int ldc);
}
