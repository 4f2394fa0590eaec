using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Grpc.Core;
using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.V1;
using Microsoft.Extensions.Options;

namespace Mesh.Retrieval.Collections;

/// <summary>
/// Every collection of every tenant, keyed by (tenant, name), stored under
/// <c>{DataPath}/{tenant}/{collection}/</c>. Opens (and so recovers) all of them when the host starts,
/// before the gRPC endpoint accepts calls, and snapshots them when it stops.
/// </summary>
internal sealed partial class CollectionManager(
    IOptions<RetrievalOptions> options,
    IReadOnlyDictionary<string, ITextEmbedder> embedders,
    ILoggerFactory loggerFactory) : IHostedService, IDisposable
{
    private readonly RetrievalOptions _options = options.Value;
    private readonly ILogger _logger = loggerFactory.CreateLogger<CollectionManager>();
    private readonly ConcurrentDictionary<(string Tenant, string Name), Collection> _collections = new();
    private readonly SemaphoreSlim _catalog = new(1, 1);

    public IReadOnlyDictionary<string, ITextEmbedder> Embedders => embedders;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_options.DataPath);
        foreach (var tenantFolder in Directory.EnumerateDirectories(_options.DataPath))
        {
            foreach (var folder in Directory.EnumerateDirectories(tenantFolder))
            {
                if (!File.Exists(Path.Combine(folder, Collection.DefinitionName)))
                {
                    continue; // a creation that crashed before its definition was written
                }
                var collection = Collection.Open(folder, _options, loggerFactory.CreateLogger<Collection>());
                _collections[(collection.Tenant, collection.Name)] = collection;
            }
        }
        _logger.LogInformation("Retrieval data at {DataPath}: {Collections} collections opened", Path.GetFullPath(_options.DataPath), _collections.Count);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var collection in _collections.Values)
        {
            await collection.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<Collection> CreateAsync(string tenant, CreateCollectionRequest request)
    {
        var config = CollectionConfig.Normalize(request, embedders);
        await _catalog.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_collections.ContainsKey((tenant, config.Name)))
            {
                throw new RetrievalException(StatusCode.AlreadyExists, $"Collection \"{config.Name}\" already exists; pick another name or drop it first.");
            }
            var folder = Path.Combine(_options.DataPath, tenant, config.Name);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true); // leftovers of a creation that never completed
            }
            var collection = Collection.Create(folder, tenant, config, _options, loggerFactory.CreateLogger<Collection>());
            _collections[(tenant, config.Name)] = collection;
            _logger.LogInformation("Created collection {Tenant}/{Collection}: {Dimensions} dimensions, {Metric}", tenant, config.Name, config.Dimensions, config.Metric);
            return collection;
        }
        finally
        {
            _catalog.Release();
        }
    }

    public Collection Get(string tenant, string name)
    {
        CollectionConfig.ValidateName(name, "collection");
        return _collections.TryGetValue((tenant, name), out var collection) ? collection : throw Collection.NotFound(name);
    }

    public async Task DropAsync(string tenant, string name)
    {
        CollectionConfig.ValidateName(name);
        await _catalog.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_collections.TryRemove((tenant, name), out var collection))
            {
                throw Collection.NotFound(name);
            }
            await collection.DropAsync().ConfigureAwait(false);
            _logger.LogInformation("Dropped collection {Tenant}/{Collection}", tenant, name);
        }
        finally
        {
            _catalog.Release();
        }
    }

    public IEnumerable<Collection> List(string tenant) =>
        _collections.Values.Where(c => c.Tenant == tenant).OrderBy(c => c.Name, StringComparer.Ordinal);

    /// <summary>Checks a tenant name from call metadata: it becomes a folder name.</summary>
    public static string ValidateTenant(string tenant) =>
        TenantPattern().IsMatch(tenant) && tenant is not ("." or "..")
            ? tenant
            : throw RetrievalException.Invalid($"x-mesh-tenant: a tenant is 1..64 characters of A-Z, a-z, 0-9, '.', '_' and '-'; got \"{tenant}\".");

    public void Dispose()
    {
        foreach (var collection in _collections.Values)
        {
            collection.Dispose();
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex TenantPattern();
}
