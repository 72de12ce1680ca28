namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>Whether a matrix operand of <see cref="Gemm.Multiply"/> is used as stored or transposed.</summary>
internal enum Transpose { No, Yes }

/// <summary>
/// Row-major single-precision matrix product <c>C = alpha·op(A)·op(B) + beta·C</c>, op(A) is m×k, op(B) is k×n.
/// Results depend only on the inputs and <paramref name="threads"/>, never on scheduling (training is reproducible).
/// </summary>
internal static class Gemm
{
    // PLACEHOLDER: a straightforward reference implementation; replaced by the blocked SIMD kernel.
    public static void Multiply(Transpose transA, Transpose transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc, int threads)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA == Transpose.No ? a[i * lda + p] : a[p * lda + i];
                    float bv = transB == Transpose.No ? b[p * ldb + j] : b[j * ldb + p];
                    sum += av * bv;
                }
                c[i * ldc + j] = alpha * sum + (beta == 0 ? 0 : beta * c[i * ldc + j]);
            }
        }
    }
}
