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
    private readonly DenseLayer? _encoderLogVariance;

    public ParameterLayout(VaeModelOptions options, int inputSize)
    {
        if (inputSize < 1) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "A model needs at least one input feature.");
        InputSize = inputSize;
        Latent = options.Latent;
        LatentVariables = options.LatentSize;
        CategoryCount = Latent == LatentKind.Categorical ? options.CategoryCount : 1;
        LatentSize = (long)LatentVariables * CategoryCount <= int.MaxValue ? LatentVariables * CategoryCount
            : throw new ArgumentException($"{nameof(options.LatentSize)} {LatentVariables} × {nameof(options.CategoryCount)} {CategoryCount} latent inputs exceed {int.MaxValue}: lower them.", nameof(options.LatentSize));
        Prior = options.Prior;
        Activation = options.Activation;
        Decoder = options.Decoder;
        LearnDecoderVariance = options.LearnDecoderVariance;
        DecoderVariance = options.DecoderVariance;

        int width = inputSize;
        var encoder = new List<DenseLayer>();
        foreach (int h in options.HiddenSizes) { encoder.Add(AddDense($"enc.{encoder.Count}", width, h, nameof(options.HiddenSizes))); width = h; }
        EncoderHidden = encoder;
        const string latentOption = nameof(options.LatentSize);
        if (Latent == LatentKind.Categorical) EncoderMean = AddDense("enc.logits", width, LatentSize, latentOption);
        else
        {
            EncoderMean = AddDense("enc.mu", width, LatentSize, latentOption);
            _encoderLogVariance = AddDense("enc.logvar", width, LatentSize, latentOption);
        }

        width = LatentSize;
        var decoder = new List<DenseLayer>();
        string decoderOption = options.DecoderHiddenSizes is null ? nameof(options.HiddenSizes) : nameof(options.DecoderHiddenSizes);
        foreach (int g in options.ResolvedDecoderHiddenSizes) { decoder.Add(AddDense($"dec.{decoder.Count}", width, g, decoderOption)); width = g; }
        DecoderHidden = decoder;
        DecoderOutput = AddDense("dec.out", width, inputSize, decoderOption);
        DecoderLogVariance = LearnDecoderVariance ? Add("dec.logvar", 1, inputSize, decoderOption) : null;

        if (Prior == PriorKind.LearnedGaussian)
        {
            PriorMean = Add("prior.mu", 1, LatentSize, latentOption);
            PriorLogVariance = Add("prior.logvar", 1, LatentSize, latentOption);
        }
        else if (Prior == PriorKind.Vamp) PseudoInputs = Add("prior.pseudo", options.PseudoInputCount, inputSize, nameof(options.PseudoInputCount));
    }

    public int InputSize { get; }

    /// <summary>Width of z, the decoder's input and the noise per sample: LatentVariables × CategoryCount.</summary>
    public int LatentSize { get; }

    /// <summary>Number of latent variables (<see cref="VaeModelOptions.LatentSize"/>).</summary>
    public int LatentVariables { get; }

    /// <summary>Classes per categorical variable; 1 for Gaussian latents.</summary>
    public int CategoryCount { get; }

    public LatentKind Latent { get; }
    public PriorKind Prior { get; }
    public Activation Activation { get; }
    public DecoderKind Decoder { get; }
    public bool LearnDecoderVariance { get; }
    public float DecoderVariance { get; }

    public IReadOnlyList<DenseLayer> EncoderHidden { get; }
    /// <summary>The mean head (Gaussian latents) or the logits head <c>enc.logits</c> (categorical latents).</summary>
    public DenseLayer EncoderMean { get; }

    /// <summary>The log-variance head; Gaussian latents only.</summary>
    public DenseLayer EncoderLogVariance => _encoderLogVariance ?? throw new InvalidOperationException("Categorical latents have no log-variance head.");
    public IReadOnlyList<DenseLayer> DecoderHidden { get; }
    public DenseLayer DecoderOutput { get; }
    public ParameterTensor? DecoderLogVariance { get; }

    /// <summary>Learned Gaussian prior: its mean and log-variance, <c>[1, LatentSize]</c> each.</summary>
    public ParameterTensor? PriorMean { get; }
    public ParameterTensor? PriorLogVariance { get; }

    /// <summary>VampPrior: the pseudo-inputs, <c>[PseudoInputCount, InputSize]</c>.</summary>
    public ParameterTensor? PseudoInputs { get; }

    public IReadOnlyList<ParameterTensor> Tensors => _tensors;

    public int Count { get; private set; }

    public ParameterTensor Find(string name) =>
        _tensors.FirstOrDefault(t => t.Name == name) is { Name: not null } t ? t : throw new KeyNotFoundException($"The model has no parameter '{name}'.");

    /// <summary>
    /// Dense layers as <paramref name="initialization"/> says (Glorot-uniform weights and zero biases by default),
    /// log-variances at log(<see cref="DecoderVariance"/>), a learned prior at N(0, I), pseudo-inputs uniform in
    /// [0, 1] (the trainer replaces them with training rows).
    /// </summary>
    public float[] Initialize(Mathematics.RandomSource random, WeightInitialization initialization = WeightInitialization.Glorot)
    {
        var parameters = new float[Count];
        var heads = _encoderLogVariance is { } logVariance ? new[] { EncoderMean, logVariance } : [EncoderMean];
        foreach (var layer in EncoderHidden.Concat(heads).Concat(DecoderHidden).Append(DecoderOutput))
        {
            bool glorot = initialization == WeightInitialization.Glorot;
            float limit = glorot ? MathF.Sqrt(6f / (layer.Inputs + layer.Outputs)) : 1f / MathF.Sqrt(layer.Inputs);
            random.FillUniform(parameters.AsSpan(layer.Weight.Offset, layer.Weight.Length), -limit, limit);
            if (!glorot) random.FillUniform(parameters.AsSpan(layer.Bias.Offset, layer.Bias.Length), -limit, limit);
        }
        if (DecoderLogVariance is { } lv) parameters.AsSpan(lv.Offset, lv.Length).Fill(MathF.Log(DecoderVariance));
        if (PseudoInputs is { } pseudo) random.FillUniform(parameters.AsSpan(pseudo.Offset, pseudo.Length), 0f, 1f);
        return parameters;
    }

    private DenseLayer AddDense(string name, int inputs, int outputs, string option) =>
        new(Add(name + ".W", inputs, outputs, option), Add(name + ".b", 1, outputs, option));

    /// <summary>Appends a tensor; <paramref name="option"/> is the option to name when the vector would outgrow an array.</summary>
    private ParameterTensor Add(string name, int rows, int columns, string option)
    {
        long count = Count + (long)rows * columns;
        if (count > Array.MaxLength)
            throw new ArgumentException(
                $"{option}: the model would have {count:N0} or more parameters ({name} alone is {rows} × {columns}), more than one array holds ({Array.MaxLength:N0}); lower {option}.", option);
        var tensor = new ParameterTensor(name, Count, rows, columns);
        _tensors.Add(tensor);
        Count = (int)count;
        return tensor;
    }
}
