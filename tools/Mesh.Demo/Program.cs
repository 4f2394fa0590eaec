using Grpc.Core;
using Mesh.Demo;
using Mesh.Demo.LoadTest;

// mesh-demo <command> [options]; see Usage.
try
{
    return args switch
    {
        ["wait", .. var rest] => await Readiness.RunAsync(new Options(rest, Readiness.Flags), wait: true),
        ["status", .. var rest] => await Readiness.RunAsync(new Options(rest, Readiness.Flags), wait: false),
        ["load", .. var rest] => await KnowledgeBase.LoadAsync(new Options(rest, KnowledgeBase.Flags)),
        ["ask", .. var rest] => await AskCommand.RunAsync(new Options(rest, AskCommand.Flags)),
        ["bench", .. var rest] => await BenchCommand.RunAsync(new Options(rest, BenchCommand.Flags)),
        ["loadtest", .. var rest] => await LoadTestCommand.RunAsync(new Options(rest, LoadTestCommand.Flags)),
        ["eval", .. var rest] => await EvalCommand.RunAsync(new Options(rest, EvalCommand.Flags)),
        _ => Usage(),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"mesh-demo: {e.Message}");
    return 2;
}
catch (RpcException e)
{
    Console.Error.WriteLine($"mesh-demo: {e.StatusCode}: {e.Status.Detail}");
    return 1;
}
catch (HttpRequestException e)
{
    Console.Error.WriteLine($"mesh-demo: {e.Message}");
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage: Mesh.Demo <command> [options]      (--gateway URL, --api-key KEY | MESH_API_KEY | .mesh/dev-key)
          wait   NAME=URL ... [--timeout-s 120]           until every service and the gateway are SERVING
          status NAME=URL ...                             one look; exit 1 unless all are SERVING
          load   --dir demo/retail --collection demo        (re)creates the collection and upserts every *.jsonl line
          ask    --model M [--collection demo] [--top-k 3] [--max-tokens 64] [--category C] [--in-stock]
                 [--max-price P] [--policy P] [--seed N] [--http [--http-gateway URL]] "question"
                 --http: through the OpenAI API (/v1/chat/completions with "mesh": {"assistant": ...})
          bench  --model M [--users 4] [--seconds 20] [--pids .mesh/pids]   the pipeline's overhead per stage, p50/p99; CPU and calls per answer
          loadtest [--call generate,search,check] (--rate R | --concurrency C) [--seconds 10] [--model M]
                 [--collection demo] [--max-tokens 16] [--timeout-s 20] [--json]
                                                    ghz's numbers: statuses, latency percentiles, requests/s
          eval   --model M --set demo/retail/eval/questions.jsonl [--collection demo] [--top-k 4]
                 [--max-tokens 64] [--out eval-report] [--judge [--judge-policy P]]
                                                    hit rate@k, groundedness, relevance, latency: report.md + report.html;
                                                    --judge: each answer graded 1..5 by Guard's judge model (Evaluate)
        """);
    return 2;
}
