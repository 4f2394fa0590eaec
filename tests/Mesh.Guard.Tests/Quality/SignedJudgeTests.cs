using System.Collections.Concurrent;
using System.Text;
using Grpc.Core;
using Mesh.Guard.Quality.Judge;
using Mesh.Guard.V1;
using Mesh.ServiceDefaults;
using Mesh.ServiceDefaults.Tenancy;
using Microsoft.AspNetCore.Builder;

namespace Mesh.Guard.Tests.Quality;

/// <summary>
/// Evaluate in a signed mesh (every service has <c>Mesh:Tenancy:SigningKey</c>, as scripts/mesh.sh and
/// k8s run it): Inference accepts only signed tenants, so Guard's judge call must carry the caller's
/// tenant signed for <c>Complete</c>, not be refused as a direct caller.
/// </summary>
public sealed class SignedJudgeTests
{
    private const string Secret = "a-shared-secret-for-judge-tests";

    [Fact]
    public async Task The_judge_call_acts_for_the_callers_tenant_signed_for_Complete()
    {
        var seen = new ConcurrentQueue<(string? Tenant, string? Signature)>();
        var inference = await JudgeFixture.StartInferenceAsync(app => app.Use(async (context, next) =>
        {
            if (context.Request.Path == JudgeClient.CompletePath)
            {
                seen.Enqueue((context.Request.Headers[TenantSignature.TenantHeader].ToString(), context.Request.Headers[TenantSignature.SignatureHeader].ToString()));
            }

            await next(context);
        }), $"--Mesh:Tenancy:SigningKey={Secret}");
        try
        {
            await using var guard = await GuardServer.StartAsync(JudgeFixture.PolicyFile,
                [$"--Guard:Judge:Endpoint={inference.GetGrpcAddress()}", $"--Mesh:Tenancy:SigningKey={Secret}", .. JudgeFixture.JudgeLimits]);
            var key = Encoding.UTF8.GetBytes(Secret);
            const string evaluate = "/mesh.guard.v1.QualityService/Evaluate";
            var asAcme = new Metadata
            {
                { TenantSignature.TenantHeader, "acme" },
                { TenantSignature.SignatureHeader, TenantSignature.Sign(key, "acme", evaluate, DateTimeOffset.UtcNow) },
            };
            var request = new EvaluateRequest { Model = "shop-bot", Question = "How long does shipping take?", Answer = "Three to five business days [1]." };
            request.Sources.Add(new AnswerSource { Id = "faq-04", Text = "Standard shipping takes 3 to 5 business days." });

            var response = await new QualityService.QualityServiceClient(guard.Channel).EvaluateAsync(request, asAcme, DateTime.UtcNow.AddMinutes(2));

            Assert.InRange(response.Score, 1, 5);
            var (tenant, signature) = Assert.Single(seen);
            Assert.Equal("acme", tenant);
            Assert.True(TenantSignature.Verify(key, "acme", JudgeClient.CompletePath, signature, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1)),
                $"the judge call's signature '{signature}' is not the tenant's for {JudgeClient.CompletePath}");
        }
        finally
        {
            await inference.StopAsync();
            await inference.DisposeAsync();
        }
    }
}
