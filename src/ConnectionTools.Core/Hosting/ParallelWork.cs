using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;

namespace ConnectionTools.Hosting
{
    /// <summary>
    /// Runs network-bound work for many items with a throttle, while every host call (output, errors, warnings, progress)
    /// happens on the calling thread, as PowerShell requires. Workers talk to the host through a <see cref="WorkerHost"/>.
    /// </summary>
    internal static class ParallelWork
    {
        public static void Run<T>(IHostContext host, IReadOnlyList<T> items, int throttleLimit, string activity, Func<T, WorkerHost, CancellationToken, Task> work)
        {
            if (items.Count == 0)
            {
                return;
            }

            var throttle = Math.Max(1, throttleLimit);
            var cancellation = host.CancellationToken;
            using (var messages = new BlockingCollection<Action<IHostContext>>())
            using (var gate = new SemaphoreSlim(throttle))
            {
                var failures = new ConcurrentQueue<Exception>();
                var done = 0;
                var tasks = items.Select(item => Task.Run(async () =>
                {
                    await gate.WaitAsync(cancellation).ConfigureAwait(false);
                    try
                    {
                        var worker = new WorkerHost(messages);
                        try
                        {
                            await work(item, worker, cancellation).ConfigureAwait(false);
                        }
                        catch (ConnectionToolsException e) when (!PerItem.IsStoreWide(e))
                        {
                            worker.WriteError(e);
                        }
                    }
                    catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
                    {
                    }
                    catch (Exception e)
                    {
                        failures.Enqueue(e);
                    }
                    finally
                    {
                        gate.Release();
                        var finished = Interlocked.Increment(ref done);
                        TryAdd(messages, h => h.WriteProgress(new ProgressInfo(1, activity, $"{finished} of {items.Count}", finished * 100 / items.Count)));
                    }
                }, CancellationToken.None)).ToArray();

                Task.WhenAll(tasks).ContinueWith(_ => messages.CompleteAdding(), TaskScheduler.Default);
                foreach (var message in messages.GetConsumingEnumerable())
                {
                    message(host);
                }

                host.WriteProgress(new ProgressInfo(1, activity, "Done", 100, completed: true));
                if (failures.TryDequeue(out var first))
                {
                    // A store-wide error, or a bug: it would fail every item the same way, so it ends the command.
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
                }

                cancellation.ThrowIfCancellationRequested();
            }
        }

        /// <summary>
        /// Runs one piece of async work on the thread pool while the calling thread carries out its host calls, such as the
        /// device-code prompt it shows while it waits. Returns the result or throws what the work threw.
        /// </summary>
        public static T RunOne<T>(IHostContext host, Func<WorkerHost, CancellationToken, Task<T>> work)
        {
            var cancellation = host.CancellationToken;
            using (var messages = new BlockingCollection<Action<IHostContext>>())
            {
                var worker = new WorkerHost(messages);
                var task = Task.Run(() => work(worker, cancellation), cancellation);
                task.ContinueWith(_ => messages.CompleteAdding(), TaskScheduler.Default);
                foreach (var message in messages.GetConsumingEnumerable())
                {
                    message(host);
                }

                return task.GetAwaiter().GetResult();
            }
        }

        private static void TryAdd(BlockingCollection<Action<IHostContext>> messages, Action<IHostContext> message)
        {
            try
            {
                messages.Add(message);
            }
            catch (InvalidOperationException)
            {
                // Completed already: nothing is listening any more.
            }
        }
    }

    /// <summary>What a worker may ask of the host: queued, and carried out on the calling thread in order.</summary>
    internal sealed class WorkerHost
    {
        private readonly BlockingCollection<Action<IHostContext>> _messages;

        public WorkerHost(BlockingCollection<Action<IHostContext>> messages)
        {
            _messages = messages;
        }

        public void WriteObject(object value) => _messages.Add(h => h.WriteObject(value));

        public void WriteError(ConnectionToolsException error) => _messages.Add(h => h.WriteError(error));

        public void WriteWarning(string message) => _messages.Add(h => h.WriteWarning(message));

        public void WriteVerbose(string message) => _messages.Add(h => h.WriteVerbose(message));
    }
}
