using Microsoft.ML.Data;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// Maps one row at a time (what <c>mlContext.Model.CreatePredictionEngine</c> uses): a row's scores are computed when
/// one of its added columns is first read, and kept until the input row moves.
/// </summary>
internal sealed class ScoredRowMapper(DataViewSchema inputSchema, VaeTransformerBase transformer, DataViewSchema outputSchema) : IRowToRowMapper
{
    private readonly VaeTransformerBase _transformer = transformer;

    public DataViewSchema InputSchema { get; } = inputSchema;

    public DataViewSchema OutputSchema { get; } = outputSchema;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var dependencies = dependingColumns.Where(c => c.Index < InputSchema.Count).Select(c => InputSchema[c.Index]).ToList();
        if (dependingColumns.Any(c => c.Index >= InputSchema.Count))
            dependencies.Add(InputSchema[_transformer.InputColumnName]);
        return dependencies.Distinct();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        ArgumentNullException.ThrowIfNull(input);
        var active = activeColumns.Select(c => c.Index).ToHashSet();
        var added = _transformer.AddedColumns.Where((_, i) => active.Contains(InputSchema.Count + i)).ToArray();
        return new Row(this, input, added);
    }

    private sealed class Row : DataViewRow
    {
        private readonly ScoredRowMapper _mapper;
        private readonly DataViewRow _input;
        private readonly ScoredBatch? _scores;
        private readonly FeatureReader? _reader;
        private readonly Delegate?[] _getters;
        private long _scoredPosition = -1;

        public Row(ScoredRowMapper mapper, DataViewRow input, AddedColumn[] added)
        {
            _mapper = mapper;
            _input = input;
            var columns = mapper._transformer.AddedColumns;
            _getters = new Delegate?[columns.Length];
            if (added.Length == 0)
                return;
            _scores = new ScoredBatch(mapper._transformer, 1, added);
            _reader = new FeatureReader(input, input.Schema[mapper._transformer.InputColumnName]);
            foreach (var column in added)
                _getters[Array.IndexOf(columns, column)] = column.MakeGetter(ReadCurrent);
        }

        public override DataViewSchema Schema => _mapper.OutputSchema;

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < _mapper.InputSchema.Count ? _input.IsColumnActive(_input.Schema[column.Index]) : _getters[Added(column)] is not null;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < _mapper.InputSchema.Count)
                return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            var getter = _getters[Added(column)]
                ?? throw new InvalidOperationException($"Column '{column.Name}' is not active in this row: ask for it in GetRow's activeColumns.");
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; it cannot be read as {typeof(TValue).Name}.");
        }

        private ReadOnlySpan<float> ReadCurrent(int slot)
        {
            if (_scoredPosition != _input.Position)
            {
                _reader!.Read(_scores!.Features(0));
                _scores.Score(1, _input.Position);
                _scoredPosition = _input.Position;
            }
            return _scores!.Read(slot);
        }

        private int Added(DataViewSchema.Column column) => column.Index - _mapper.InputSchema.Count;
    }
}
