namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>
/// Work that <see cref="Gemm.Multiply{TEpilogue}(Transpose, Transpose, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int, int, TEpilogue)"/>
/// applies to each block of C as soon as the block holds its final value (alpha·op(A)·op(B) + beta·C), while the
/// block is still in cache, instead of a separate pass over C afterwards. Implemented by structs, so the call is
/// specialised and inlined per epilogue type (no virtual call).
/// </summary>
/// <remarks>
/// Which thread runs which block: every row of C is computed, and then given to the epilogue, by one thread only.
/// The calls for one row come one after another, never concurrently, with increasing <c>columnStart</c>; together
/// they cover each element of C exactly once. Calls for different rows may run at the same time on different threads.
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
