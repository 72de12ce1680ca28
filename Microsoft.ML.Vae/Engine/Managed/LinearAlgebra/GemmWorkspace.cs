namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// Per-thread packing buffers of <see cref="GemmBlocked"/>, kept between calls so the hot path does not allocate.
/// The storage lives on the pinned object heap, so the pointers stay valid, and is aligned to a cache line so the
/// kernel's vector loads of packed B never straddle two lines.
/// </summary>
internal sealed unsafe class GemmWorkspace
{
    private const int AlignmentFloats = 16;

    [ThreadStatic]
    private static GemmWorkspace? t_current;

    private float[] _storage = [];
    private float* _aligned;
    private int _capacity;

    /// <summary>This thread's buffers, grown to hold at least <paramref name="floats"/> floats.</summary>
    public static float* Rent(int floats)
    {
        GemmWorkspace workspace = t_current ??= new GemmWorkspace();
        if (workspace._capacity < floats)
            workspace.Grow(floats);
        return workspace._aligned;
    }

    private void Grow(int floats)
    {
        _storage = GC.AllocateUninitializedArray<float>(floats + AlignmentFloats, pinned: true);
        fixed (float* start = _storage)
        {
            nint misalignment = (nint)start & (AlignmentFloats * sizeof(float) - 1);
            _aligned = misalignment == 0 ? start : (float*)((byte*)start + AlignmentFloats * sizeof(float) - misalignment);
        }

        _capacity = floats;
    }
}
