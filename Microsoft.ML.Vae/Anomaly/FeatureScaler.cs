using Microsoft.ML.Vae.Model;
namespace Microsoft.ML.Vae.Anomaly;

/// <summary>Per-feature affine rescaling <c>(x - offset) · scale</c>, optionally clipped to [0, 1], fitted on training rows.</summary>
internal sealed class FeatureScaler
{
    public FeatureScaler(FeatureScaling kind, float[] offset, float[] scale, bool clipToUnitRange)
    {
        Kind = kind;
        Offset = offset;
        Scale = scale;
        ClipToUnitRange = clipToUnitRange;
    }

    public FeatureScaling Kind { get; }

    public float[] Offset { get; }

    public float[] Scale { get; }

    public bool ClipToUnitRange { get; }

    public int Columns => Offset.Length;

    /// <summary>Fits <paramref name="kind"/> on <paramref name="rows"/> of <paramref name="data"/>; a constant feature gets scale 1.</summary>
    public static FeatureScaler Fit(FeatureScaling kind, FeatureMatrix data, ReadOnlySpan<int> rows, bool clipToUnitRange)
    {
        int columns = data.Columns;
        var offset = new float[columns];
        var scale = new float[columns];
        for (int c = 0; c < columns; c++)
        {
            double a = kind == FeatureScaling.MinMax ? double.PositiveInfinity : 0, b = kind == FeatureScaling.MinMax ? double.NegativeInfinity : 0;
            foreach (int r in rows)
            {
                double v = data.Values[(long)r * columns + c];
                if (kind == FeatureScaling.MinMax) { a = Math.Min(a, v); b = Math.Max(b, v); }
                else { a += v; b += v * v; }
            }
            double spread;
            if (kind == FeatureScaling.MinMax) { offset[c] = (float)a; spread = b - a; }
            else
            {
                double mean = a / rows.Length;
                offset[c] = (float)mean;
                spread = Math.Sqrt(Math.Max(0, b / rows.Length - mean * mean));
            }
            scale[c] = spread > 1e-12 ? (float)(1 / spread) : 1f;
        }
        return new FeatureScaler(kind, offset, scale, clipToUnitRange);
    }

    /// <summary>The rescaled copy of <paramref name="data"/>.</summary>
    public FeatureMatrix Apply(FeatureMatrix data)
    {
        if (data.Columns != Columns)
            throw new ArgumentException($"The rows have {data.Columns} features but the detector was trained on {Columns}: pass the same feature columns, in the same order.", nameof(data));
        var values = new float[data.Values.Length];
        for (long i = 0; i < values.Length; i++)
        {
            int c = (int)(i % Columns);
            float v = (data.Values[i] - Offset[c]) * Scale[c];
            values[i] = ClipToUnitRange ? Math.Clamp(v, 0f, 1f) : v;
        }
        return new FeatureMatrix(values, data.Rows, data.Columns);
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write((int)Kind);
        writer.Write(ClipToUnitRange);
        writer.Write(Columns);
        foreach (float v in Offset) writer.Write(v);
        foreach (float v in Scale) writer.Write(v);
    }

    public static FeatureScaler Read(BinaryReader reader)
    {
        var kind = (FeatureScaling)reader.ReadInt32();
        if (!Enum.IsDefined(kind)) throw new InvalidDataException($"The detector file names an unknown feature scaling ({(int)kind}).");
        bool clip = reader.ReadBoolean();
        int columns = reader.ReadInt32();
        if (columns < 1) throw new InvalidDataException($"The detector file's scaling lists {columns} features.");
        reader.RequireBytes(columns, 2 * sizeof(float), "scaled features");
        var offset = reader.ReadFiniteSingles(columns, "feature offsets");
        var scale = reader.ReadFiniteSingles(columns, "feature scales");
        return new FeatureScaler(kind, offset, scale, clip);
    }
}
