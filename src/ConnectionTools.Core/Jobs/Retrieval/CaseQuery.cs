using System;

namespace ConnectionTools.Jobs.Retrieval
{
    /// <summary>What one run retrieves: the cases changed at or after <see cref="Since"/>, oldest first, <see cref="PageSize"/> at a time.</summary>
    public sealed class CaseQuery
    {
        public const int DefaultPageSize = 2000;

        /// <summary>Dataverse's largest page; Salesforce accepts 200 to 2,000 records per batch and clamps to that.</summary>
        public const int MaxPageSize = 5000;

        private readonly int _pageSize = DefaultPageSize;

        /// <summary>The watermark: the ModifiedAt of the newest record already committed. Null retrieves every case.</summary>
        public DateTimeOffset? Since { get; init; }

        /// <summary>Records per page (1 .. <see cref="MaxPageSize"/>), a hint the provider may lower.</summary>
        public int PageSize
        {
            get => _pageSize;
            init
            {
                if (value < 1 || value > MaxPageSize)
                {
                    throw new ArgumentOutOfRangeException(nameof(value), value, $"The page size must be between 1 and {MaxPageSize}.");
                }

                _pageSize = value;
            }
        }
    }
}
