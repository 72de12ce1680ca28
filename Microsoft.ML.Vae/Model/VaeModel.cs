using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;
using Microsoft.ML.Vae.Onnx;

namespace Microsoft.ML.Vae;

/// <summary>
/// A trained VAE/IWAE: per row a latent embedding, an importance-weighted estimate of log p(x) and a reconstruction.
/// Immutable once built; every method is safe to call from several threads at once.
/// </summary>
public sealed class VaeModel : IDisposable
{
    private readonly float[] _parameters;
    private readonly IVaeBackend _backend;
    private readonly EngineKind _engine;
    private readonly string? _device;
    private readonly bool _fallbackToCpu;

    internal VaeModel(VaeModelOptions options, ParameterLayout layout, float[] parameters, IReadOnlyList<EpochSummary> history, int threads,
        EngineKind engine = EngineKind.Managed, string? device = null, bool fallbackToCpu = true,
        ScoringPrecision scoringPrecision = ScoringPrecision.Float32)
    {
        Options = options;
        Layout = layout;
        _parameters = parameters;
        History = history;
        Threads = threads;
        _engine = engine;
        _device = device;
        _fallbackToCpu = fallbackToCpu;
        ScoringPrecision = scoringPrecision;
        _backend = BackendFactory.Create(layout, engine, threads, device, fallbackToCpu, scoringPrecision);
        _backend.SetParameters(parameters);
    }

    /// <summary>
    /// The same model scoring on another engine (e.g. libtorch on a GPU for large-K estimates). The weights are shared
    /// and the numbers agree to float32 rounding; dispose the returned model to free its engine.
    /// </summary>
    public VaeModel UseEngine(EngineKind engine, string? device = null, bool fallbackToCpu = true) =>
        new(Options.Clone(), Layout, _parameters, History, Threads, engine, device, fallbackToCpu, ScoringPrecision);

    /// <summary>
    /// The same model estimating log p(x) (<see cref="LogLikelihood(FeatureMatrix, int, int, IProgress{int}, CancellationToken)"/>)
    /// with the decoder's products in <paramref name="precision"/>: <see cref="ScoringPrecision.Int16"/> trades about a
    /// thousandth of a nat per row for speed on the managed engine. Embeddings and reconstructions stay float32; the
    /// weights are shared, and the precision is not saved with the model. Dispose the returned model to free its engine.
    /// </summary>
    public VaeModel UseScoringPrecision(ScoringPrecision precision)
    {
        if (!Enum.IsDefined(precision))
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "precision must be ScoringPrecision.Float32 or ScoringPrecision.Int16.");
        return new(Options.Clone(), Layout, _parameters, History, Threads, _engine, _device, _fallbackToCpu, precision);
    }

    /// <summary>The arithmetic of the decoder when this model estimates log p(x) (<see cref="UseScoringPrecision"/>).</summary>
    public ScoringPrecision ScoringPrecision { get; }

    /// <summary>The engine that computes this model's scores, e.g. "managed" or "libtorch 1.13.0 (cpu)".</summary>
    public string EngineName => _backend.Name;

    /// <summary>
    /// Sample rows (rows × samples) one scoring pass pushes through the decoder: 4096 on a CPU, which bounds the memory
    /// of <see cref="LogLikelihood(FeatureMatrix, int, int, IProgress{int}, CancellationToken)"/> at about
    /// 4 bytes × 4096 × (sum of decoder widths + 2 × features + 3 × latent) per concurrent call whatever K is
    /// (≈ 25 MB for the 784-200-200-50 model); larger on a GPU.
    /// </summary>
    public int ScoringSampleRows => _backend.ScoringSampleRows;

    /// <summary>The architecture the model was built with (a copy; changing it does not change the model).</summary>
    public VaeModelOptions Options { get; }

    /// <summary>Features per row.</summary>
    public int InputSize => Layout.InputSize;

    /// <summary>Dimensions of the embedding (and of z): LatentSize, or LatentSize × CategoryCount for categorical latents.</summary>
    public int LatentSize => Layout.LatentSize;

    /// <summary>Bounds per epoch of the training run that produced the model.</summary>
    public IReadOnlyList<EpochSummary> History { get; }

    internal ParameterLayout Layout { get; }

    internal int Threads { get; }

    internal ReadOnlySpan<float> Parameters => _parameters;

    /// <summary>The engine holding the parameters, for internal helpers such as <see cref="Diagnostics.LatentDiagnostics"/>.</summary>
    internal IVaeBackend Backend => _backend;

    /// <summary>Posterior means, one row of <see cref="LatentSize"/> per input row (class probabilities for categorical latents).</summary>
    public FeatureMatrix Embed(FeatureMatrix x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var mean = new float[x.Rows * LatentSize];
        Embed(x.Values, x.Rows, mean, new float[mean.Length]);
        return new FeatureMatrix(mean, x.Rows, LatentSize);
    }

    /// <summary>Posterior mean and log-variance of q(z|x) for <paramref name="rows"/> rows, each <c>[rows, LatentSize]</c>.</summary>
    public void Embed(ReadOnlySpan<float> x, int rows, Span<float> mean, Span<float> logVariance)
    {
        CheckInput(x, rows, nameof(x));
        CheckOutput(mean, rows * LatentSize, nameof(mean));
        CheckOutput(logVariance, rows * LatentSize, nameof(logVariance));
        _backend.Encode(x, rows, mean, logVariance);
    }

    /// <summary>
    /// IWAE estimate of log p(x) per row (nats): log (1/K) Σ p(x, z_k)/q(z_k|x) with K = <paramref name="sampleCount"/>
    /// samples, a lower bound in expectation that tightens as K grows (for categorical latents, on the discrete model:
    /// hard one-hot samples scored with exact categorical probabilities). Computed in passes of
    /// <see cref="ScoringSampleRows"/> sample rows, so memory does not grow with K. Row i's samples come from its own
    /// random stream, so a row's estimate does not depend on which other rows are scored with it.
    /// </summary>
    public float[] LogLikelihood(FeatureMatrix x, int sampleCount = 5000, int seed = 0, IProgress<int>? rowsDone = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        var result = new float[x.Rows];
        LogLikelihood(x.Values, x.Rows, result, sampleCount, seed, rowsDone, cancellationToken);
        return result;
    }

    /// <inheritdoc cref="LogLikelihood(FeatureMatrix, int, int, IProgress{int}, CancellationToken)"/>
    /// <remarks>
    /// <c>firstRowIndex</c> is the index of the first row in the caller's data: row i draws from random stream
    /// firstRowIndex + i, so scoring a dataset in batches gives the same numbers as scoring it whole. With
    /// <c>sharedNoise</c> every row draws the same noise, from stream firstRowIndex (common random numbers): a row's
    /// estimate then depends only on its values and the seed, wherever it stands in whichever batch, and the
    /// differences between rows' estimates vary less.
    /// </remarks>
    public void LogLikelihood(ReadOnlySpan<float> x, int rows, Span<float> result, int sampleCount = 5000, int seed = 0,
        IProgress<int>? rowsDone = null, CancellationToken cancellationToken = default, long firstRowIndex = 0, bool sharedNoise = false)
    {
        if (sampleCount < 1)
            throw new ArgumentOutOfRangeException(nameof(sampleCount), sampleCount, "sampleCount (K) must be at least 1.");
        CheckInput(x, rows, nameof(x));
        CheckOutput(result, rows, nameof(result));

        int features = InputSize, latent = LatentSize;
        // At least two rows per pass, so that their noise streams are drawn side by side: with one row per pass the
        // draws were serial while a core waited (a twentieth of a K = 5000 estimate). A function of K alone, so the
        // draws do not depend on the thread count.
        int passSamples = Math.Max(1, ScoringSampleRows / 2);
        // Equal passes per row (5000 samples: 3 × 1667, not 2048 + 2048 + 904) keep every pass's matrices large.
        int passesPerRow = (int)(((long)sampleCount + passSamples - 1) / passSamples);
        int samplesPerPass = (int)(((long)sampleCount + passesPerRow - 1) / passesPerRow);
        int rowsPerPass = Math.Max(1, ScoringSampleRows / samplesPerPass);
        var noise = new float[checked(rowsPerPass * samplesPerPass * latent)];
        var logWeights = new float[rowsPerPass * samplesPerPass];
        float[]? shared = sharedNoise ? SharedNoise(seed, firstRowIndex, sampleCount) : null;
        var streams = new RandomSource[rowsPerPass];
        var max = new double[rowsPerPass];
        var sum = new double[rowsPerPass];

        for (int first = 0; first < rows; first += rowsPerPass)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(rowsPerPass, rows - first);
            var batch = x.Slice(first * features, count * features);
            for (int r = 0; r < count; r++)
            {
                if (shared is null) streams[r] = new RandomSource(seed, firstRowIndex + first + r);
                max[r] = double.NegativeInfinity;
                sum[r] = 0;
            }
            for (int done = 0; done < sampleCount; done += samplesPerPass)
            {
                int k = Math.Min(samplesPerPass, sampleCount - done);
                if (shared is not null)
                    for (int r = 0; r < count; r++) shared.AsSpan(done * latent, k * latent).CopyTo(noise.AsSpan(r * k * latent));
                else if (count == 1) streams[0].FillLatentNoise(noise.AsSpan(0, k * latent), Layout.Latent);
                else RowRanges.For(Threads, count, (_, start, end) =>
                {
                    for (int r = start; r < end; r++) streams[r].FillLatentNoise(noise.AsSpan(r * k * latent, k * latent), Layout.Latent);
                });
                _backend.LogWeights(batch, count, noise.AsSpan(0, count * k * latent), k, logWeights);
                for (int i = 0; i < count * k; i++) LogSpace.Accumulate(ref max[i / k], ref sum[i / k], logWeights[i]);
            }
            for (int r = 0; r < count; r++) result[first + r] = (float)(max[r] + Math.Log(sum[r]) - Math.Log(sampleCount));
            rowsDone?.Report(first + count);
        }
    }

    /// <summary>
    /// The estimate of <see cref="LogLikelihood(FeatureMatrix, int, int, IProgress{int}, CancellationToken)"/> with the
    /// noise drawn on the libtorch engine's device by the counter-based generator of the device loop (row i from key
    /// (seed, 0, i), or (seed, 0, 0) for every row with <paramref name="sharedNoise"/>): the same estimator, other
    /// draws than the host's for the same seed, and one read-back per group of rows instead of host noise every pass.
    /// Gaussian latents on the libtorch engine only (<see cref="UseEngine"/>).
    /// </summary>
    public float[] LogLikelihoodOnDevice(FeatureMatrix x, int sampleCount = 5000, int seed = 0, bool sharedNoise = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (sampleCount < 1)
            throw new ArgumentOutOfRangeException(nameof(sampleCount), sampleCount, "sampleCount (K) must be at least 1.");
        if (_backend is not Engine.LibTorch.LibTorchBackend device)
            throw new InvalidOperationException($"LogLikelihoodOnDevice needs the libtorch engine, and this model scores on {EngineName}: use UseEngine(EngineKind.LibTorch).");
        if (Layout.Latent != LatentKind.Gaussian)
            throw new InvalidOperationException("LogLikelihoodOnDevice draws Gaussian noise: score categorical latents with LogLikelihood.");
        CheckInput(x.Values, x.Rows, nameof(x));
        var result = new float[x.Rows];
        if (x.Rows > 0) device.LogLikelihoodOnDevice(x.Values, x.Rows, sampleCount, seed, stream: 0, firstCounter: 0, sharedNoise, result);
        return result;
    }

    /// <summary>
    /// The noise of the shared-noise estimate, <c>[sampleCount, LatentSize]</c>: drawn in one go from stream
    /// <paramref name="stream"/> of <paramref name="seed"/>, so it depends on neither the engine nor its pass sizes
    /// (the ONNX export stores exactly these draws).
    /// </summary>
    internal float[] SharedNoise(int seed, long stream, int sampleCount)
    {
        long values = (long)sampleCount * LatentSize;
        if (values > Array.MaxLength || values * sizeof(float) > TrainingMemory.AvailableBytes / 2)
            throw new ArgumentOutOfRangeException(nameof(sampleCount), sampleCount,
                $"sampleCount: the shared noise of {sampleCount:N0} samples is {values:N0} values ({values * 4.0 / (1 << 30):F1} GiB), more than " +
                $"one array holds or half the {TrainingMemory.AvailableBytes / (double)(1 << 30):F1} GiB this process can use: use a smaller K.");
        var noise = new float[values];
        new RandomSource(seed, stream).FillLatentNoise(noise, Layout.Latent);
        return noise;
    }

    /// <summary>Decoder output at the posterior mean: probabilities (Bernoulli) or means (Gaussian), one row per input row.</summary>
    public FeatureMatrix Reconstruct(FeatureMatrix x)
    {
        var embedding = Embed(x);
        return Decode(embedding);
    }

    /// <summary>Decoder output for latent rows <c>[rows, LatentSize]</c>: probabilities (Bernoulli) or means (Gaussian).</summary>
    public FeatureMatrix Decode(FeatureMatrix z)
    {
        ArgumentNullException.ThrowIfNull(z);
        if (z.Columns != LatentSize)
            throw new ArgumentException($"Latent rows must have {LatentSize} values (the model's LatentSize), got {z.Columns}.", nameof(z));
        var output = new float[z.Rows * InputSize];
        _backend.Decode(z.Values, z.Rows, output);
        return new FeatureMatrix(output, z.Rows, InputSize);
    }

    /// <summary>Writes the model atomically: a failed save leaves any earlier file at <paramref name="path"/> untouched.</summary>
    public void Save(string path) => VaeModelSerializer.Save(this, path);

    /// <summary>Writes the model to a stream in the same versioned, checksummed format.</summary>
    public void Save(Stream stream) => VaeModelSerializer.Write(this, stream);

    /// <summary>Reads a model saved by <see cref="Save(string)"/>; throws <see cref="InvalidDataException"/> for a damaged file.</summary>
    public static VaeModel Load(string path) => VaeModelSerializer.Load(path);

    /// <inheritdoc cref="Load(string)"/>
    public static VaeModel Load(Stream stream) => VaeModelSerializer.Read(stream);

    /// <summary>
    /// Writes the model as an ONNX graph (docs/onnx.md): input <c>Features</c> <c>[N, F]</c>; outputs <c>Embedding</c>,
    /// <c>EmbeddingLogVariance</c>, <c>LogLikelihood</c> (IWAE at <see cref="OnnxExportOptions.LogLikelihoodSampleCount"/>
    /// with the shared noise of <see cref="OnnxExportOptions.Seed"/>) and <c>Reconstruction</c>. Written atomically.
    /// </summary>
    public void ExportOnnx(string path, OnnxExportOptions? options = null) =>
        AtomicFile.Write(path, "ONNX model", stream => ExportOnnx(stream, options));

    /// <inheritdoc cref="ExportOnnx(string, OnnxExportOptions?)"/>
    public void ExportOnnx(Stream stream, OnnxExportOptions? options = null) =>
        OnnxModelWriter.Write(stream, options, detector: false, checkedOptions => VaeOnnxExport.Build(this, checkedOptions));

    public void Dispose() => _backend.Dispose();

    private void CheckInput(ReadOnlySpan<float> x, int rows, string name) =>
        InputValidation.CheckBatch(x, rows, InputSize, Layout.Decoder, name);

    private static void CheckOutput(Span<float> output, int length, string name)
    {
        if (output.Length < length)
            throw new ArgumentException($"The output span needs room for {length} values, it has {output.Length}.", name);
    }
}
