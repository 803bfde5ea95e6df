using System;
using System.Diagnostics;
using System.Threading;
using ConnectionTools.Errors;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Storage
{
    /// <summary>Riding out a busy store, and turning SQLite's errors into the module's.</summary>
    public sealed partial class ConnectionStore
    {
        /// <summary>
        /// Runs a whole unit of work again while SQLite reports the store busy or locked, with jittered backoff,
        /// so that contention between processes never reaches the user as "database is locked".
        /// </summary>
        private T Retry<T>(Func<T> work)
        {
            var clock = Stopwatch.StartNew();
            var delay = 5;
            while (true)
            {
                try
                {
                    return work();
                }
                catch (SqliteException e) when (IsBusy(e) && clock.Elapsed < _options.RetryBudget)
                {
                    int wait;
                    lock (_jitter)
                    {
                        wait = _jitter.Next(delay, delay * 2);
                    }

                    Thread.Sleep(wait);
                    delay = Math.Min(delay * 2, 200);
                }
                catch (SqliteException e)
                {
                    throw Translate(e);
                }
            }
        }

        /// <summary>Steps the reader; once rows have been handed out, a busy store is an error rather than a silent retry.</summary>
        private bool ReadNext(SqliteDataReader reader, bool visited)
        {
            try
            {
                return reader.Read();
            }
            catch (SqliteException e) when (visited && IsBusy(e))
            {
                throw Translate(e);
            }
        }

        private static bool IsBusy(SqliteException e) => e.SqliteErrorCode == 5 || e.SqliteErrorCode == 6;

        private ConnectionToolsException Translate(SqliteException e)
        {
            switch (e.SqliteErrorCode)
            {
                case 5:
                case 6:
                    return new ConnectionToolsException(
                        ErrorIds.StoreBusy,
                        ErrorKind.ResourceBusy,
                        $"The store '{Path}' stayed locked by another process for {_options.RetryBudget.TotalSeconds:0} seconds. Nothing was changed.",
                        Path,
                        "Try again when the other process has finished.",
                        e);
                case 8:
                    return new ConnectionToolsException(
                        ErrorIds.StoreReadOnly,
                        ErrorKind.PermissionDenied,
                        $"The store '{Path}' is read-only for this user. Nothing was changed.",
                        Path,
                        "Give this user write access to the store file and its folder.",
                        e);
                case 11:
                    _shared.MarkDamaged(e.Message);
                    return StoreFile.Corrupt(Path, e);
                case 26:
                    return StoreFile.NotAStore(Path, e);
                case 14:
                    return StoreFile.Unavailable(Path, e);
                case 23:
                    return StoreFile.AccessDenied(Path, e);
                default:
                    return new ConnectionToolsException(
                        ErrorIds.StoreFailed,
                        ErrorKind.WriteError,
                        $"The store '{Path}' reported an error: {e.Message} Nothing was changed.",
                        Path,
                        null,
                        e);
            }
        }
    }
}
