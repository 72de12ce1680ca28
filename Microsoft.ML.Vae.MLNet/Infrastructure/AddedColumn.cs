using Microsoft.ML.Data;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>Reads the current row's values of one score slot (see <see cref="VaeTransformerBase"/>).</summary>
internal delegate ReadOnlySpan<float> SlotReader(int slot);

/// <summary>A column a VAE transformer adds to its input, read from one of the transformer's score slots.</summary>
internal abstract class AddedColumn(string name, int slot)
{
    public string Name { get; } = name;

    public int Slot { get; } = slot;

    public abstract DataViewType Type { get; }

    public abstract Delegate MakeGetter(SlotReader read);
}

/// <summary>A vector of float: the whole slot (the embedding).</summary>
internal sealed class VectorColumn(string name, int slot, int size) : AddedColumn(name, slot)
{
    public override DataViewType Type { get; } = new VectorDataViewType(NumberDataViewType.Single, size);

    public override Delegate MakeGetter(SlotReader read) => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
    {
        var source = read(Slot);
        var editor = VBufferEditor.Create(ref value, source.Length);
        source.CopyTo(editor.Values);
        value = editor.Commit();
    });
}

/// <summary>A float: the slot's single value (log-likelihood, anomaly score).</summary>
internal sealed class SingleColumn(string name, int slot) : AddedColumn(name, slot)
{
    public override DataViewType Type => NumberDataViewType.Single;

    public override Delegate MakeGetter(SlotReader read) => (ValueGetter<float>)((ref float value) => value = read(Slot)[0]);
}

/// <summary>A bool: whether the slot's single value exceeds a threshold (predicted anomaly).</summary>
internal sealed class ThresholdColumn(string name, int slot, float threshold) : AddedColumn(name, slot)
{
    public override DataViewType Type => BooleanDataViewType.Instance;

    public override Delegate MakeGetter(SlotReader read) => (ValueGetter<bool>)((ref bool value) => value = read(Slot)[0] > threshold);
}
