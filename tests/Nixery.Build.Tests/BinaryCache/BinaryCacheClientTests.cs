using System.Net;
using Nixery.Build.BinaryCache;

namespace Nixery.Build.Tests.BinaryCache;

public sealed class BinaryCacheClientTests
{
    private static readonly Uri Cache = new("http://cache.test");

    [Fact]
    public async Task ARequestThatGotNoAnswerIsMadeAgain()
    {
        using var handler = new FlakyHandler(failures: BinaryCacheClient.Attempts - 1, HttpStatusCode.OK);
        using var client = new BinaryCacheClient(TimeSpan.FromSeconds(5), handler);

        await using var stream = await client.OpenAsync(Cache, "nix-cache-info", CancellationToken.None);

        Assert.Equal("StoreDir: /nix/store\n", await new StreamReader(stream).ReadToEndAsync());
        Assert.Equal(BinaryCacheClient.Attempts, handler.Calls);
    }

    [Fact]
    public async Task ACacheThatNeverAnswersIsUnreachableAfterTheLastAttempt()
    {
        using var handler = new FlakyHandler(failures: int.MaxValue, HttpStatusCode.OK);
        using var client = new BinaryCacheClient(TimeSpan.FromSeconds(5), handler);

        var e = await Assert.ThrowsAsync<CacheFileMissingException>(() => client.OpenAsync(Cache, "nix-cache-info", CancellationToken.None));

        Assert.Equal($"it could not be reached in {BinaryCacheClient.Attempts} attempts (Connection refused)", e.Message);
        Assert.Equal(BinaryCacheClient.Attempts, handler.Calls);
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.NotFound)]
    public async Task AnAnswerIsNeverAskedAgainHoweverBad(HttpStatusCode status)
    {
        using var handler = new FlakyHandler(failures: 0, status);
        using var client = new BinaryCacheClient(TimeSpan.FromSeconds(5), handler);

        await Assert.ThrowsAsync<CacheFileMissingException>(() => client.OpenAsync(Cache, "nix-cache-info", CancellationToken.None));

        Assert.Equal(1, handler.Calls);
    }

    /// <summary>Fails the first <paramref name="failures"/> requests as a refused connection does, then answers <paramref name="status"/>.</summary>
    private sealed class FlakyHandler(int failures, HttpStatusCode status) : HttpMessageHandler
    {
        private int _calls;

        public int Calls => _calls;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) <= failures)
            {
                throw new HttpRequestException("Connection refused");
            }

            return Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent("StoreDir: /nix/store\n"), RequestMessage = request });
        }
    }
}
