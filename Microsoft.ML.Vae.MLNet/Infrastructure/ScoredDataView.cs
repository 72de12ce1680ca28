using Microsoft.ML.Data;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// The lazy output of a VAE transformer: the input's columns plus the added ones. Nothing is computed until a cursor
/// moves, and then only for the added columns it asks for, a batch of rows at a time.
/// </summary>
/// <remarks>
/// A cursor runs two cursors over the input, which an <see cref="IDataView"/> guarantees visit the same rows in the same
/// order: one reads the next batch of features ahead, the other stays on the current row for the passed-through columns.
/// That is why the view does not shuffle (<see cref="CanShuffle"/> is false; ML.NET shuffles upstream instead).
/// </remarks>
internal sealed class ScoredDataView(IDataView source, VaeTransformerBase transformer, DataViewSchema schema) : IDataView
{
    private readonly IDataView _source = source;
    private readonly VaeTransformerBase _transformer = transformer;

    public DataViewSchema Schema { get; } = schema;

    public bool CanShuffle => false;

    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        var passedThrough = _source.Schema.Where(c => needed.Contains(c.Index));
        var added = _transformer.AddedColumns.Where((_, i) => needed.Contains(_source.Schema.Count + i)).ToArray();
        var current = _source.GetRowCursor(passedThrough);
        if (added.Length == 0)
            return new Cursor(this, current, null, null, []);
        var input = _source.Schema[_transformer.InputColumnName];
        var ahead = _source.GetRowCursor([input]);
        return new Cursor(this, current, ahead, new FeatureReader(ahead, input), added);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ScoredDataView _view;
        private readonly DataViewRowCursor _current;
        private readonly DataViewRowCursor? _ahead;
        private readonly FeatureReader? _reader;
        private readonly ScoredBatch? _batch;
        private readonly Delegate?[] _getters;

        public Cursor(ScoredDataView view, DataViewRowCursor current, DataViewRowCursor? ahead, FeatureReader? reader, AddedColumn[] added)
        {
            _view = view;
            _current = current;
            _ahead = ahead;
            _reader = reader;
            _getters = new Delegate?[view._transformer.AddedColumns.Length];
            if (added.Length == 0)
                return;
            _batch = new ScoredBatch(view._transformer, view._transformer.BatchSize, added);
            foreach (var column in added)
                _getters[Array.IndexOf(view._transformer.AddedColumns, column)] = column.MakeGetter(_batch.Read);
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _current.Position;

        public override long Batch => _current.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _current.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < _view._source.Schema.Count ? _current.IsColumnActive(_current.Schema[column.Index]) : _getters[Added(column)] is not null;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < _view._source.Schema.Count)
                return _current.GetGetter<TValue>(_current.Schema[column.Index]);
            var getter = _getters[Added(column)]
                ?? throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor: ask for it in GetRowCursor's columnsNeeded.");
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; it cannot be read as {typeof(TValue).Name}.");
        }

        public override bool MoveNext()
        {
            if (!_current.MoveNext())
                return false;
            if (_batch is null)
                return true;
            if (++_batch.Current >= _batch.Count)
                ReadAhead();
            return true;
        }

        private void ReadAhead()
        {
            long first = _current.Position;
            int rows = 0;
            while (rows < _batch!.Capacity && _ahead!.MoveNext())
                _reader!.Read(_batch.Features(rows++));
            if (rows == 0)
                throw new InvalidOperationException("The input data returned fewer rows on a second cursor than on the first: " +
                    "VAE transformers need an input that yields the same rows every time it is read.");
            _batch.Score(rows, first);
        }

        private int Added(DataViewSchema.Column column) => column.Index - _view._source.Schema.Count;

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _current.Dispose();
                _ahead?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
