using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using ConnectionTools.Errors;
using ConnectionTools.Platform;

namespace ConnectionTools.NodeHosting
{
    /// <summary>
    /// Whether a service account can use a store: secrets at rest are encrypted for the account that owns the store (an owner-only
    /// key file beside it on Linux and macOS, DPAPI for the user on Windows), so the service must run as that account, and it must
    /// be able to write the folder, where SQLite keeps its -wal and -shm files. Reads file metadata with stat; opens nothing.
    /// </summary>
    public static class ServiceAccount
    {
        /// <summary>The account this session runs as, the default for a service.</summary>
        public static string Current => UnixFile.IsWindows ? Environment.UserDomainName + "\\" + Environment.UserName : Environment.UserName;

        /// <summary>Throws ConnectionTools.NodeService.AccountDenied (with the reason) unless <paramref name="account"/> can read and write the store and its key.</summary>
        public static void EnsureCanUseStore(string account, string storePath)
        {
            if (UnixFile.IsWindows)
            {
                // DPAPI (CurrentUser) protects the secrets: only this user can read them back.
                var current = Current;
                if (!string.Equals(account, current, StringComparison.OrdinalIgnoreCase) && !string.Equals(account, Environment.UserName, StringComparison.OrdinalIgnoreCase))
                {
                    throw Denied(account, storePath, $"the store's secrets are protected with DPAPI for {current}, the user who made them, and no other account can read them");
                }

                return;
            }

            var uid = UserId(account);
            var store = Stat(storePath);
            if (store.Owner != uid)
            {
                throw Denied(account, storePath, $"the store belongs to {UserName(store.Owner)} (uid {store.Owner}), not to {account} (uid {uid}); its secrets are encrypted with a key only the owner can read");
            }

            var keyPath = storePath + ".key";
            if (File.Exists(keyPath) && Stat(keyPath).Owner != uid)
            {
                throw Denied(account, storePath, $"the key file {keyPath} belongs to {UserName(Stat(keyPath).Owner)}, not to {account}, and only its owner can read it");
            }

            if ((store.Mode & 0x80) == 0)
            {
                throw Denied(account, storePath, $"the store file is not writable by its owner (mode {Convert.ToString(store.Mode, 8)})");
            }

            var folder = Path.GetDirectoryName(storePath)!;
            var folderStat = Stat(folder);
            var folderWritable = (folderStat.Owner == uid && (folderStat.Mode & 0x80) != 0) || (folderStat.Mode & 0x2) != 0;
            if (!folderWritable)
            {
                throw Denied(account, storePath, $"{account} cannot write the folder {folder} (owner {UserName(folderStat.Owner)}, mode {Convert.ToString(folderStat.Mode, 8)}), where SQLite keeps the store's -wal and -shm files");
            }
        }

        private static ConnectionToolsException Denied(string account, string storePath, string reason) => new ConnectionToolsException(
            ErrorIds.NodeServiceAccountDenied,
            ErrorKind.PermissionDenied,
            $"The service cannot run as '{account}' on the store '{storePath}': {reason}. Nothing was written.",
            account,
            "Run the service as the account that owns the store (-Account <owner>), or create the store as the service account (Connect-ConnectionNode -Create in a session of that account).");

        private static int UserId(string account)
        {
            var (exit, output) = Run("id", "-u", account);
            if (exit != 0 || !int.TryParse(output.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var uid))
            {
                throw new ConnectionToolsException(
                    ErrorIds.NodeServiceUnknownAccount,
                    ErrorKind.ObjectNotFound,
                    $"There is no account '{account}' on this computer ('id -u {account}' found none).",
                    account,
                    "Name an existing account with -Account: the one that owns the store.");
            }

            return uid;
        }

        private static string UserName(int uid)
        {
            var (exit, output) = Run("id", "-nu", uid.ToString(CultureInfo.InvariantCulture));
            return exit == 0 ? output.Trim() : "uid " + uid.ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>The owner's uid and the permission bits, from stat(1): it reads the inode and never opens the file (see UnixFile).</summary>
        private static (int Owner, int Mode) Stat(string path)
        {
            var mac = RuntimeInformation.IsOSPlatform(OSPlatform.OSX);
            var (exit, output) = mac ? Run("stat", "-f", "%u %Lp", path) : Run("stat", "-c", "%u %a", path);
            var parts = output.Trim().Split(' ');
            if (exit != 0 || parts.Length != 2)
            {
                throw new ConnectionToolsException(
                    ErrorIds.StoreNotFound,
                    ErrorKind.ObjectNotFound,
                    $"'{path}' could not be examined (stat: {output.Trim()}).",
                    path,
                    "Give the path of an existing store: create it with Connect-ConnectionNode -StorePath <path> -Create.");
            }

            return (int.Parse(parts[0], CultureInfo.InvariantCulture), Convert.ToInt32(parts[1], 8));
        }

        private static (int Exit, string Output) Run(string file, params string[] arguments)
        {
            var start = new ProcessStartInfo(file, string.Join(" ", Array.ConvertAll(arguments, NodeHostLauncher.Quote)))
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using (var process = Process.Start(start)!)
            {
                var error = process.StandardError.ReadToEndAsync();
                var output = process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                return (process.ExitCode, process.ExitCode == 0 ? output : output + error.Result);
            }
        }
    }
}
