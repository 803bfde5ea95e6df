using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using ConnectionTools.Http;

namespace ConnectionTools.Core.Tests;

/// <summary>The one retry loop, per purpose: what is sent again, how long it waits, when it gives up.</summary>
public sealed class HttpPolicyTests
{
    /// <summary>Plays one step per attempt (the last repeats): an answer, or an exception the handler throws.</summary>
    private sealed class Script(params Func<HttpResponseMessage>[] steps) : HttpMessageHandler
    {
        public int Attempts { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var step = steps[Math.Min(Attempts++, steps.Length - 1)];
            return Task.FromResult(step());
        }
    }

    private static Func<HttpResponseMessage> Answer(HttpStatusCode status, TimeSpan? retryAfter = null) => () =>
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent("{}") };
        if (retryAfter != null)
        {
            response.Headers.RetryAfter = new RetryConditionHeaderValue(retryAfter.Value);
        }

        return response;
    };

    private static Func<HttpResponseMessage> Fails(SocketError error) => () => throw new HttpRequestException("failed", new SocketException((int)error));

    private static Func<HttpResponseMessage> TimesOut() => () => throw new TaskCanceledException("timeout");

    private static async Task<(HttpStatusCode? Status, HttpFailure? Failure, int Attempts)> Run(HttpPolicy policy, params Func<HttpResponseMessage>[] steps)
    {
        var script = new Script(steps);
        HttpFailure? failure = null;
        try
        {
            using var response = await policy.SendAsync(new HttpClient(script), () => new HttpRequestMessage(HttpMethod.Get, "https://provider.example/"), TimeSpan.FromSeconds(5), f => new InvalidOperationException((failure = f).Detail), CancellationToken.None);
            return (response.StatusCode, null, script.Attempts);
        }
        catch (InvalidOperationException)
        {
            return (null, failure, script.Attempts);
        }
    }

    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(10);

    [Fact]
    public async Task Provider_calls_retry_throttles_timeouts_and_network_failures_at_most_three_attempts()
    {
        Assert.Equal((HttpStatusCode.OK, null, 3), await Run(HttpPolicy.ProviderCalls, Answer((HttpStatusCode)429, Short), Fails(SocketError.ConnectionReset), Answer(HttpStatusCode.OK)));
        Assert.Equal((HttpStatusCode.OK, null, 2), await Run(HttpPolicy.ProviderCalls, TimesOut(), Answer(HttpStatusCode.OK)));

        var (_, failure, attempts) = await Run(HttpPolicy.ProviderCalls, Answer(HttpStatusCode.ServiceUnavailable, Short));
        Assert.Equal((3, HttpStatusCode.ServiceUnavailable, false), (attempts, failure!.Status, failure.MayHaveArrived));
    }

    [Fact]
    public async Task A_Retry_After_beyond_the_purpose_s_cap_is_not_waited_for()
    {
        var (_, failure, attempts) = await Run(HttpPolicy.ProviderCalls, Answer((HttpStatusCode)429, TimeSpan.FromSeconds(61)));
        Assert.Equal((1, "HTTP 429 after 1 attempts"), (attempts, failure!.Detail));

        (_, failure, attempts) = await Run(HttpPolicy.PeerCalls, Answer((HttpStatusCode)429, TimeSpan.FromSeconds(31)));
        Assert.Equal(1, attempts);
        Assert.Equal("{}", failure!.Body);
    }

    [Fact]
    public async Task A_token_refresh_is_sent_again_only_when_it_certainly_was_not_processed()
    {
        // Never arrived: retried.
        Assert.Equal((HttpStatusCode.OK, null, 2), await Run(HttpPolicy.TokenRefresh, Fails(SocketError.ConnectionRefused), Answer(HttpStatusCode.OK)));
        Assert.Equal((HttpStatusCode.OK, null, 2), await Run(HttpPolicy.TokenRefresh, Answer((HttpStatusCode)429, Short), Answer(HttpStatusCode.OK)));

        // May have arrived: given up at once, marked so.
        var (_, failure, attempts) = await Run(HttpPolicy.TokenRefresh, TimesOut(), Answer(HttpStatusCode.OK));
        Assert.Equal((1, true), (attempts, failure!.MayHaveArrived));
        (_, failure, attempts) = await Run(HttpPolicy.TokenRefresh, Fails(SocketError.ConnectionReset), Answer(HttpStatusCode.OK));
        Assert.Equal((1, true), (attempts, failure!.MayHaveArrived));

        // A 503 without Retry-After may come from a server that processed it: the caller's to judge.
        Assert.Equal((HttpStatusCode.ServiceUnavailable, null, 1), await Run(HttpPolicy.TokenRefresh, Answer(HttpStatusCode.ServiceUnavailable), Answer(HttpStatusCode.OK)));
    }

    [Fact]
    public async Task Peer_calls_report_a_node_that_does_not_answer_at_once()
    {
        var (_, failure, attempts) = await Run(HttpPolicy.PeerCalls, Fails(SocketError.ConnectionRefused), Answer(HttpStatusCode.OK));
        Assert.Equal((1, false), (attempts, failure!.MayHaveArrived));
        (_, failure, attempts) = await Run(HttpPolicy.PeerCalls, TimesOut(), Answer(HttpStatusCode.OK));
        Assert.Equal(1, attempts);
        Assert.IsAssignableFrom<OperationCanceledException>(failure!.Exception);
        Assert.Equal((HttpStatusCode.OK, null, 2), await Run(HttpPolicy.PeerCalls, Answer(HttpStatusCode.ServiceUnavailable, Short), Answer(HttpStatusCode.OK)));
    }

    [Fact]
    public void Retry_After_is_read_as_seconds_or_as_a_date_and_never_negative()
    {
        HttpResponseHeaders Headers(RetryConditionHeaderValue? value)
        {
            var response = new HttpResponseMessage();
            response.Headers.RetryAfter = value;
            return response.Headers;
        }

        Assert.Equal(TimeSpan.FromSeconds(7), HttpPolicy.RetryAfter(Headers(new RetryConditionHeaderValue(TimeSpan.FromSeconds(7)))));
        var byDate = HttpPolicy.RetryAfter(Headers(new RetryConditionHeaderValue(DateTimeOffset.UtcNow.AddSeconds(30))))!.Value;
        Assert.InRange(byDate, TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(30));
        Assert.Equal(TimeSpan.Zero, HttpPolicy.RetryAfter(Headers(new RetryConditionHeaderValue(DateTimeOffset.UtcNow.AddMinutes(-1)))));
        Assert.Null(HttpPolicy.RetryAfter(Headers(null)));
        Assert.Null(HttpPolicy.RetryAfter(null));
    }

    [Fact]
    public async Task The_caller_s_own_cancellation_is_never_retried()
    {
        using var caller = new CancellationTokenSource();
        var script = new Script(() =>
        {
            caller.Cancel();
            throw new TaskCanceledException("the caller stopped");
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            HttpPolicy.ProviderCalls.SendAsync(new HttpClient(script), () => new HttpRequestMessage(HttpMethod.Get, "https://provider.example/"), TimeSpan.FromSeconds(5), f => new InvalidOperationException(f.Detail), caller.Token));
        Assert.Equal(1, script.Attempts);
    }
}
