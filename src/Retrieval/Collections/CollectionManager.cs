using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Grpc.Core;
using Mesh.Retrieval.Embedding;
using Microsoft.Extensions.Options;

namespace Mesh.Retrieval.Collections;

/// <summary>
/// Every collection of every tenant, keyed by (tenant, name), stored under
/// <c>{DataPath}/{tenant}/{collection}/</c>. Opens (and so recovers) all of them when the host starts,
/// before the gRPC endpoint accepts calls, and snapshots them when it stops.
/// <para>
/// A collection whose files cannot be restored does not stop the others: it is kept aside as damaged,
/// every call naming it gets FAILED_PRECONDITION with the damaged file and the fix, and it can be dropped.
/// </para>
/// </summary>
internal sealed partial class CollectionManager(
    IOptions<RetrievalOptions> options,
    IReadOnlyDictionary<string, ITextEmbedder> embedders,
    SnapshotHooks hooks,
    ILoggerFactory loggerFactory) : IHostedService, IDisposable
{
    private readonly RetrievalOptions _options = options.Value;
    private readonly ILogger _logger = loggerFactory.CreateLogger<CollectionManager>();
    private readonly ConcurrentDictionary<(string Tenant, string Name), Collection> _collections = new();
    // Collections whose files could not be restored at start: the reason, naming the damaged file.
    private readonly ConcurrentDictionary<(string Tenant, string Name), string> _damaged = new();
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
                // The folder names are the identity: a damaged definition cannot move a collection elsewhere.
                var key = (Tenant: Path.GetFileName(tenantFolder), Name: Path.GetFileName(folder));
                try
                {
                    var collection = Collection.Open(folder, _options, embedders, hooks, loggerFactory.CreateLogger<Collection>());
                    if ((collection.Tenant, collection.Name) != key)
                    {
                        collection.Dispose();
                        throw new InvalidDataException($"{Path.Combine(folder, Collection.DefinitionName)} is damaged: it names {collection.Tenant}/{collection.Name}.");
                    }
                    _collections[key] = collection;
                }
                catch (Exception exception) when (exception is not OutOfMemoryException)
                {
                    _damaged[key] = exception.Message;
                    _logger.LogError(exception, "Collection {Tenant}/{Collection} is damaged and cannot be restored; the other collections serve", key.Tenant, key.Name);
                }
            }
        }
        _logger.LogInformation("Retrieval data at {DataPath}: {Collections} collections opened, {Damaged} damaged",
            Path.GetFullPath(_options.DataPath), _collections.Count, _damaged.Count);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var collection in _collections.Values)
        {
            await collection.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<Collection> CreateAsync(string tenant, CollectionConfig draft)
    {
        var config = CollectionConfig.Normalize(draft, embedders);
        await _catalog.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_damaged.ContainsKey((tenant, config.Name)))
            {
                throw new RetrievalException(StatusCode.AlreadyExists, $"Collection \"{config.Name}\" already exists but is damaged; drop it first to create it anew.");
            }
            if (_collections.ContainsKey((tenant, config.Name)))
            {
                throw new RetrievalException(StatusCode.AlreadyExists, $"Collection \"{config.Name}\" already exists; pick another name or drop it first.");
            }
            var folder = Path.Combine(_options.DataPath, tenant, config.Name);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true); // leftovers of a creation that never completed
            }
            var collection = Collection.Create(folder, tenant, config, _options, hooks, loggerFactory.CreateLogger<Collection>());
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
        if (_collections.TryGetValue((tenant, name), out var collection))
        {
            return collection;
        }
        throw _damaged.TryGetValue((tenant, name), out var damage)
            ? new RetrievalException(StatusCode.FailedPrecondition,
                $"Collection \"{name}\" is damaged and could not be restored from its log or an older snapshot: {damage} Restore its folder from a backup and restart, or drop it.")
            : NotFound(name);
    }

    public async Task DropAsync(string tenant, string name)
    {
        CollectionConfig.ValidateName(name);
        await _catalog.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_damaged.TryRemove((tenant, name), out _))
            {
                Directory.Delete(Path.Combine(_options.DataPath, tenant, name), recursive: true);
            }
            else if (_collections.TryRemove((tenant, name), out var collection))
            {
                await collection.DropAsync().ConfigureAwait(false);
            }
            else
            {
                throw NotFound(name);
            }
            _logger.LogInformation("Dropped collection {Tenant}/{Collection}", tenant, name);
        }
        finally
        {
            _catalog.Release();
        }
    }

    public IEnumerable<Collection> List(string tenant) =>
        _collections.Values.Where(c => c.Tenant == tenant).OrderBy(c => c.Name, StringComparer.Ordinal);

    /// <summary>A missing collection: NOT_FOUND, also for another tenant's (which must look the same).</summary>
    public static RetrievalException NotFound(string name) =>
        new(StatusCode.NotFound, $"Collection \"{name}\" does not exist; create it first or check the name (ListCollections lists yours).");

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
