using System;

namespace ConnectionTools.NodeHosting
{
    /// <summary>A node host running in the background, as Start-ConnectionNodeHost -Background returns it; Stop-ConnectionNodeHost takes it.</summary>
    public sealed class NodeHostProcess
    {
        internal NodeHostProcess(int processId, DateTime startTime, bool isPrivate, string storePath, Uri? url, string? publicUrl, string? logPath)
        {
            ProcessId = processId;
            StartTime = startTime;
            Mode = isPrivate ? "Private" : "Public";
            StorePath = storePath;
            Url = url;
            PublicUrl = publicUrl;
            LogPath = logPath;
        }

        /// <summary>The id of the node host's process (Get-Process -Id, Stop-ConnectionNodeHost -Id).</summary>
        public int ProcessId { get; }

        /// <summary>When the process started, which tells it from a later process that reuses the id.</summary>
        public DateTime StartTime { get; }

        /// <summary>Public (serves private sides) or Private (makes every request itself, listens on nothing).</summary>
        public string Mode { get; }

        public string StorePath { get; }

        /// <summary>Where this computer reaches the host (its /healthz and /readyz); none for a private host.</summary>
        public Uri? Url { get; }

        /// <summary>The public URL the host was started with; empty when it keeps the one saved in the store.</summary>
        public string? PublicUrl { get; }

        /// <summary>The file the host writes its log to.</summary>
        public string? LogPath { get; }

        /// <summary>Whether the process still runs (read when asked).</summary>
        public bool Running => NodeHostLauncher.IsSameProcess(ProcessId, StartTime);

        public override string ToString() => $"{Mode} node host {ProcessId} on {StorePath}";
    }
}
