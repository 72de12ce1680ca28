namespace Microsoft.ML.Vae.Model;

/// <summary>One named tensor inside the flat parameter vector: <c>[Rows, Columns]</c> row-major at <c>Offset</c>.</summary>
internal readonly record struct ParameterTensor(string Name, int Offset, int Rows, int Columns)
{
    public int Length => Rows * Columns;
}

/// <summary>A dense layer <c>y = x·W + b</c> as offsets into the flat parameter vector.</summary>
internal readonly record struct DenseLayer(ParameterTensor Weight, ParameterTensor Bias)
{
    public int Inputs => Weight.Rows;
    public int Outputs => Weight.Columns;
}

/// <summary>
/// Where every parameter of a model lives in the flat vector that all engines and the file format share
/// (order and shapes in docs/design.md). Built from the options alone, so any engine can rebuild it.
/// </summary>
internal sealed class ParameterLayout
{
    private readonly List<ParameterTensor> _tensors = [];

    public ParameterLayout(VaeModelOptions options, int inputSize)
    {
        if (inputSize < 1) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "A model needs at least one input feature.");
        InputSize = inputSize;
        LatentSize = options.LatentSize;
        Activation = options.Activation;
        Decoder = options.Decoder;
        LearnDecoderVariance = options.LearnDecoderVariance;
        DecoderVariance = options.DecoderVariance;

        int width = inputSize;
        var encoder = new List<DenseLayer>();
        foreach (int h in options.HiddenSizes) { encoder.Add(AddDense($"enc.{encoder.Count}", width, h)); width = h; }
        EncoderHidden = encoder;
        EncoderMean = AddDense("enc.mu", width, LatentSize);
        EncoderLogVariance = AddDense("enc.logvar", width, LatentSize);

        width = LatentSize;
        var decoder = new List<DenseLayer>();
        foreach (int g in options.ResolvedDecoderHiddenSizes) { decoder.Add(AddDense($"dec.{decoder.Count}", width, g)); width = g; }
        DecoderHidden = decoder;
        DecoderOutput = AddDense("dec.out", width, inputSize);
        DecoderLogVariance = LearnDecoderVariance ? Add("dec.logvar", 1, inputSize) : null;
    }

    public int InputSize { get; }
    public int LatentSize { get; }
    public Activation Activation { get; }
    public DecoderKind Decoder { get; }
    public bool LearnDecoderVariance { get; }
    public float DecoderVariance { get; }

    public IReadOnlyList<DenseLayer> EncoderHidden { get; }
    public DenseLayer EncoderMean { get; }
    public DenseLayer EncoderLogVariance { get; }
    public IReadOnlyList<DenseLayer> DecoderHidden { get; }
    public DenseLayer DecoderOutput { get; }
    public ParameterTensor? DecoderLogVariance { get; }

    public IReadOnlyList<ParameterTensor> Tensors => _tensors;

    public int Count { get; private set; }

    /// <summary>Widest activation of the encoder and decoder, for sizing work buffers.</summary>
    public int MaxWidth => _tensors.Max(t => t.Columns);

    public ParameterTensor Find(string name) =>
        _tensors.FirstOrDefault(t => t.Name == name) is { Name: not null } t ? t : throw new KeyNotFoundException($"The model has no parameter '{name}'.");

    /// <summary>Glorot-uniform weights, zero biases, log-variances at log(<see cref="DecoderVariance"/>).</summary>
    public float[] Initialize(Mathematics.RandomSource random)
    {
        var parameters = new float[Count];
        foreach (var layer in EncoderHidden.Concat([EncoderMean, EncoderLogVariance]).Concat(DecoderHidden).Append(DecoderOutput))
        {
            float limit = MathF.Sqrt(6f / (layer.Inputs + layer.Outputs));
            var w = parameters.AsSpan(layer.Weight.Offset, layer.Weight.Length);
            random.FillUniform(w, -limit, limit);
        }
        if (DecoderLogVariance is { } lv) parameters.AsSpan(lv.Offset, lv.Length).Fill(MathF.Log(DecoderVariance));
        return parameters;
    }

    private DenseLayer AddDense(string name, int inputs, int outputs) =>
        new(Add(name + ".W", inputs, outputs), Add(name + ".b", 1, outputs));

    private ParameterTensor Add(string name, int rows, int columns)
    {
        var tensor = new ParameterTensor(name, Count, rows, columns);
        _tensors.Add(tensor);
        Count = checked(Count + tensor.Length);
        return tensor;
    }
}
