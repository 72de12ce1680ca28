using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Microsoft.ML.Vae.Engine.Managed;

namespace Microsoft.ML.Vae.Engine;

/// <summary>
/// Adam (Kingma and Ba 2015) with bias correction over a flat parameter vector, in one fused pass per element range,
/// split over the workers. (Ten separate vector passes over the ~425k parameters of the 784-200-200-50 model cost
/// about as much as the whole K=1 gradient.) Each element's update depends on that element alone, so the result
/// does not depend on the split.
/// </summary>
internal sealed class AdamOptimizer
{
    private const int ChunkLength = 1 << 14;
    private readonly float[] _firstMoment;
    private readonly float[] _secondMoment;
    private readonly int _threads;

    public AdamOptimizer(int count, int threads = 1)
    {
        _firstMoment = new float[count];
        _secondMoment = new float[count];
        _threads = Math.Max(1, threads);
    }

    public void Reset()
    {
        Array.Clear(_firstMoment);
        Array.Clear(_secondMoment);
    }

    /// <summary>
    /// One step; <see cref="AdamSettings.Step"/> is 1 for the first step. Leaves <paramref name="gradient"/> zero, ready
    /// for the next accumulation: the zeros go out with the lines the step has just read, in parallel, where a separate
    /// clear is a serial pass over the whole vector.
    /// </summary>
    public void Step(float[] parameters, float[] gradient, AdamSettings settings)
    {
        int chunks = (parameters.Length + ChunkLength - 1) / ChunkLength;
        if (_threads == 1 || chunks == 1)
        {
            Update(parameters, gradient, settings, 0, parameters.Length);
            return;
        }
        // Contiguous runs of whole chunks per worker.
        int workers = Math.Min(_threads, chunks);
        WorkerTeam.Run(workers, w =>
        {
            int start = (int)((long)chunks * w / workers) * ChunkLength;
            int end = Math.Min(parameters.Length, (int)((long)chunks * (w + 1) / workers) * ChunkLength);
            Update(parameters, gradient, settings, start, end);
        });
    }

    /// <summary>m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; θ −= lr·m̂ / (√v̂ + ε); g = 0 on [start, end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Update(float[] parameters, float[] gradient, in AdamSettings s, int start, int end)
    {
        float b1 = s.Beta1, b2 = s.Beta2, c1 = 1 - b1, c2 = 1 - b2;
        float secondCorrection = 1f / (1f - MathF.Pow(b2, s.Step));
        float stepSize = -s.LearningRate / (1f - MathF.Pow(b1, s.Step));
        ref float p = ref MemoryMarshal.GetArrayDataReference(parameters);
        ref float g = ref MemoryMarshal.GetArrayDataReference(gradient);
        ref float m = ref MemoryMarshal.GetArrayDataReference(_firstMoment);
        ref float v = ref MemoryMarshal.GetArrayDataReference(_secondMoment);
        int i = start;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= end - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                nuint at = (nuint)i;
                var gv = Vector512.LoadUnsafe(ref g, at);
                Vector512<float>.Zero.StoreUnsafe(ref g, at);
                var mv = Vector512.LoadUnsafe(ref m, at) * b1 + gv * c1;
                var vv = Vector512.LoadUnsafe(ref v, at) * b2 + gv * gv * c2;
                mv.StoreUnsafe(ref m, at);
                vv.StoreUnsafe(ref v, at);
                var denominator = Vector512.Sqrt(vv * secondCorrection) + Vector512.Create(s.Epsilon);
                (Vector512.LoadUnsafe(ref p, at) + mv / denominator * stepSize).StoreUnsafe(ref p, at);
            }
        }
        for (; i < end; i++)
        {
            float gi = gradient[i];
            gradient[i] = 0;
            float mi = _firstMoment[i] = _firstMoment[i] * b1 + gi * c1;
            float vi = _secondMoment[i] = _secondMoment[i] * b2 + gi * gi * c2;
            parameters[i] += mi / (MathF.Sqrt(vi * secondCorrection) + s.Epsilon) * stepSize;
        }
    }
}
