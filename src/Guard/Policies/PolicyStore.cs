using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Mesh.Guard.Telemetry;

namespace Mesh.Guard.Policies;

/// <summary>
/// Holds the policies in force. Loads the policy file at start (a bad file stops the service from
/// starting), then reloads it whenever it changes. A reload that fails leaves the previous
/// policies in force and records why in <see cref="LastError"/> (also logged), so a typo in
/// production never switches the guard off.
/// </summary>
public sealed class PolicyStore : IDisposable
{
    private readonly PolicyParser _parser;
    private readonly GuardTelemetry _telemetry;
    private readonly ILogger<PolicyStore> _logger;
    private readonly PhysicalFileProvider? _files;
    private readonly IDisposable? _watch;
    private readonly Lock _reloadLock = new();
    private PolicySet _current;
    private string _lastError = "";

    /// <summary>Loads the policy file named by <c>Guard:PolicyFile</c> (relative to the binary) and, when <c>Guard:WatchPolicyFile</c>, watches it for changes.</summary>
    /// <exception cref="PolicyFileException">The initial file cannot be used: a service with a broken policy must not start.</exception>
    public PolicyStore(PolicyParser parser, GuardTelemetry telemetry, IOptions<GuardOptions> options, ILogger<PolicyStore> logger)
    {
        _parser = parser;
        _telemetry = telemetry;
        _logger = logger;
        var configured = options.Value.PolicyFile;
        FilePath = Path.GetFullPath(Path.IsPathRooted(configured) ? configured : Path.Combine(AppContext.BaseDirectory, configured));
        _current = Load(version: 1);
        _logger.LogInformation("Loaded {PolicyCount} policies from {PolicyFile}", _current.Policies.Count, FilePath);

        if (options.Value.WatchPolicyFile)
        {
            _files = new PhysicalFileProvider(Path.GetDirectoryName(FilePath)!)
            {
                UsePollingFileWatcher = options.Value.PollPolicyFile,
                UseActivePolling = options.Value.PollPolicyFile,
            };
            var name = Path.GetFileName(FilePath);
            _watch = ChangeToken.OnChange(() => _files.Watch(name), OnFileChanged);
        }
    }

    /// <summary>Absolute path of the policy file.</summary>
    public string FilePath { get; }

    /// <summary>The policies in force. Each check reads this once and uses that snapshot throughout.</summary>
    public PolicySet Current => Volatile.Read(ref _current);

    /// <summary>Why the last reload failed, naming the line; empty when it succeeded.</summary>
    public string LastError => Volatile.Read(ref _lastError);

    /// <summary>Reads the file again. Returns true when the new policies are now in force.</summary>
    public bool Reload()
    {
        lock (_reloadLock)
        {
            bool ok;
            try
            {
                var next = Load(Current.Version + 1);
                Volatile.Write(ref _current, next);
                Volatile.Write(ref _lastError, "");
                _logger.LogInformation("Reloaded {PolicyCount} policies from {PolicyFile}, now version {PolicyVersion}",
                    next.Policies.Count, FilePath, next.Version);
                ok = true;
                _telemetry.Reloads.Add(1, new KeyValuePair<string, object?>("outcome", "loaded"));
            }
            catch (PolicyFileException e)
            {
                Volatile.Write(ref _lastError, e.Message);
                _logger.LogError("Rejected policy file {PolicyFile}: {PolicyError}; version {PolicyVersion} stays in force",
                    FilePath, e.Message, Current.Version);
                ok = false;
                _telemetry.Reloads.Add(1, new KeyValuePair<string, object?>("outcome", "rejected"));
            }
            return ok;
        }
    }

    private void OnFileChanged()
    {
        // Editors save in several writes; let them finish before reading.
        Thread.Sleep(50);
        Reload();
    }

    private PolicySet Load(long version)
    {
        string text;
        try
        {
            var info = new FileInfo(FilePath);
            if (!info.Exists)
            {
                throw new PolicyFileException(FilePath, 0, 0, "the policy file does not exist (set Guard:PolicyFile)");
            }
            if (info.Length > PolicyParser.MaxFileBytes)
            {
                throw new PolicyFileException(FilePath, 0, 0, $"the policy file is {info.Length} bytes; the limit is {PolicyParser.MaxFileBytes}");
            }
            text = ReadShared(FilePath);
        }
        catch (IOException e)
        {
            throw new PolicyFileException(FilePath, 0, 0, $"cannot read the policy file: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new PolicyFileException(FilePath, 0, 0, $"cannot read the policy file: {e.Message}", e);
        }
        return _parser.Parse(text, FilePath, version);
    }

    private static string ReadShared(string path)
    {
        // A writer may still hold the file; retry briefly rather than fail the reload.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                return reader.ReadToEnd();
            }
            catch (IOException) when (attempt < 5)
            {
                Thread.Sleep(20);
            }
        }
    }

    /// <summary>Stops watching the policy file.</summary>
    public void Dispose()
    {
        _watch?.Dispose();
        _files?.Dispose();
    }
}
