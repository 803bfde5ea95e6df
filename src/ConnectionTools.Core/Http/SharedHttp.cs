using System.Net.Http;

namespace ConnectionTools.Http
{
    /// <summary>
    /// The HttpClient of a process that was given none (the module: it does not use the client factory, which would add eight
    /// assemblies to its folder). It pools connections and holds no per-call state, so every node and runspace shares it;
    /// each call sets its own timeout through <see cref="HttpPolicy"/>.
    /// </summary>
    public static class SharedHttp
    {
        public static HttpClient Client { get; } = new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }
}
