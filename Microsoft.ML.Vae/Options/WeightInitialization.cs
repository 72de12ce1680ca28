namespace Microsoft.ML.Vae;

/// <summary>How the dense layers' weights and biases are drawn before training.</summary>
public enum WeightInitialization
{
    /// <summary>Glorot (Xavier) uniform weights, U(±√(6 / (fan-in + fan-out))), zero biases. The default.</summary>
    Glorot,
    /// <summary>
    /// Weights and biases U(±1/√fan-in), PyTorch's <c>nn.Linear</c> default: about half Glorot's scale on this
    /// library's layer shapes. With a large decoder variance it keeps more latent dimensions in use (docs/anomaly.md).
    /// </summary>
    FanInUniform,
}
