using System.Runtime.InteropServices;

namespace Microsoft.ML.Vae.Engine.LibTorch;

/// <summary>Owns one native <c>vae_model</c>; freed once, on disposal or finalisation.</summary>
internal sealed class LibTorchModelHandle : SafeHandle
{
    private readonly LibTorchLibrary _library;

    public LibTorchModelHandle(LibTorchLibrary library) : base(IntPtr.Zero, ownsHandle: true) => _library = library;

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes ownership of a model the shim has just created.</summary>
    public void Attach(nint model) => SetHandle(model);

    /// <summary>Keeps the model alive for the duration of one native call (dispose the lease afterwards).</summary>
    public Lease Acquire() => new(this);

    protected override bool ReleaseHandle()
    {
        _library.DestroyModel(handle);
        return true;
    }

    public readonly ref struct Lease
    {
        private readonly SafeHandle _owner;

        public Lease(SafeHandle owner)
        {
            bool added = false;
            owner.DangerousAddRef(ref added); // throws ObjectDisposedException once the model is disposed
            _owner = owner;
            Pointer = owner.DangerousGetHandle();
        }

        public nint Pointer { get; }

        public void Dispose() => _owner.DangerousRelease();
    }
}
