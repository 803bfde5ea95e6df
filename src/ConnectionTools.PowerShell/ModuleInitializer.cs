using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;

namespace ConnectionTools.PowerShell
{
    /// <summary>
    /// Makes ConnectionTools.Core and its dependencies (in dependencies/) loadable before any cmdlet runs:
    /// a private AssemblyLoadContext on PowerShell 7, an AssemblyResolve handler on Windows PowerShell 5.1.
    /// This type must not mention Core: PowerShell loads every public type of this assembly before it calls OnImport.
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        private static readonly object Gate = new object();
        private static bool _desktopHooked;

        private static string ModuleFolder => Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!;

        private static string DependenciesFolder => Path.Combine(ModuleFolder, "dependencies");

        private static bool IsDesktop => RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase);

        public void OnImport()
        {
            lock (Gate)
            {
                if (IsDesktop)
                {
                    HookDesktop();
                }
                else
                {
                    LoaderType().GetMethod("Install", BindingFlags.Public | BindingFlags.Static)!.Invoke(null, new object[] { DependenciesFolder });
                }
            }
        }

        public void OnRemove(PSModuleInfo psModuleInfo)
        {
            lock (Gate)
            {
                if (IsDesktop)
                {
                    AppDomain.CurrentDomain.AssemblyResolve -= ResolveOnDesktop;
                    _desktopHooked = false;
                }
                else
                {
                    LoaderType().GetMethod("Uninstall", BindingFlags.Public | BindingFlags.Static)!.Invoke(null, null);
                }
            }
        }

        private static Type LoaderType() =>
            Assembly.LoadFrom(Path.Combine(ModuleFolder, "ConnectionTools.Loader.dll")).GetType("ConnectionTools.Loader.ModuleLoadContext", throwOnError: true)!;

        private static void HookDesktop()
        {
            if (_desktopHooked)
            {
                return;
            }

            // SQLite's provider imports "e_sqlite3" by name; loading it by full path first makes Windows reuse this copy.
            var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
            var native = Path.Combine(DependenciesFolder, "runtimes", "win-" + arch, "native", "e_sqlite3.dll");
            if (File.Exists(native))
            {
                LoadLibraryW(native);
            }

            AppDomain.CurrentDomain.AssemblyResolve += ResolveOnDesktop;
            _desktopHooked = true;
        }

        private static Assembly? ResolveOnDesktop(object? sender, ResolveEventArgs args)
        {
            var name = new AssemblyName(args.Name).Name;
            var requester = args.RequestingAssembly;
            if (!AnswersFor(name, requester is null ? null : requester.IsDynamic ? string.Empty : requester.Location, ModuleFolder))
            {
                return null;
            }

            var path = Path.Combine(DependenciesFolder, name + ".dll");
            return File.Exists(path) ? Assembly.LoadFrom(path) : null;
        }

        /// <summary>
        /// Whether the 5.1 resolver answers a request: when the requesting assembly was loaded from this module's folder or
        /// its dependencies/ folder, so another module never gets our copy of YamlDotNet or MSAL. Our own assemblies
        /// (ConnectionTools.*) are answered whoever asks: PowerShell itself resolves our types by name. .NET Framework leaves
        /// the requester unknown (null) for loads by name alone; then only the name can decide (the caller answers only with a
        /// file that is in dependencies/).
        /// </summary>
        /// <param name="requestingLocation">The requesting assembly's file, null when unknown, empty when it has none (dynamic).</param>
        internal static bool AnswersFor(string? requestedName, string? requestingLocation, string moduleFolder)
        {
            if (requestingLocation is null || (requestedName ?? string.Empty).StartsWith("ConnectionTools.", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (requestingLocation.Length == 0)
            {
                return false;
            }

            var folder = Path.GetDirectoryName(Path.GetFullPath(requestingLocation));
            var module = Path.GetFullPath(moduleFolder).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
            return folder != null
                && (string.Equals(folder, module, StringComparison.OrdinalIgnoreCase)
                    || string.Equals(folder, Path.Combine(module, "dependencies"), StringComparison.OrdinalIgnoreCase));
        }

        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr LoadLibraryW(string path);
    }
}
