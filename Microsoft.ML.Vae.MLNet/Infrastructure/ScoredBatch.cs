namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// Up to <c>capacity</c> rows of features and their scores: a cursor fills it a batch at a time, the row mapper one row
/// at a time. Only the slots some active column reads are computed.
/// </summary>
internal sealed class ScoredBatch
{
    private readonly VaeTransformerBase _transformer;
    private readonly bool[] _slotsNeeded;
    private readonly float[] _features;
    private readonly float[][] _slots;
    private readonly int _inputSize;

    public ScoredBatch(VaeTransformerBase transformer, int capacity, IEnumerable<AddedColumn> activeColumns)
    {
        _transformer = transformer;
        _inputSize = transformer.Model.InputSize;
        var widths = transformer.SlotWidths;
        _slotsNeeded = new bool[widths.Length];
        foreach (var column in activeColumns)
            _slotsNeeded[column.Slot] = true;
        _features = new float[capacity * _inputSize];
        _slots = widths.Select((width, slot) => _slotsNeeded[slot] ? new float[capacity * width] : []).ToArray();
        Capacity = capacity;
    }

    public int Capacity { get; }

    /// <summary>Rows scored by the last <see cref="Score"/>.</summary>
    public int Count { get; private set; }

    /// <summary>Row of the batch whose values <see cref="Read"/> returns.</summary>
    public int Current { get; set; }

    public Span<float> Features(int row) => _features.AsSpan(row * _inputSize, _inputSize);

    /// <summary>Scores the first <paramref name="rows"/> rows; <paramref name="firstPosition"/> (the first row's position in the data) only names rows in errors.</summary>
    public void Score(int rows, long firstPosition)
    {
        _transformer.Score(_features.AsSpan(0, rows * _inputSize), rows, firstPosition, _slotsNeeded, _slots);
        Count = rows;
        Current = 0;
    }

    public ReadOnlySpan<float> Read(int slot)
    {
        int width = _transformer.SlotWidths[slot];
        return _slots[slot].AsSpan(Current * width, width);
    }
}
