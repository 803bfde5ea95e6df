using System;
using System.Collections.Generic;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Storage;

namespace ConnectionTools.Connections
{
    /// <summary>How every command finds the connections it was given, and reports a failure on one without stopping the rest.</summary>
    internal static class ConnectionTargets
    {
        public static Connection Resolve(ConnectionStore store, ConnectionTarget target)
        {
            if (target.Connection != null)
            {
                return store.Find(target.Connection.Id) ?? throw ConnectionStore.NotFound(target.Connection.Name);
            }

            if (target.Id != null)
            {
                return store.Find(target.Id.Value) ?? throw ConnectionStore.NotFound(target.Id.Value.ToString());
            }

            return store.FindByName(target.Name ?? "") ?? throw ConnectionStore.NotFound(target.Name ?? "");
        }

        /// <summary>Runs <paramref name="work"/> for each target, each as one <see cref="PerItem"/>.</summary>
        public static void ForEach(IHostContext host, IEnumerable<ConnectionTarget> targets, Action<ConnectionTarget> work)
        {
            foreach (var target in targets)
            {
                PerItem.Run(host, () => work(target));
            }
        }
    }
}
