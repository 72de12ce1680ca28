using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Engine.Managed.Latents;
using Microsoft.ML.Vae.Engine.Managed.Likelihoods;
using Microsoft.ML.Vae.Engine.Managed.Priors;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Onnx;

/// <summary>
/// One trained <see cref="VaeModel"/> as ONNX subgraphs: encoder, decoder and the importance-weighted log p(x) with
/// shared noise, each mirroring the managed engine's formulas (DenseStack, GaussianLatents, ObservationLikelihood,
/// the priors, GumbelSoftmax). The weights become constants of the main graph once; every method adds nodes to the
/// graph it is given (the main graph or a Scan body).
/// </summary>
internal sealed class VaeOnnxGraph
{
    /// <summary>Sample rows (rows × K) one chunk of the log-likelihood pushes through the decoder, as the managed engine's passes.</summary>
    private const int SampleRowsPerChunk = 4096;

    private readonly VaeModel _model;
    private readonly ParameterLayout _layout;
    private readonly OnnxGraphBuilder _main;
    private readonly Dictionary<ParameterTensor, string> _constants = [];

    public VaeOnnxGraph(OnnxGraphBuilder main, VaeModel model)
    {
        _main = main;
        _model = model;
        _layout = model.Layout;
    }

    private bool Categorical => _layout.Latent == LatentKind.Categorical;

    /// <summary>
    /// Posterior mean and log-variance <c>[n, LatentSize]</c> of a batch <c>[n, F]</c>, as <see cref="VaeModel.Embed(FeatureMatrix)"/>
    /// (class probabilities and log(π(1 − π)) for categorical latents).
    /// </summary>
    public (string Mean, string LogVariance) Embed(OnnxGraphBuilder g, string x)
    {
        var hidden = EncoderHidden(g, x);
        if (!Categorical) return (Dense(g, _layout.EncoderMean, hidden), Dense(g, _layout.EncoderLogVariance, hidden));
        int categories = _layout.CategoryCount;
        var logProbabilities = CategoricalLogProbabilities(g, hidden);
        var probabilities = g.Exp(logProbabilities);
        // log(1 − π_i) as the log of the other classes' summed probabilities: exact where π_i is close to 1.
        var others = new float[categories * categories];
        for (int i = 0; i < categories; i++)
            for (int j = 0; j < categories; j++) others[i * categories + j] = i == j ? 0 : 1;
        var logOthers = g.Log(g.MatMul(probabilities, g.Constant(others, categories, categories)));
        return (g.Reshape(probabilities, -1, _layout.LatentSize), g.Reshape(g.Add(logProbabilities, logOthers), -1, _layout.LatentSize));
    }

    /// <summary>Decoder output for latent rows <c>[n, LatentSize]</c>: probabilities (Bernoulli) or means (Gaussian).</summary>
    public string Decode(OnnxGraphBuilder g, string z)
    {
        var output = Dense(g, _layout.DecoderOutput, DecoderHidden(g, z));
        return _layout.Decoder == DecoderKind.Bernoulli ? g.Sigmoid(output) : output;
    }

    /// <summary>
    /// log p(x) per row <c>[N]</c> of a batch <c>[N, F]</c>: log (1/K) Σ_k w_k with the noise of
    /// <see cref="VaeModel.SharedNoise"/> stored as a constant, so a row's value depends on its features alone. Rows are
    /// processed in chunks of about 4096 sample rows, so memory does not grow with N.
    /// </summary>
    public string LogLikelihood(string x, int sampleCount, int seed)
    {
        int latent = _layout.LatentSize;
        var noise = _model.SharedNoise(seed, 0, sampleCount);
        string perturbation;
        string logQOffset = "";
        if (Categorical)
        {
            var negatedGumbel = noise.Select(GumbelSoftmax.NegatedGumbel).ToArray();
            perturbation = _main.Constant(negatedGumbel, sampleCount, _layout.LatentVariables, _layout.CategoryCount);
        }
        else
        {
            perturbation = _main.Constant(noise, sampleCount, latent);
            // −log q(z|x) = ½ (Σ ε² + Σ log σ² + D log 2π): the ε part per sample.
            var offset = new float[sampleCount];
            float latentConstant = latent * LogSpace.LogTwoPi;
            for (int k = 0; k < sampleCount; k++)
                offset[k] = System.Numerics.Tensors.TensorPrimitives.SumOfSquares(noise.AsSpan(k * latent, latent)) + latentConstant;
            logQOffset = _main.Constant(offset, sampleCount);
        }
        long rowLimit = Math.Max(1, SampleRowsPerChunk / sampleCount);
        return OnnxRowChunks.Map(_main, x, _layout.InputSize, rowLimit, (g, chunk) =>
        {
            var (z, logPriorMinusLogQ) = Categorical
                ? SampleCategorical(g, chunk, perturbation, sampleCount)
                : SampleGaussian(g, chunk, perturbation, logQOffset, sampleCount);
            var logWeights = g.Add(LogObservation(g, chunk, DecoderHidden(g, z), sampleCount), logPriorMinusLogQ);
            return g.Sub(g.ReduceLogSumExp(logWeights, 1), g.Scalar(MathF.Log(sampleCount)));
        });
    }

    /// <summary>z = μ + σ·ε for every row and sample <c>[rows·K, D]</c>, and log p(z) − log q(z|x) <c>[rows, K]</c>.</summary>
    private (string Z, string LogPriorMinusLogQ) SampleGaussian(OnnxGraphBuilder g, string x, string noise, string logQOffset, int k)
    {
        int latent = _layout.LatentSize;
        var hidden = EncoderHidden(g, x);
        var mean = Dense(g, _layout.EncoderMean, hidden);
        var logVariance = Dense(g, _layout.EncoderLogVariance, hidden);
        var sigma = g.Exp(g.Mul(logVariance, g.Scalar(0.5f)));
        var z = g.Add(g.Unsqueeze(mean, 1), g.Mul(g.Unsqueeze(sigma, 1), noise)); // [rows, K, D]
        var logQ = g.Mul(g.Add(g.Unsqueeze(g.ReduceSum(logVariance, 1), 1), logQOffset), g.Scalar(-0.5f));
        return (g.Reshape(z, -1, latent), g.Sub(LogPrior(g, z), logQ));
    }

    /// <summary>
    /// Hard Gumbel-max samples <c>[rows·K, G·C]</c> (one-hot of argmax(log π − log(−log u)), first maximum on ties as
    /// the engine) and log p(h) − log q(h|x) <c>[rows, K]</c> with the uniform prior.
    /// </summary>
    private (string Z, string LogPriorMinusLogQ) SampleCategorical(OnnxGraphBuilder g, string x, string negatedGumbel, int k)
    {
        int categories = _layout.CategoryCount;
        var logProbabilities = g.Unsqueeze(CategoricalLogProbabilities(g, EncoderHidden(g, x)), 1); // [rows, 1, G, C]
        var choice = g.ArgMax(g.Sub(logProbabilities, negatedGumbel), 3); // [rows, K, G, 1]
        var classes = Enumerable.Range(0, categories).Select(i => (long)i).ToArray();
        var hard = g.Cast(g.Equal(choice, g.Constant(classes, categories)), Protos.TensorProto.Types.DataType.Float);
        var logQ = g.ReduceSum(g.Mul(hard, logProbabilities), 2, 3);
        float logPrior = -_layout.LatentVariables * MathF.Log(categories);
        return (g.Reshape(hard, -1, _layout.LatentSize), g.Sub(g.Scalar(logPrior), logQ));
    }

    /// <summary>log p(z) <c>[rows, K]</c> of samples <c>[rows, K, D]</c> under the model's prior (a diagonal Gaussian mixture).</summary>
    private string LogPrior(OnnxGraphBuilder g, string z)
    {
        var prior = PriorMixture();
        int latent = prior.Dimensions, components = prior.Components;
        if (components == 1)
        {
            var centred = _layout.Prior == PriorKind.Standard ? z : g.Sub(z, _main.Constant(prior.Means, latent));
            var quadratic = g.Squeeze(g.MatMul(g.Mul(centred, centred), _main.Constant(prior.InverseVariances, latent, 1)), 2);
            return g.Add(g.Mul(quadratic, g.Scalar(-0.5f)), g.Scalar(prior.LogNormalizers[0]));
        }
        // Σ_d (z − m_c)²/σ²_c = z²·(1/σ²_c) − 2 z·(m_c/σ²_c) + Σ_d m_c²/σ²_c: two products with all components at once.
        var inverse = OnnxGraphBuilder.Transpose(prior.InverseVariances, components, latent);
        var scaledMeans = new float[components * latent];
        var meanTerms = new float[components];
        for (int c = 0; c < components; c++)
            for (int d = 0; d < latent; d++)
            {
                float m = prior.Means[c * latent + d], v = prior.InverseVariances[c * latent + d];
                scaledMeans[d * components + c] = -2 * m * v;
                meanTerms[c] += m * m * v;
            }
        var quadratics = g.Add(g.Add(g.MatMul(g.Mul(z, z), _main.Constant(inverse, latent, components)),
            g.MatMul(z, _main.Constant(scaledMeans, latent, components))), _main.Constant(meanTerms, components));
        var logComponents = g.Add(g.Mul(quadratics, g.Scalar(-0.5f)), _main.Constant(prior.LogNormalizers, components));
        return g.ReduceLogSumExp(logComponents, 2);
    }

    /// <summary>log p(x|z) <c>[rows, K]</c> from the decoder's last hidden layer <c>[rows·K, H]</c> and the rows <c>[rows, F]</c>.</summary>
    private string LogObservation(OnnxGraphBuilder g, string x, string hidden, int k)
    {
        var output = _layout.DecoderOutput;
        int features = _layout.InputSize, width = output.Inputs;
        var weights = _model.Parameters.Slice(output.Weight.Offset, output.Weight.Length);
        var bias = _model.Parameters.Slice(output.Bias.Offset, output.Bias.Length);
        if (_layout.Decoder == DecoderKind.Bernoulli)
        {
            // Σ_f x_f o_f − softplus(o_f), with Σ_f x_f o_f = h·(W x) + b·x: one product per row instead of a pass over [rows·K, F].
            var softplus = g.Reshape(SoftplusSum(g, hidden), -1, k);
            var projected = g.MatMul(x, _main.Constant(OnnxGraphBuilder.Transpose(weights, width, features), features, width)); // [rows, H]
            var inner = g.Squeeze(g.MatMul(g.Reshape(hidden, -1, k, width), g.Unsqueeze(projected, 2)), 2);
            var biasTerm = g.MatMul(x, _main.Constant(bias, features, 1));
            return g.Sub(g.Add(inner, biasTerm), softplus);
        }
        // −½ Σ_f (x_f − o_f)²/σ_f² + constant, with 1/σ folded into the output layer's weights.
        var likelihood = new ObservationLikelihood(_layout, _model.Parameters);
        var inverseSigma = likelihood.InverseVariance.ToArray().Select(MathF.Sqrt).ToArray();
        var scaledWeights = new float[weights.Length];
        for (int h = 0; h < width; h++)
            for (int f = 0; f < features; f++) scaledWeights[h * features + f] = weights[h * features + f] * inverseSigma[f];
        var scaledBias = new float[features];
        for (int f = 0; f < features; f++) scaledBias[f] = bias[f] * inverseSigma[f];
        var scaledOutput = g.Reshape(g.Gemm(hidden, _main.Constant(scaledWeights, width, features), _main.Constant(scaledBias, features)), -1, k, features);
        var scaledX = g.Unsqueeze(g.Mul(x, _main.Constant(inverseSigma, features)), 1);
        var quadratic = g.ReduceSumSquare(g.Sub(scaledX, scaledOutput), 2);
        return g.Add(g.Mul(quadratic, g.Scalar(-0.5f)), g.Scalar(likelihood.GaussianConstant));
    }

    /// <summary>Features whose σ(|o|) one product gathers before a logarithm.</summary>
    private const int SoftplusGroup = 16;

    /// <summary>
    /// Σ_f softplus(o_f) per sample row of the decoder's logits o = h·W + b, as Σ max(o, 0) − Σ log σ(|o|) with ONNX
    /// Runtime's vectorised Relu, Abs and Sigmoid (its Softplus kernel is scalar and took as long as the GEMM before it),
    /// and one logarithm per 16 features: a product of 16 values in (½, 1] cannot underflow. The output layer gets
    /// padding columns (weights 0, bias −100, so max(o, 0) = 0 and σ(|o|) = 1) up to a multiple of 16. σ(|o|) rounds to 1
    /// beyond |o| ≈ 17, where the exact term is below 4e-8 per feature.
    /// </summary>
    private string SoftplusSum(OnnxGraphBuilder g, string hidden)
    {
        var output = _layout.DecoderOutput;
        int features = _layout.InputSize, width = output.Inputs;
        int padded = (features + SoftplusGroup - 1) / SoftplusGroup * SoftplusGroup;
        var weights = new float[width * padded];
        var bias = new float[padded];
        var storedWeights = _model.Parameters.Slice(output.Weight.Offset, output.Weight.Length);
        for (int h = 0; h < width; h++) storedWeights.Slice(h * features, features).CopyTo(weights.AsSpan(h * padded));
        _model.Parameters.Slice(output.Bias.Offset, output.Bias.Length).CopyTo(bias);
        bias.AsSpan(features).Fill(-100f);
        var logits = g.Gemm(hidden, _main.Constant(weights, width, padded), _main.Constant(bias, padded));
        var positive = g.ReduceSum(g.Relu(logits), 1);
        var sigmoids = g.Reshape(g.Sigmoid(g.Abs(logits)), -1, padded / SoftplusGroup, SoftplusGroup);
        var tail = g.ReduceSum(g.Log(g.ReduceProd(sigmoids, 2)), 1);
        return g.Sub(positive, tail);
    }

    private string EncoderHidden(OnnxGraphBuilder g, string x) =>
        _layout.EncoderHidden.Aggregate(x, (input, layer) => g.Activation(_layout.Activation, Dense(g, layer, input)));

    private string DecoderHidden(OnnxGraphBuilder g, string z) =>
        _layout.DecoderHidden.Aggregate(z, (input, layer) => g.Activation(_layout.Activation, Dense(g, layer, input)));

    /// <summary>log π per variable, <c>[n, G, C]</c>.</summary>
    private string CategoricalLogProbabilities(OnnxGraphBuilder g, string hidden) =>
        g.LogSoftmax(g.Reshape(Dense(g, _layout.EncoderMean, hidden), -1, _layout.LatentVariables, _layout.CategoryCount), 2);

    private string Dense(OnnxGraphBuilder g, DenseLayer layer, string input) => g.Gemm(input, Weight(layer.Weight), Weight(layer.Bias));

    /// <summary>A parameter tensor as a main-graph constant (a bias as a vector), added once.</summary>
    private string Weight(ParameterTensor tensor)
    {
        if (_constants.TryGetValue(tensor, out var name)) return name;
        var values = _model.Parameters.Slice(tensor.Offset, tensor.Length);
        name = tensor.Rows == 1 ? _main.Constant(values, tensor.Columns) : _main.Constant(values, tensor.Rows, tensor.Columns);
        _constants[tensor] = name;
        return name;
    }

    /// <summary>The prior as the managed engine builds it (for the VampPrior, the encoder's posteriors at the pseudo-inputs).</summary>
    private DiagonalGaussianMixture PriorMixture()
    {
        using var engine = new ManagedBackend(_layout, threads: 1);
        engine.SetParameters(_model.Parameters);
        return engine.PriorMixture;
    }
}
