using System.Diagnostics;
using Grpc.Core;
using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Filtering;
using Mesh.Retrieval.V1;
using Mesh.ServiceDefaults.Tenancy;
using Microsoft.Extensions.Options;

namespace Mesh.Retrieval.Services;

/// <summary>The <c>mesh.retrieval.v1.RetrievalService</c> endpoint: validation, tenancy, and mapping to collections.</summary>
internal sealed class RetrievalGrpcService(CollectionManager collections, IOptions<RetrievalOptions> options, RetrievalMetrics metrics, TenantResolver tenants)
    : RetrievalService.RetrievalServiceBase
{
    private readonly RetrievalOptions _options = options.Value;

    public override async Task<CollectionInfo> CreateCollection(CreateCollectionRequest request, ServerCallContext context) =>
        ProtoMapping.ToInfo(await collections.CreateAsync(Tenant(context), CollectionConfigMapping.ToConfig(request)).ConfigureAwait(false));

    public override async Task<DropCollectionResponse> DropCollection(DropCollectionRequest request, ServerCallContext context)
    {
        await collections.DropAsync(Tenant(context), request.Name).ConfigureAwait(false);
        return new DropCollectionResponse();
    }

    public override Task<ListCollectionsResponse> ListCollections(ListCollectionsRequest request, ServerCallContext context) =>
        Task.FromResult(new ListCollectionsResponse { Collections = { collections.List(Tenant(context)).Select(ProtoMapping.ToInfo) } });

    public override Task<CollectionInfo> DescribeCollection(DescribeCollectionRequest request, ServerCallContext context) =>
        Task.FromResult(ProtoMapping.ToInfo(collections.Get(Tenant(context), request.Name)));

    public override async Task<UpdateResponse> Upsert(UpsertRequest request, ServerCallContext context)
    {
        var collection = collections.Get(Tenant(context), request.Collection);
        var points = RequestValidation.Points(collection, request.Points, _options, collections, context.CancellationToken);
        var result = await collection.UpsertAsync(points, context.CancellationToken).ConfigureAwait(false);
        metrics.PointsWritten(points.Count);
        return ProtoMapping.ToResponse(result);
    }

    public override async Task<UpdateResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        var collection = collections.Get(Tenant(context), request.Collection);
        return ProtoMapping.ToResponse(request.SelectorCase switch
        {
            DeleteRequest.SelectorOneofCase.Ids => await collection.DeleteAsync(
                RequestValidation.Ids(request.Ids.Ids, _options, "ids.ids"), null, context.CancellationToken).ConfigureAwait(false),
            DeleteRequest.SelectorOneofCase.Filter => await collection.DeleteAsync(
                null, collection.CompileFilter(ProtoMapping.ToFilter(request.Filter)), context.CancellationToken).ConfigureAwait(false),
            _ => throw RetrievalException.Invalid("selector: set ids or filter."),
        });
    }

    public override Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        var collection = collections.Get(Tenant(context), request.Collection);
        var response = new GetResponse();
        var withPayload = !request.HasWithPayload || request.WithPayload;
        var budget = new ResponseBudget(_options.MaxResponseBytes);
        foreach (var id in RequestValidation.Ids(request.Ids, _options, "ids"))
        {
            if (collection.Get(id) is { } point)
            {
                var retrieved = ProtoMapping.ToRetrievedPoint(point, withPayload, request.WithVector);
                budget.Add(retrieved.CalculateSize(), $"point {id}");
                response.Points.Add(retrieved);
            }
        }
        return Task.FromResult(response);
    }

    public override Task<SearchResponse> Search(SearchRequest request, ServerCallContext context)
    {
        var collection = collections.Get(Tenant(context), request.Collection);
        return Task.FromResult(RunSearch(collection, request, context.CancellationToken, "", new ResponseBudget(_options.MaxResponseBytes)));
    }

    public override Task<SearchBatchResponse> SearchBatch(SearchBatchRequest request, ServerCallContext context)
    {
        var collection = collections.Get(Tenant(context), request.Collection);
        if (request.Searches.Count is 0 or > 256)
        {
            throw RetrievalException.Invalid($"searches: send 1..256 searches; got {request.Searches.Count}.");
        }
        var response = new SearchBatchResponse();
        var budget = new ResponseBudget(_options.MaxResponseBytes);
        for (var i = 0; i < request.Searches.Count; i++)
        {
            response.Results.Add(RunSearch(collection, request.Searches[i], context.CancellationToken, $"searches[{i}].", budget));
        }
        return Task.FromResult(response);
    }

    public override async Task Import(IAsyncStreamReader<ImportRequest> requestStream, IServerStreamWriter<ImportProgress> responseStream, ServerCallContext context)
    {
        var tenant = Tenant(context);
        Collection? collection = null;
        ulong imported = 0, batches = 0;
        await foreach (var batch in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            if (collection is null)
            {
                collection = collections.Get(tenant, batch.Collection);
            }
            else if (batch.Collection.Length > 0 && batch.Collection != collection.Name)
            {
                throw RetrievalException.Invalid($"collection: this import stream writes to \"{collection.Name}\"; message {batches + 1} names \"{batch.Collection}\".");
            }
            var points = RequestValidation.Points(collection, batch.Points, _options, collections, context.CancellationToken);
            await collection.UpsertAsync(points, context.CancellationToken).ConfigureAwait(false);
            metrics.PointsWritten(points.Count);
            imported += (ulong)points.Count;
            batches++;
            await responseStream.WriteAsync(new ImportProgress { PointsImported = imported, Batches = batches, CollectionPoints = (ulong)collection.Count }).ConfigureAwait(false);
        }
    }

    public override async Task<UpdateResponse> SetPayload(SetPayloadRequest request, ServerCallContext context)
    {
        var collection = collections.Get(Tenant(context), request.Collection);
        var payload = request.Payload ?? throw RetrievalException.Invalid("payload: set the payload keys to write (an empty payload with overwrite clears it).");
        return ProtoMapping.ToResponse(request.SelectorCase switch
        {
            SetPayloadRequest.SelectorOneofCase.Ids => await collection.SetPayloadAsync(
                RequestValidation.Ids(request.Ids.Ids, _options, "ids.ids"), null, payload, request.Overwrite, _options.MaxPayloadBytes, context.CancellationToken).ConfigureAwait(false),
            SetPayloadRequest.SelectorOneofCase.Filter => await collection.SetPayloadAsync(
                null, collection.CompileFilter(ProtoMapping.ToFilter(request.Filter)), payload, request.Overwrite, _options.MaxPayloadBytes, context.CancellationToken).ConfigureAwait(false),
            _ => throw RetrievalException.Invalid("selector: set ids or filter."),
        });
    }

    public override Task<EmbedResponse> Embed(EmbedRequest request, ServerCallContext context)
    {
        var embedder = RequestValidation.Embedder(request, collections.Embedders);
        var vectors = embedder.Embed(request.Texts, context.CancellationToken);
        var response = new EmbedResponse { Model = embedder.Name, PromptTokens = (ulong)request.Texts.Sum(t => (long)embedder.CountTokens(t)) };
        response.Vectors.Add(vectors.Select(v => new Vector { Values = { v } }));
        return Task.FromResult(response);
    }

    private SearchResponse RunSearch(Collection collection, SearchRequest request, CancellationToken cancellationToken, string field, ResponseBudget budget)
    {
        var started = Stopwatch.GetTimestamp();
        var query = RequestValidation.Search(collection, request, collections, cancellationToken, field);
        var hits = collection.Search(query);
        var response = new SearchResponse();
        foreach (var hit in hits)
        {
            var scored = ProtoMapping.ToScoredPoint(hit, request.WithPayload, request.WithVector);
            budget.Add(scored.CalculateSize(), $"{field}points[{response.Points.Count}]");
            response.Points.Add(scored);
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        response.TimeUs = (ulong)elapsed.TotalMicroseconds;
        metrics.SearchCompleted(elapsed, query.Filter is not null);
        return response;
    }

    // The tenant from x-mesh-tenant (verified against the gateway's signature when one is configured).
    private string Tenant(ServerCallContext context) => CollectionManager.ValidateTenant(tenants.Resolve(context));
}
