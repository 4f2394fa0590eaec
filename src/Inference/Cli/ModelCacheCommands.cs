using System.CommandLine;
using System.Globalization;
using Mesh.Inference.ModelCache;

namespace Mesh.Inference.Cli;

/// <summary>
/// The model cache's commands: <c>pull &lt;ref&gt;...</c> (prints each model's local path on stdout, progress
/// on stderr), <c>list</c> (every cached snapshot, its files and sizes) and <c>rm &lt;ref&gt;</c>.
/// </summary>
public static class ModelCacheCommands
{
    /// <summary>The <c>--offline</c> switch (also <c>MESH_OFFLINE=1</c> or <c>HF_HUB_OFFLINE=1</c>).</summary>
    public static readonly Option<bool> Offline = new("--offline") { Description = "never touch the network: use the cache or fail (also MESH_OFFLINE=1 or HF_HUB_OFFLINE=1)" };

    /// <summary>The cache options of a command: the environment's, with <c>--offline</c> applied.</summary>
    public static ModelCacheOptions OptionsOf(ParseResult result)
    {
        var options = ModelCacheOptions.FromEnvironment();
        options.Offline |= result.GetValue(Offline);
        return options;
    }

    /// <summary>Builds <c>pull</c>, <c>list</c> and <c>rm</c>.</summary>
    public static IEnumerable<Command> Build()
    {
        var refs = new Argument<string[]>("ref")
        {
            Arity = ArgumentArity.OneOrMore,
            Description = "hf:<org>/<repo>[:<file or quant>][@<revision>][#sha256=<hex>], https://…#sha256=<hex>",
        };
        var sha = new Option<string?>("--sha256") { Description = "the expected sha256 of a single URL or file reference" };
        var pull = new Command("pull", "fetch models into the cache ($MESH_HOME or ~/.cache/mesh), verified by sha256; prints each model's path") { refs, sha, Offline };
        pull.SetAction(async (result, cancellation) =>
        {
            var all = result.GetValue(refs)!;
            if (result.GetValue(sha) is not null && all.Length != 1)
            {
                throw new ArgumentException("--sha256 applies to one reference; pin several with <ref>#sha256=<hex>");
            }

            var options = OptionsOf(result);
            using var http = ModelSource.CreateHttpClient();
            var puller = new ModelPuller(options, http);
            var progress = new StderrProgress();
            foreach (var text in all)
            {
                var reference = ModelReference.Parse(text, result.GetValue(sha));
                if (reference.Kind == ModelSourceKind.Local)
                {
                    throw new ArgumentException($"{text}: not a model reference (hf:<org>/<repo>[:<file or quant>] or https://…#sha256=<hex>)");
                }

                var pulled = await puller.PullAsync(reference, progress.Report, cancellation);
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{reference}: {pulled.Files.Count} file(s), {Size(pulled.Files.Sum(f => f.Bytes))}, {Size(pulled.BytesFetched)} fetched, commit {pulled.Commit}"));
                Console.WriteLine(pulled.ModelPath);
            }

            return 0;
        });

        var list = new Command("list", "list the cached models: reference, revision, files and sizes");
        list.SetAction(_ =>
        {
            var layout = new ModelCacheLayout(ModelCacheOptions.FromEnvironment().Home);
            var snapshots = layout.List();
            if (snapshots.Count == 0)
            {
                Console.Error.WriteLine($"the cache at {layout.Home} is empty");
                return 0;
            }

            foreach (var s in snapshots)
            {
                var revisions = s.Revisions.Count > 0 ? "@" + string.Join(",", s.Revisions) : "";
                Console.WriteLine($"{s.Source}{revisions}  commit {s.Commit}  {Size(s.Files.Sum(f => Math.Max(0, f.Bytes)))}  {s.Path}");
                foreach (var (file, bytes) in s.Files)
                {
                    Console.WriteLine($"  {file}  {(bytes < 0 ? "missing blob" : Size(bytes))}");
                }
            }

            return 0;
        });

        var rmRef = new Argument<string>("ref") { Description = "hf:<org>/<repo> (every revision) or hf:<org>/<repo>@<revision>, or a URL reference" };
        var rm = new Command("rm", "remove a model from the cache and delete the blobs nothing else uses") { rmRef };
        rm.SetAction(result =>
        {
            var text = result.GetValue(rmRef)!;
            var reference = ModelReference.Parse(text);
            if (reference.Kind == ModelSourceKind.Local)
            {
                throw new ArgumentException($"{text}: not a model reference");
            }

            var layout = new ModelCacheLayout(ModelCacheOptions.FromEnvironment().Home);
            var freed = layout.Remove(reference, revisionOnly: text.Contains('@', StringComparison.Ordinal));
            Console.Error.WriteLine($"removed {reference.Text}; {Size(freed)} freed");
            return 0;
        });
        return [pull, list, rm];
    }

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => $"{bytes} B",
    };

    /// <summary>A progress line on stderr: rewritten in place on a terminal, else one line per file every 5 s and at the end.</summary>
    private sealed class StderrProgress
    {
        private readonly bool _terminal = !Console.IsErrorRedirected;
        private DateTime _last = DateTime.MinValue;

        public void Report(DownloadProgress p)
        {
            if (!_terminal && !p.Done && DateTime.UtcNow - _last < TimeSpan.FromSeconds(5))
            {
                return;
            }

            _last = DateTime.UtcNow;
            var percent = p.TotalBytes > 0 ? 100.0 * p.Bytes / p.TotalBytes : 100;
            var line = string.Create(CultureInfo.InvariantCulture, $"{p.File}  {percent,5:F1}%  {Size(p.Bytes)} / {Size(p.TotalBytes)}  {p.BytesPerSecond / 1e6:F1} MB/s");
            if (_terminal)
            {
                Console.Error.Write("\r" + line + (p.Done ? "\n" : "   "));
            }
            else
            {
                Console.Error.WriteLine(line);
            }
        }
    }
}
