using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Hosting;
using ConnectionTools.Storage;
using ConnectionTools.Text;

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

        /// <summary>
        /// Runs <paramref name="work"/> for each target, each as one <see cref="PerItem"/>. A name with wildcards (as in
        /// Stop-Service -Name) stands for every connection that is not removed and whose name matches, in name order; a
        /// pattern that matches nothing is not an error (a plain name that matches nothing is, when resolved).
        /// <paramref name="checkMatches"/> may refuse a pattern's matches as a whole (Set-Connection -NewName: one at most).
        /// </summary>
        public static void ForEach(IHostContext host, ConnectionStore store, IEnumerable<ConnectionTarget> targets, Action<ConnectionTarget> work, Action<string, IReadOnlyList<Connection>>? checkMatches = null)
        {
            foreach (var target in targets)
            {
                if (target.Name is null || target.Id != null || target.Connection != null || !WildcardPattern.ContainsWildcards(target.Name))
                {
                    PerItem.Run(host, () => work(target));
                    continue;
                }

                var matches = Match(store, target.Name);
                if (matches.Count == 0)
                {
                    host.WriteVerbose($"No connection matches '{target.Name}'; nothing to do for it.");
                    continue;
                }

                var accepted = checkMatches is null;
                if (checkMatches != null)
                {
                    PerItem.Run(host, () =>
                    {
                        checkMatches(target.Name, matches);
                        accepted = true;
                    });
                }

                if (!accepted)
                {
                    continue;
                }

                foreach (var match in matches)
                {
                    PerItem.Run(host, () => work(ConnectionTarget.ByMatch(match, target.Name)));
                }
            }
        }

        /// <summary>The connections that are not removed whose names match the wildcard pattern, in name order.</summary>
        public static IReadOnlyList<Connection> Match(ConnectionStore store, string pattern)
        {
            var wildcard = WildcardPattern.Parse(pattern);
            return store.List(new ConnectionFilter())
                .Where(c => c.Status != ConnectionStatus.Removed && wildcard.IsMatch(c.Name))
                .OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase)
                .ToList();
        }
    }
}
