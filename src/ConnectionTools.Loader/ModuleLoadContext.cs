using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace ConnectionTools.Loader
{
    /// <summary>
    /// Loads ConnectionTools.Core and its dependencies from the module's dependencies folder into a context of their own,
    /// so another module's YamlDotNet, MSAL or SQLite never clashes with ours. Framework assemblies still come from the
    /// runtime, so types such as Span&lt;T&gt; stay one type. Native libraries come from runtimes/&lt;rid&gt;/native.
    /// </summary>
    public sealed class ModuleLoadContext : AssemblyLoadContext
    {
        private static readonly object Gate = new object();
        private static ModuleLoadContext? _installed;

        private readonly string _dependenciesPath;
        private readonly Dictionary<string, string> _frameworkAssemblies;
        private readonly List<string> _loadedNativeLibraries = new List<string>();
        private readonly Dictionary<string, Version?> _shippedVersions = new Dictionary<string, Version?>(StringComparer.Ordinal);

        public ModuleLoadContext(string dependenciesPath)
            : base("ConnectionTools", isCollectible: false)
        {
            _dependenciesPath = Path.GetFullPath(dependenciesPath);
            _frameworkAssemblies = FrameworkAssemblyNames();
        }

        /// <summary>The native libraries this context loaded, by full path; tests use it to prove the per-RID layout works.</summary>
        public IReadOnlyList<string> LoadedNativeLibraries
        {
            get
            {
                lock (_loadedNativeLibraries)
                {
                    return _loadedNativeLibraries.ToArray();
                }
            }
        }

        /// <summary>
        /// Hooks the default context so that ConnectionTools.Core, asked for by the cmdlet assembly, comes from this context.
        /// Safe to call more than once: PowerShell may run a module initializer twice.
        /// </summary>
        public static void Install(string dependenciesPath)
        {
            lock (Gate)
            {
                if (_installed != null)
                {
                    return;
                }

                _installed = new ModuleLoadContext(dependenciesPath);
                Default.Resolving += ResolveEngine;
            }
        }

        public static void Uninstall()
        {
            lock (Gate)
            {
                // The context itself stays: assemblies already loaded cannot be unloaded from a non-collectible context.
                Default.Resolving -= ResolveEngine;
                _installed = null;
            }
        }

        /// <summary>The file name of a native library on this platform, and the RIDs to look in, most specific first.</summary>
        public static IEnumerable<string> NativeLibraryCandidates(string dependenciesPath, string libraryName)
        {
            string fileName;
            string os;
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                os = "win";
                fileName = libraryName + ".dll";
            }
            else if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
            {
                os = "osx";
                fileName = "lib" + libraryName + ".dylib";
            }
            else
            {
                os = IsMusl() ? "linux-musl" : "linux";
                fileName = "lib" + libraryName + ".so";
            }

            var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
            var rids = new List<string> { RuntimeInformation.RuntimeIdentifier, os + "-" + arch };
            foreach (var rid in rids)
            {
                yield return Path.Combine(dependenciesPath, "runtimes", rid, "native", fileName);
            }
        }

        /// <summary>
        /// The runtime's copy when it is at least the version asked for (Load asks with the newer of that and the version we
        /// ship), so types such as Span&lt;T&gt; stay one type; ours otherwise.
        /// PowerShell 7.4 runs on .NET 8, whose System.Text.Json is older than the one Core is built against.
        /// </summary>
        public static bool PreferFramework(Version? frameworkVersion, Version? requested) =>
            frameworkVersion != null && (requested is null || frameworkVersion >= requested);

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            if (assemblyName.Name is null)
            {
                return null;
            }

            var path = Path.Combine(_dependenciesPath, assemblyName.Name + ".dll");
            // Measured against the newer of the version asked for and the one we ship, so that every request for a name gets
            // the same copy: on .NET 8, MSAL asks for DiagnosticSource 6.0 (the runtime's 8.0 would do) and Npgsql for 9.0
            // (ours, 10.0); deciding per request would load both, and Core and the PostgreSQL engine would not share one.
            if (_frameworkAssemblies.TryGetValue(assemblyName.Name, out var frameworkPath) &&
                PreferFramework(AssemblyName.GetAssemblyName(frameworkPath).Version, Newer(assemblyName.Version, ShippedVersion(path))))
            {
                return null;
            }

            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }

        private static Version? Newer(Version? a, Version? b) => a is null ? b : b is null || a >= b ? a : b;

        private Version? ShippedVersion(string path)
        {
            lock (_shippedVersions)
            {
                if (!_shippedVersions.TryGetValue(path, out var version))
                {
                    version = File.Exists(path) ? AssemblyName.GetAssemblyName(path).Version : null;
                    _shippedVersions[path] = version;
                }

                return version;
            }
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            foreach (var candidate in NativeLibraryCandidates(_dependenciesPath, unmanagedDllName))
            {
                if (File.Exists(candidate))
                {
                    var handle = LoadUnmanagedDllFromPath(candidate);
                    lock (_loadedNativeLibraries)
                    {
                        _loadedNativeLibraries.Add(candidate);
                    }

                    return handle;
                }
            }

            return IntPtr.Zero;
        }

        private static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name)
        {
            var installed = _installed;
            return installed != null && string.Equals(name.Name, "ConnectionTools.Core", StringComparison.Ordinal)
                ? installed.LoadFromAssemblyName(name)
                : null;
        }

        /// <summary>
        /// The assemblies of the shared framework this process runs on, by name and path. Only these can be left to the default
        /// context: everything else we ship comes from our folder, even when the host (PowerShell, a test runner) has its own copy.
        /// </summary>
        private static Dictionary<string, string> FrameworkAssemblyNames()
        {
            var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var frameworkFolder = Path.GetDirectoryName(typeof(object).Assembly.Location);
            if (!string.IsNullOrEmpty(frameworkFolder))
            {
                foreach (var path in Directory.EnumerateFiles(frameworkFolder, "*.dll"))
                {
                    names[Path.GetFileNameWithoutExtension(path)] = path;
                }
            }

            return names;
        }

        private static bool IsMusl() =>
            RuntimeInformation.RuntimeIdentifier.Contains("musl", StringComparison.Ordinal) ||
            Directory.Exists("/lib") && Directory.GetFiles("/lib", "ld-musl-*").Length > 0;
    }
}
