namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>Components' buffers grow to the largest batch seen and are then reused, so steady-state calls do not allocate.</summary>
internal static class Buffers
{
    public static void Ensure(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
    }

    /// <summary>Copies <paramref name="values"/> into <paramref name="buffer"/>, growing it first.</summary>
    public static void CopyTo(ReadOnlySpan<float> values, ref float[] buffer)
    {
        Ensure(ref buffer, values.Length);
        values.CopyTo(buffer);
    }
}
