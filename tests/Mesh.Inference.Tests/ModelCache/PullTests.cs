using Mesh.Inference.Models;
using Mesh.Inference.ModelCache;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests.ModelCache;

/// <summary>Pulls over real HTTP from a Hub on loopback (<see cref="FakeHub"/>) into a temporary cache.</summary>
public sealed class PullTests : IAsyncLifetime
{
    private readonly string _home = Directory.CreateTempSubdirectory("mesh-cache-").FullName;
    private FakeHub _hub = null!;
    private readonly HttpClient _http = ModelSource.CreateHttpClient();

    public async Task InitializeAsync() => _hub = await FakeHub.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _hub.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }

    private ModelCacheOptions Options(bool offline = false) => new() { Home = _home, Endpoint = _hub.Endpoint, Offline = offline };

    private ModelPuller Puller(bool offline = false, int attempts = 3) => new(Options(offline), _http) { DownloadAttempts = attempts };

    private static Task<PullResult> Pull(ModelPuller puller, string reference) => puller.PullAsync(ModelReference.Parse(reference), null, CancellationToken.None);

    [Fact]
    public async Task A_repository_without_selector_fetches_the_hugging_face_directory_whole_and_it_loads()
    {
        var hf = Path.Combine(Path.GetDirectoryName(TestModels.TinyStories656KGguf)!, "hf");
        var files = Directory.GetFiles(hf).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        files["README.md"] = "# a model card"u8.ToArray();
        files["TinyStories-656K-F16.gguf"] = FakeHub.RandomBytes(1000, 1);
        _hub.AddRepo("raincandy-u/TinyStories-656K", files, "config.json", "tokenizer_config.json", "README.md");

        var pulled = await Pull(Puller(), "hf:raincandy-u/TinyStories-656K");

        Assert.Equal(new[] { "config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json" }, pulled.Files.Select(f => f.File).Order(StringComparer.Ordinal));
        Assert.True(Directory.Exists(pulled.ModelPath));
        Assert.Equal("TinyStories-656K", pulled.DefaultId);
        Assert.Equal(files.Where(f => pulled.Files.Any(p => p.File == f.Key)).Sum(f => (long)f.Value.Length), pulled.BytesFetched);
        foreach (var f in pulled.Files)
        {
            Assert.Equal(FakeHub.Sha256(files[f.File]), FakeHub.Sha256(File.ReadAllBytes(Path.Combine(pulled.ModelPath, f.File))));
        }

        using var model = LlamaModel.Load(pulled.ModelPath, id: pulled.DefaultId);
        Assert.Equal(2048, model.Config.VocabSize);

        // Pulled again: nothing fetched, the same snapshot.
        var before = _hub.ContentRequests.Count;
        var again = await Pull(Puller(), "hf:raincandy-u/TinyStories-656K");
        Assert.Equal(0, again.BytesFetched);
        Assert.Equal(before, _hub.ContentRequests.Count);
        Assert.Equal(pulled.ModelPath, again.ModelPath);
    }

    [Fact]
    public async Task A_quant_name_picks_the_matching_gguf_case_insensitively_and_only_fetches_it()
    {
        var q4km = FakeHub.RandomBytes(50_000, 2);
        _hub.AddRepo("org/model-GGUF", new Dictionary<string, byte[]>
        {
            ["model-Q4_K_M.gguf"] = q4km,
            ["model-Q4_K_S.gguf"] = FakeHub.RandomBytes(40_000, 3),
            ["model-Q8_0.gguf"] = FakeHub.RandomBytes(80_000, 4),
            ["README.md"] = "card"u8.ToArray(),
        }, "README.md");

        var pulled = await Pull(Puller(), "hf:org/model-GGUF:q4_k_m");

        Assert.Equal("model-Q4_K_M.gguf", Path.GetFileName(pulled.ModelPath));
        Assert.Equal(q4km, File.ReadAllBytes(pulled.ModelPath));
        Assert.Equal("model-Q4_K_M", pulled.DefaultId);
        Assert.Single(_hub.ContentRequests, r => r.Path.StartsWith("resolve/", StringComparison.Ordinal));

        var ambiguous = await Assert.ThrowsAsync<ModelCacheException>(() => Pull(Puller(), "hf:org/model-GGUF:Q4_K"));
        Assert.Contains("matches 2 GGUF files", ambiguous.Message);
        Assert.Contains("model-Q4_K_M.gguf", ambiguous.Message);
        Assert.Contains("model-Q4_K_S.gguf", ambiguous.Message);

        var none = await Assert.ThrowsAsync<ModelCacheException>(() => Pull(Puller(), "hf:org/model-GGUF:Q5_0"));
        Assert.Contains("no GGUF file matches it", none.Message);
        Assert.Contains("model-Q8_0.gguf", none.Message);

        // No selector and several GGUFs: llama.cpp's default, Q4_K_M.
        Assert.Equal(pulled.ModelPath, (await Pull(Puller(), "hf:org/model-GGUF")).ModelPath);
    }

    [Fact]
    public async Task A_cut_connection_leaves_a_partial_file_that_the_next_pull_resumes_with_a_range_request()
    {
        var bytes = FakeHub.RandomBytes(1_000_000, 5);
        var sha = FakeHub.Sha256(bytes);
        _hub.AddRepo("org/big", new Dictionary<string, byte[]> { ["big.gguf"] = bytes });
        _hub.CutOnce(sha, 300_000);

        var cut = await Assert.ThrowsAsync<ModelCacheException>(() => Pull(Puller(attempts: 1), "hf:org/big:big.gguf"));
        Assert.True(cut.Resumable);
        Assert.Contains("the next pull resumes it", cut.Message);
        var partial = new ModelCacheLayout(_home).PartialPath(sha);
        var kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, 300_000);
        var servedBefore = _hub.BytesServed;

        var pulled = await Pull(Puller(attempts: 1), "hf:org/big:big.gguf");

        Assert.Equal($"bytes={kept}-", _hub.ContentRequests.Last().Range);
        Assert.Equal(bytes.Length - kept, pulled.BytesFetched);
        Assert.Equal(bytes.Length - kept, _hub.BytesServed - servedBefore);
        Assert.Equal(bytes, File.ReadAllBytes(pulled.ModelPath));
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task Within_one_pull_a_cut_transfer_is_retried_from_where_it_stopped()
    {
        var bytes = FakeHub.RandomBytes(700_000, 6);
        var sha = FakeHub.Sha256(bytes);
        _hub.AddRepo("org/big", new Dictionary<string, byte[]> { ["big.gguf"] = bytes });
        _hub.CutOnce(sha, 250_000);

        var pulled = await Pull(Puller(), "hf:org/big:big.gguf");

        var cdn = _hub.ContentRequests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, cdn.Count);
        Assert.Equal("", cdn[0].Range);
        // The retry asks for the rest from what arrived before the cut (a cut may lose bytes in flight).
        Assert.StartsWith("bytes=", cdn[1].Range);
        var resumedAt = long.Parse(cdn[1].Range[6..^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(resumedAt, 1, 250_000);
        Assert.Equal(250_000 + (bytes.Length - resumedAt), _hub.BytesServed);
        Assert.Equal(bytes.Length, pulled.BytesFetched);
        Assert.Equal(sha, pulled.Files[0].Sha256);
    }

    [Fact]
    public async Task A_corrupted_file_is_refused_naming_the_expected_and_actual_sums_and_nothing_is_kept()
    {
        var bytes = FakeHub.RandomBytes(100_000, 7);
        var sha = FakeHub.Sha256(bytes);
        _hub.AddRepo("org/bad", new Dictionary<string, byte[]> { ["bad.gguf"] = bytes });
        _hub.Corrupt[sha] = true;
        var corrupted = (byte[])bytes.Clone();
        corrupted[corrupted.Length / 2] ^= 0xFF;

        var e = await Assert.ThrowsAsync<ModelCacheException>(() => Pull(Puller(), "hf:org/bad:bad.gguf"));

        Assert.Contains($"expected {sha}", e.Message);
        Assert.Contains($"got {FakeHub.Sha256(corrupted)}", e.Message);
        Assert.False(e.Resumable);
        var layout = new ModelCacheLayout(_home);
        Assert.False(File.Exists(layout.PartialPath(sha)));
        Assert.False(File.Exists(layout.BlobPath(sha)));
        Assert.Empty(layout.List());
    }

    [Fact]
    public async Task A_small_git_file_is_verified_by_its_git_blob_id()
    {
        _hub.AddRepo("org/cfg", new Dictionary<string, byte[]> { ["config.json"] = "{\"a\":1}"u8.ToArray(), ["w.safetensors"] = FakeHub.RandomBytes(100, 8) }, "config.json");
        var ok = await Pull(Puller(), "hf:org/cfg:config.json");
        Assert.Equal("{\"a\":1}", File.ReadAllText(ok.ModelPath));

        _hub.AddRepo("org/cfg2", new Dictionary<string, byte[]> { ["config.json"] = "{\"b\":2}"u8.ToArray() }, "config.json");
        _hub.Corrupt[FakeHub.Sha256("{\"b\":2}"u8.ToArray())] = true;
        var e = await Assert.ThrowsAsync<ModelCacheException>(() => Pull(Puller(), "hf:org/cfg2:config.json"));
        Assert.Contains("git blob id mismatch", e.Message);
    }

    [Fact]
    public async Task Two_concurrent_pulls_of_one_model_fetch_it_once()
    {
        var bytes = FakeHub.RandomBytes(400_000, 9);
        _hub.AddRepo("org/shared", new Dictionary<string, byte[]> { ["m.gguf"] = bytes });
        _hub.ContentGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = Pull(Puller(), "hf:org/shared:m.gguf");
        var second = Pull(Puller(), "hf:org/shared:m.gguf");
        // Both have listed the files before any content flows: whichever holds the blob's lock fetches, the other waits for it.
        while (_hub.ApiRequests < 2)
        {
            await Task.Delay(10);
        }

        _hub.ContentGate.SetResult();
        var results = await Task.WhenAll(first, second);

        Assert.Single(_hub.ContentRequests, r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal));
        Assert.Equal(bytes.Length, _hub.BytesServed);
        Assert.Equal(new long[] { 0, bytes.Length }, results.Select(r => r.BytesFetched).Order());
        Assert.Equal(results[0].ModelPath, results[1].ModelPath);
        Assert.Equal(bytes, File.ReadAllBytes(results[0].ModelPath));
    }

    [Fact]
    public async Task Offline_a_missing_model_is_refused_without_touching_the_network_and_a_cached_one_resolves()
    {
        _hub.AddRepo("org/m", new Dictionary<string, byte[]> { ["m-Q8_0.gguf"] = FakeHub.RandomBytes(1000, 10) });

        var e = await Assert.ThrowsAsync<ModelCacheException>(() => Pull(Puller(offline: true), "hf:org/m:Q8_0"));
        Assert.StartsWith("offline (", e.Message);
        Assert.Contains("hf:org/m:Q8_0 is not in the cache at " + _home, e.Message);
        Assert.Contains("run `Mesh.Inference pull hf:org/m:Q8_0`", e.Message);
        Assert.Equal(0, _hub.ApiRequests);
        Assert.Empty(_hub.ContentRequests);

        var online = await Pull(Puller(), "hf:org/m:Q8_0");
        var requests = _hub.ApiRequests + _hub.ContentRequests.Count;
        var offline = await Pull(Puller(offline: true), "hf:org/m:Q8_0");
        Assert.Equal(online.ModelPath, offline.ModelPath);
        Assert.Equal(online.Files[0].Sha256, offline.Files[0].Sha256);
        Assert.Equal(requests, _hub.ApiRequests + _hub.ContentRequests.Count);

        var url = await Assert.ThrowsAsync<ModelCacheException>(() => Pull(Puller(offline: true), $"{_hub.Endpoint}cdn/x.gguf#sha256={new string('a', 64)}"));
        Assert.StartsWith("offline (", url.Message);
    }

    [Theory]
    [InlineData("../escape.gguf")]
    [InlineData("a/../../escape.gguf")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\b.gguf")]
    [InlineData("./a.gguf")]
    public async Task A_file_name_from_the_hub_that_would_leave_the_snapshot_is_refused(string name)
    {
        _hub.AddRepo("org/evil", new Dictionary<string, byte[]> { [name] = FakeHub.RandomBytes(10, 11), ["ok.gguf"] = FakeHub.RandomBytes(10, 12) });

        var e = await Assert.ThrowsAsync<ModelCacheException>(() => Pull(Puller(), "hf:org/evil:ok.gguf"));

        Assert.Contains("refusing file name", e.Message);
        Assert.Empty(_hub.ContentRequests);
        Assert.False(File.Exists(Path.Combine(_home, "..", "escape.gguf")));
    }

    [Fact]
    public async Task Limits_on_file_count_and_size_refuse_before_fetching()
    {
        _hub.AddRepo("org/many", Enumerable.Range(0, 5).ToDictionary(i => $"model-0000{i}.safetensors", i => FakeHub.RandomBytes(100, i)).Append(new("config.json", "{}"u8.ToArray())).ToDictionary());
        var options = Options();
        options.MaxFiles = 3;
        var many = await Assert.ThrowsAsync<ModelCacheException>(() => new ModelPuller(options, _http).PullAsync(ModelReference.Parse("hf:org/many"), null, default));
        Assert.Contains("more than the limit of 3", many.Message);

        options = Options();
        options.MaxFileBytes = 50;
        var big = await Assert.ThrowsAsync<ModelCacheException>(() => new ModelPuller(options, _http).PullAsync(ModelReference.Parse("hf:org/many"), null, default));
        Assert.Contains("outside the limit of 50 bytes", big.Message);
        Assert.Empty(_hub.ContentRequests);
    }

    [Fact]
    public async Task A_url_with_its_sha256_is_fetched_and_a_wrong_pin_is_refused()
    {
        var bytes = FakeHub.RandomBytes(20_000, 13);
        var sha = FakeHub.Sha256(bytes);
        _hub.AddRepo("org/u", new Dictionary<string, byte[]> { ["u.gguf"] = bytes });

        var pulled = await Pull(Puller(), $"{_hub.Endpoint}cdn/{sha}#sha256={sha.ToUpperInvariant()}");
        Assert.Equal(bytes, File.ReadAllBytes(pulled.ModelPath));

        var wrong = new string('0', 64);
        var e = await Assert.ThrowsAsync<ModelCacheException>(() => Pull(Puller(), $"{_hub.Endpoint}cdn/{sha}?again#sha256={wrong}"));
        Assert.Contains($"expected {wrong}, got {sha}", e.Message);

        var unpinned = Assert.Throws<ModelCacheException>(() => ModelReference.Parse($"{_hub.Endpoint}cdn/{sha}"));
        Assert.Contains("#sha256=", unpinned.Message);
    }

    [Fact]
    public async Task The_token_is_sent_as_a_bearer_to_the_hub_and_a_gated_repository_without_it_says_so()
    {
        _hub.AddRepo("org/gated", new Dictionary<string, byte[]> { ["g.gguf"] = FakeHub.RandomBytes(100, 14) });
        _hub.RequiredToken = "hf_secret";

        var e = await Assert.ThrowsAsync<ModelCacheException>(() => Pull(Puller(), "hf:org/gated:g.gguf"));
        Assert.Contains("401", e.Message);
        Assert.Contains("HF_TOKEN", e.Message);

        var options = Options();
        options.Token = "hf_secret";
        var pulled = await new ModelPuller(options, _http).PullAsync(ModelReference.Parse("hf:org/gated:g.gguf"), null, default);
        Assert.True(File.Exists(pulled.ModelPath));
        Assert.Equal("Bearer hf_secret", _hub.Authorizations.Last());
    }

    [Fact]
    public async Task A_pinned_revision_and_a_pinned_sha256_are_checked_against_the_hub()
    {
        var bytes = FakeHub.RandomBytes(100, 15);
        var commit = _hub.AddRepo("org/r", new Dictionary<string, byte[]> { ["r.gguf"] = bytes });

        var byCommit = await Pull(Puller(), $"hf:org/r:r.gguf@{commit}#sha256={FakeHub.Sha256(bytes)}");
        Assert.Contains(commit, byCommit.ModelPath);

        var missing = await Assert.ThrowsAsync<ModelCacheException>(() => Pull(Puller(), "hf:org/r:r.gguf@v9"));
        Assert.Contains("404", missing.Message);

        var pin = new string('b', 64);
        var changed = await Assert.ThrowsAsync<ModelCacheException>(() => Pull(Puller(), $"hf:org/r:r.gguf#sha256={pin}"));
        Assert.Contains($"not the pinned {pin}", changed.Message);
    }

    [Fact]
    public async Task List_shows_references_files_and_sizes_and_rm_frees_blobs_no_other_model_uses()
    {
        var shared = FakeHub.RandomBytes(3000, 16);
        _hub.AddRepo("org/a", new Dictionary<string, byte[]> { ["a.gguf"] = shared, ["only-a.gguf"] = FakeHub.RandomBytes(500, 17) });
        _hub.AddRepo("org/b", new Dictionary<string, byte[]> { ["b.gguf"] = shared });
        await Pull(Puller(), "hf:org/a:a.gguf");
        await Pull(Puller(), "hf:org/a:only-a.gguf");
        await Pull(Puller(), "hf:org/b:b.gguf");
        var layout = new ModelCacheLayout(_home);

        var listed = layout.List();
        Assert.Equal(new[] { "hf:org/a", "hf:org/b" }, listed.Select(s => s.Source));
        Assert.Equal(new[] { "main" }, listed[0].Revisions);
        Assert.Equal(new (string, long)[] { ("a.gguf", 3000L), ("only-a.gguf", 500L) }, listed[0].Files);

        var freed = layout.Remove(ModelReference.Parse("hf:org/a"), revisionOnly: false);

        Assert.Equal(500, freed);
        Assert.True(File.Exists(layout.BlobPath(FakeHub.Sha256(shared))));
        Assert.Equal(new[] { "hf:org/b" }, layout.List().Select(s => s.Source));
        Assert.Throws<ModelCacheException>(() => layout.Remove(ModelReference.Parse("hf:org/a"), revisionOnly: false));
    }

    [Theory]
    [InlineData("hf:org", "not a Hub repository id")]
    [InlineData("hf:org/repo/extra", "not a Hub repository id")]
    [InlineData("hf:org/repo:../x.gguf", "refusing file name")]
    [InlineData("hf:org/repo@../main", "is not a branch, tag or commit")]
    [InlineData("hf:org/repo#sha256=xyz", "is not 64 hex digits")]
    [InlineData("ftp://host/x.gguf", "")]
    public void Malformed_references_are_refused_with_what_to_write(string text, string expected)
    {
        if (expected.Length == 0)
        {
            Assert.Equal(ModelSourceKind.Local, ModelReference.Parse(text).Kind);
            return;
        }

        var e = Assert.Throws<ModelCacheException>(() => ModelReference.Parse(text));
        Assert.Contains(expected, e.Message);
    }
}
