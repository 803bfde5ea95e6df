using System;
using System.IO;
using System.Net;
using System.Reflection;
using System.Runtime.InteropServices;
using ConnectionTools.Errors;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// Store engines in assemblies of their own, loaded the first time a store needs one: a SQLite-only session never loads
    /// Npgsql. Assembly.Load from here resolves in Core's own load context, so in PowerShell 7 the engine and its dependencies
    /// come from the module's dependencies folder, beside Core.
    /// </summary>
    internal static class ExternalEngines
    {
        private const string PostgresAssembly = "ConnectionTools.Storage.PostgreSql";
        private const string PostgresFactory = "ConnectionTools.Storage.PostgreSql.PostgresEngine";

        public static StoreEngine Postgres(string connectionString, NetworkCredential? credential, bool mayCreate, string origin)
        {
            if (RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal))
            {
                throw Unavailable("Windows PowerShell 5.1 runs on .NET Framework, and the PostgreSQL engine (Npgsql) needs .NET 8 or later", null);
            }

            Type factory;
            try
            {
                factory = Assembly.Load(new AssemblyName(PostgresAssembly)).GetType(PostgresFactory, throwOnError: true)!;
            }
            catch (Exception e) when (e is FileNotFoundException || e is FileLoadException || e is BadImageFormatException || e is TypeLoadException)
            {
                throw Unavailable($"its assembly could not be loaded ({e.Message})", e);
            }

            var create = factory.GetMethod("Create", BindingFlags.Public | BindingFlags.Static)
                ?? throw Unavailable($"{PostgresFactory}.Create is missing", null);
            try
            {
                return (StoreEngine)create.Invoke(null, new object?[] { connectionString, credential, mayCreate, origin })!;
            }
            catch (TargetInvocationException e) when (e.InnerException != null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }
        }

        private static ConnectionToolsException Unavailable(string reason, Exception? inner) => new ConnectionToolsException(
            ErrorIds.StoreEngineUnavailable,
            ErrorKind.ResourceUnavailable,
            $"A PostgreSQL store cannot be used here: {reason}.",
            "PostgreSQL",
            "Use PowerShell 7.4 or later (or the node host) for a PostgreSQL store; Windows PowerShell 5.1 works with SQLite stores.",
            inner);
    }
}
