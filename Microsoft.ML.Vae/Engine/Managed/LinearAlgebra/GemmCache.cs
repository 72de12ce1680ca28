using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>The per-core L2 cache size that <see cref="GemmBlocked"/> sizes its row blocks by.</summary>
internal static class GemmCache
{
    /// <summary>
    /// Used where the size cannot be read: the smallest per-core L2 of current x64 server and desktop cores
    /// (Intel client cores before Alder Lake have 256 KiB; AMD Zen 2/3 512 KiB, Zen 4/5 1 MiB).
    /// </summary>
    public const int DefaultL2Bytes = 256 * 1024;

    /// <summary>Per-core L2 bytes from CPUID leaf 0x80000006 (ECX bits 31–16, in KiB; AMD and Intel), else the default.</summary>
    public static int L2Bytes { get; } = ReadL2Bytes();

    private static int ReadL2Bytes()
    {
        const uint highestExtendedLeaf = 0x80000000, l2Leaf = 0x80000006;
        if (!X86Base.IsSupported || (uint)X86Base.CpuId(unchecked((int)highestExtendedLeaf), 0).Eax < l2Leaf)
            return DefaultL2Bytes;
        int kib = (int)((uint)X86Base.CpuId(unchecked((int)l2Leaf), 0).Ecx >> 16);
        // A hypervisor may report nothing; beyond 64 MiB is not a per-core L2.
        return kib is > 0 and <= 64 * 1024 ? kib * 1024 : DefaultL2Bytes;
    }
}
