using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML.Vae.Engine.LibTorch;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// The C interface as the binding sees it against the shim that was built: every enumeration value maps to the
/// header's constant of the same name, and every structure has the size the shim was compiled with. Needs the shim.
/// </summary>
[TestClass]
public sealed class LibTorchAbiTests
{
    [TestMethod]
    public void EveryEnumerationValueMapsToTheShimsConstantOfTheSameName()
    {
        var library = LibTorchLibrary.Shared;
        int checkedValues = 0;
        void Check<T>(string group, Func<T, int> map) where T : struct, Enum
        {
            foreach (T value in Enum.GetValues<T>())
            {
                string name = $"VAE_{group}_{ScreamingSnake(value.ToString())}";
                Assert.AreEqual(library.Constant(name), map(value), $"{typeof(T).Name}.{value} against {name}");
                checkedValues++;
            }
        }
        Check<Activation>("ACTIVATION", NativeConstants.Of);
        Check<DecoderKind>("DECODER", NativeConstants.Of);
        Check<LatentKind>("LATENT", NativeConstants.Of);
        Check<PriorKind>("PRIOR", NativeConstants.Of);
        Check<TrainingObjective>("OBJECTIVE", NativeConstants.Of);
        Check<GradientEstimator>("ESTIMATOR", NativeConstants.Of);
        Assert.AreEqual(19, checkedValues);
        Assert.AreEqual(LibTorchLibrary.AbiVersion, library.Constant("VAE_ABI_VERSION"));
        var e = Assert.ThrowsExactly<ArgumentException>(() => library.Constant("VAE_PRIOR_NONE"));
        StringAssert.Contains(e.Message, "'VAE_PRIOR_NONE' is not a constant");
    }

    [TestMethod]
    public void StructuresHaveTheShimsSizes()
    {
        var library = LibTorchLibrary.Shared;
        void Check<T>(string name) where T : unmanaged
        {
            Assert.AreEqual(library.StructureSize(name), Unsafe.SizeOf<T>(), name);
            Assert.AreEqual(library.StructureSize(name), Marshal.SizeOf<T>(), $"{name} as marshalled");
        }
        Check<NativeDenseLayer>("vae_dense_layer");
        Check<NativeArchitecture>("vae_architecture");
        Check<NativeAdam>("vae_adam");
        Check<NativeObjective>("vae_objective");
        Check<NativeLoopSettings>("vae_loop_settings");
        Check<NativeLoopReport>("vae_loop_report");
        Assert.ThrowsExactly<ArgumentException>(() => library.StructureSize("vae_model"));
    }

    /// <summary>LearnedGaussian -> LEARNED_GAUSSIAN: the header's spelling of a C# name.</summary>
    private static string ScreamingSnake(string name)
    {
        var text = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i])) text.Append('_');
            text.Append(char.ToUpperInvariant(name[i]));
        }
        return text.ToString();
    }
}
