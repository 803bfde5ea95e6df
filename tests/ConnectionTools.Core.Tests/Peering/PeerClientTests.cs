using System.Net;
using ConnectionTools.Errors;
using ConnectionTools.Peering;

namespace ConnectionTools.Core.Tests;

/// <summary>The private side's HTTP client against a recording handler: paths, retries on 429/503 with Retry-After, and refusals.</summary>
public sealed class PeerClientTests
{
    /// <summary>Answers each request with the next response in the script (the last one repeats), built fresh each time.</summary>
    private sealed class ScriptedHandler(params Func<HttpResponseMessage>[] answers) : HttpMessageHandler
    {
        private int _next;

        public List<Uri> Requests { get; } = new();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request.RequestUri!);
            return Task.FromResult(answers[Math.Min(_next++, answers.Length - 1)]());
        }
    }

    private static Func<HttpResponseMessage> Json(HttpStatusCode status, string body, TimeSpan? retryAfter = null) => () =>
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        if (retryAfter != null)
        {
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(retryAfter.Value);
        }

        return response;
    };

    [Fact]
    public async Task Requests_go_under_the_public_URL_s_own_path()
    {
        var handler = new ScriptedHandler(Json(HttpStatusCode.OK, "{\"status\":\"Active\"}"));
        var client = new PeerClient(new HttpClient(handler), TimeSpan.FromSeconds(5));
        var id = Guid.NewGuid();

        await client.ExchangeAsync(new Uri("https://proxy.example/ct/"), id, () => "token", new ExchangeMessage { Status = "Active" }, CancellationToken.None);

        Assert.Equal($"https://proxy.example/ct/connectiontools/v1/connections/{id:D}/exchange", handler.Requests.Single().AbsoluteUri);
    }

    [Fact]
    public async Task Answers_429_and_503_are_retried_after_Retry_After_at_most_three_attempts_in_all()
    {
        var handler = new ScriptedHandler(
            Json((HttpStatusCode)429, "", TimeSpan.FromMilliseconds(10)),
            Json(HttpStatusCode.ServiceUnavailable, "", TimeSpan.FromMilliseconds(10)),
            Json(HttpStatusCode.OK, "{\"status\":\"Paused\"}"));
        var client = new PeerClient(new HttpClient(handler), TimeSpan.FromSeconds(5));

        var answer = await client.ExchangeAsync(new Uri("http://127.0.0.1:1/"), Guid.NewGuid(), () => "t", new ExchangeMessage(), CancellationToken.None);

        Assert.Equal("Paused", answer.Status);
        Assert.Equal(3, handler.Requests.Count);

        var stubborn = new ScriptedHandler(Json((HttpStatusCode)429, "", TimeSpan.FromMilliseconds(10)));
        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() =>
            new PeerClient(new HttpClient(stubborn), TimeSpan.FromSeconds(5)).ExchangeAsync(new Uri("http://127.0.0.1:1/"), Guid.NewGuid(), () => "t", new ExchangeMessage(), CancellationToken.None));
        Assert.Equal(PeerClient.MaxAttempts, stubborn.Requests.Count);
        Assert.Equal(ErrorIds.PeerProtocol, error.ErrorId);
    }

    [Fact]
    public async Task A_refusal_keeps_the_public_side_s_error_id_and_fix()
    {
        var handler = new ScriptedHandler(Json(HttpStatusCode.Gone, "{\"errorId\":\"ConnectionTools.Invitation.Superseded\",\"message\":\"replaced\",\"recommendedAction\":\"ask for the current code\",\"kind\":\"ResourceUnavailable\"}"));

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() =>
            new PeerClient(new HttpClient(handler), TimeSpan.FromSeconds(5)).AcceptAsync(new Uri("https://node.example/"), new AcceptRequest(), CancellationToken.None));

        Assert.Equal(ErrorIds.InvitationSuperseded, error.ErrorId);
        Assert.Equal("ask for the current code", error.RecommendedAction);
        Assert.Equal(ErrorKind.ResourceUnavailable, error.Kind);
        Assert.Contains("https://node.example/", error.Message);
    }

    [Fact]
    public async Task A_server_that_is_not_a_ConnectionTools_node_is_named_as_such()
    {
        var handler = new ScriptedHandler(() => new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("<html>nginx</html>") });

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() =>
            new PeerClient(new HttpClient(handler), TimeSpan.FromSeconds(5)).AcceptAsync(new Uri("https://node.example/"), new AcceptRequest(), CancellationToken.None));

        Assert.Equal(ErrorIds.PeerProtocol, error.ErrorId);
        Assert.Contains("Is that URL a ConnectionTools node?", error.Message);
    }
}
