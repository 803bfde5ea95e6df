using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ConnectionTools.Errors;
using ConnectionTools.Peering;

namespace ConnectionTools.NodeHosting
{
    /// <summary>
    /// How to run one node host: on which store, in which mode, where it listens. Turns into the node host's command line, which
    /// stays the one interface between the module and the host (an admin can run the same line by hand, or a service manager).
    /// </summary>
    public sealed class NodeHostSettings
    {
        public NodeHostSettings(string storePath)
        {
            StorePath = storePath;
        }

        /// <summary>The full path of the store file the host serves; for a PostgreSQL store, its display URI (never a password).</summary>
        public string StorePath { get; }

        /// <summary>A PostgreSQL store's key file (--key-file); null for a SQLite store, whose key sits beside it.</summary>
        public string? KeyFile { get; set; }

        /// <summary>
        /// The PostgreSQL password for the host (the session's -Credential): it reaches the child process as PGPASSWORD in its
        /// environment, never on its command line, where any user of the machine could read it.
        /// </summary>
        public System.Net.NetworkCredential? DatabaseCredential { get; set; }

        /// <summary>Let the host create the store when no file is there (the per-user default store, created on first use).</summary>
        public bool Create { get; set; }

        /// <summary>The private side: no listener; it exchanges with its public nodes.</summary>
        public bool Private { get; set; }

        /// <summary>The address the public side listens on; loopback unless the admin opens it up.</summary>
        public string ListenAddress { get; set; } = "127.0.0.1";

        public int Port { get; set; } = 5080;

        /// <summary>The URL private sides reach this node at; null keeps the one saved in the store.</summary>
        public string? PublicUrl { get; set; }

        /// <summary>How often the private side exchanges; null for the host's default.</summary>
        public double? IntervalSeconds { get; set; }

        public bool NoJobs { get; set; }

        /// <summary>Where a background host writes its log (--log); null writes to standard output.</summary>
        public string? LogPath { get; set; }

        /// <summary>The URL the host listens on, as Kestrel's --urls takes it.</summary>
        public string ListenUrl
        {
            get
            {
                var address = IPAddress.TryParse(ListenAddress, out var parsed) && parsed.AddressFamily == AddressFamily.InterNetworkV6 ? "[" + parsed + "]" : ListenAddress;
                return "http://" + address + ":" + Port.ToString(CultureInfo.InvariantCulture);
            }
        }

        /// <summary>Where this machine reaches the host's health endpoints (loopback when it listens on every address).</summary>
        public Uri LocalUrl
        {
            get
            {
                var address = IPAddress.Parse(ListenAddress);
                if (address.Equals(IPAddress.Any))
                {
                    address = IPAddress.Loopback;
                }
                else if (address.Equals(IPAddress.IPv6Any))
                {
                    address = IPAddress.IPv6Loopback;
                }

                var host = address.AddressFamily == AddressFamily.InterNetworkV6 ? "[" + address + "]" : address.ToString();
                return new Uri("http://" + host + ":" + Port.ToString(CultureInfo.InvariantCulture) + "/");
            }
        }

        /// <summary>
        /// Checks everything that can be known before the host starts, so that a mistake is reported before the store file is
        /// created or opened: the options, and that nothing else listens on the port.
        /// </summary>
        public void Validate(bool checkPort = true)
        {
            if (Private)
            {
                if (PublicUrl != null)
                {
                    throw Invalid("-PublicUrl is for the public side; a private node reaches its public nodes at the URLs in their invitation codes.", PublicUrl);
                }

                if (IntervalSeconds is double interval && (!(interval > 0) || interval > 86400))
                {
                    throw Invalid($"The interval must be more than 0 seconds and at most a day; it was {interval.ToString(CultureInfo.InvariantCulture)}.", interval);
                }

                return;
            }

            if (Port < 1 || Port > 65535)
            {
                throw Invalid($"The port must be from 1 to 65535; it was {Port}.", Port);
            }

            if (!IPAddress.TryParse(ListenAddress, out var address))
            {
                throw Invalid($"The listen address '{ListenAddress}' is not an IP address. Give one of this computer's addresses, 127.0.0.1 (this computer only, the default) or 0.0.0.0 (every address).", ListenAddress);
            }

            if (PublicUrl != null)
            {
                PeerUrls.ValidatePublicUrl(PublicUrl);
            }

            if (checkPort)
            {
                EnsurePortFree(address, Port, "-Port");
            }
        }

        /// <summary>
        /// Fails with ConnectionTools.NodeHost.PortInUse when another program listens on the address and port. Binds and lets go at
        /// once: the host binds it again a moment later (a program that takes the port in between makes the host fail instead).
        /// </summary>
        public static void EnsurePortFree(IPAddress address, int port, string option)
        {
            if (port == 0)
            {
                return;
            }

            var listener = new TcpListener(address, port);
            try
            {
                listener.Start();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse || e.SocketErrorCode == SocketError.AccessDenied)
            {
                var endpoint = (address.AddressFamily == AddressFamily.InterNetworkV6 ? "[" + address + "]" : address.ToString()) + ":" + port.ToString(CultureInfo.InvariantCulture);
                var inUse = e.SocketErrorCode == SocketError.AddressAlreadyInUse;
                throw new ConnectionToolsException(
                    ErrorIds.NodeHostPortInUse,
                    inUse ? ErrorKind.ResourceBusy : ErrorKind.PermissionDenied,
                    inUse
                        ? $"The node host cannot listen on {endpoint}: another program already listens on port {port}. Nothing was started and the store was not opened."
                        : $"The node host may not listen on {endpoint} ({e.Message}). Nothing was started and the store was not opened.",
                    endpoint,
                    inUse
                        ? $"Choose another port with {option}, or stop the program that listens on {port} (on Linux: ss -ltnp 'sport = :{port}')."
                        : $"Choose a port above 1023 with {option}, or run as an account that may listen on low ports.");
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
            {
                throw Invalid($"The listen address '{address}' is not an address of this computer ({e.Message}).", address);
            }
            finally
            {
                listener.Stop();
            }
        }

        /// <summary>The node host's command line (after the assembly): --store, the mode's options, --urls, --log.</summary>
        public IList<string> Arguments()
        {
            var arguments = new List<string> { "--store", StorePath };
            if (KeyFile != null)
            {
                arguments.Add("--key-file");
                arguments.Add(KeyFile);
            }

            if (Create)
            {
                arguments.Add("--create");
            }

            if (Private)
            {
                arguments.Add("--private");
                if (IntervalSeconds is double interval)
                {
                    arguments.Add("--interval");
                    arguments.Add(interval.ToString(CultureInfo.InvariantCulture));
                }
            }
            else
            {
                if (PublicUrl != null)
                {
                    arguments.Add("--public-url");
                    arguments.Add(PublicUrl);
                }

                arguments.Add("--urls");
                arguments.Add(ListenUrl);
            }

            if (NoJobs)
            {
                arguments.Add("--no-jobs");
            }

            if (LogPath != null)
            {
                arguments.Add("--log");
                arguments.Add(LogPath);
            }

            return arguments;
        }

        private static ConnectionToolsException Invalid(string message, object? target) =>
            new ConnectionToolsException(ErrorIds.NodeHostInvalidOption, ErrorKind.InvalidArgument, message, target, "Correct the option and run the command again; nothing was started.");
    }
}
