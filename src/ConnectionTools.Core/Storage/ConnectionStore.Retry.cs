using System;
using System.Data.Common;
using System.Diagnostics;
using System.Threading;

namespace ConnectionTools.Storage
{
    /// <summary>Riding out a busy store, and turning the database's errors into the module's (the engine knows which are which).</summary>
    public sealed partial class ConnectionStore
    {
        /// <summary>
        /// Runs a whole unit of work again while the engine reports the store busy (or its server briefly away), with jittered backoff,
        /// so that contention between processes never reaches the user as "database is locked".
        /// </summary>
        private T Retry<T>(Func<T> work)
        {
            var clock = Stopwatch.StartNew();
            var delay = 5;
            var reconnects = 0;
            while (true)
            {
                try
                {
                    return work();
                }
                catch (DbException e) when (reconnects < 2 && _shared.Engine.Reconnect(e))
                {
                    // A connection the pool kept from before a server restart fails on first use; the engine dropped the pool,
                    // and the work runs again on fresh connections. A server still away fails again and is reported.
                    reconnects++;
                    Thread.Sleep(reconnects * 250);
                }
                catch (DbException e) when (_shared.Engine.IsTransient(e) && clock.Elapsed < _options.RetryBudget)
                {
                    int wait;
                    lock (_jitter)
                    {
                        wait = _jitter.Next(delay, delay * 2);
                    }

                    Thread.Sleep(wait);
                    delay = Math.Min(delay * 2, 200);
                }
                catch (DbException e)
                {
                    throw _shared.Engine.Translate(e, _shared, _options.RetryBudget);
                }
            }
        }

        /// <summary>Steps the reader; once rows have been handed out, a busy store is an error rather than a silent retry.</summary>
        private bool ReadNext(DbDataReader reader, bool visited)
        {
            try
            {
                return reader.Read();
            }
            catch (DbException e) when (visited && _shared.Engine.IsTransient(e))
            {
                throw _shared.Engine.Translate(e, _shared, _options.RetryBudget);
            }
        }
    }
}
