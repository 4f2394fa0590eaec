namespace Mesh.Guard.Tests.Onnx;

/// <summary>
/// Writes a tiny token-classification ONNX model and its vocab.txt: logits = Gather(E, input_ids) · W + b,
/// with E the identity (one row per vocabulary id), so each token id's logits are exactly its row of W.
/// Word "alice" is B-PER, "smith" I-PER, "paris" B-LOC, "new" B-LOC, "york" I-LOC, "acme" B-ORG,
/// "corp" I-ORG, "jo" B-PER but its continuation "##hn" O (so only merging pieces into words reports
/// "John" whole), "rumor" B-ORG but weakly (probability 0.31, under a 0.5 min_score), "gala" B-MISC;
/// everything else O. The model is context-free, so the right labels can only come back if every
/// window's logits are mapped back to the right pieces.
/// </summary>
public static class TinyNerModel
{
    public static readonly string[] Labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"];

    public static readonly string[] Vocab =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "alice", "smith", "paris", "new", "york", "acme", "corp", "jo", "##hn", "rumor", "gala",
        "met", "in", "at", "the", "word", "cafe", "from", ".", ",", "and", "visited",
    ];

    private static readonly Dictionary<string, (string Label, float Logit)> Chosen = new()
    {
        ["alice"] = ("B-PER", 10), ["smith"] = ("I-PER", 10), ["paris"] = ("B-LOC", 10), ["new"] = ("B-LOC", 10),
        ["york"] = ("I-LOC", 10), ["acme"] = ("B-ORG", 10), ["corp"] = ("I-ORG", 10), ["jo"] = ("B-PER", 10),
        ["rumor"] = ("B-ORG", 1), ["gala"] = ("B-MISC", 10),
    };

    /// <summary>Writes model.onnx and vocab.txt into <paramref name="folder"/>; returns their paths.</summary>
    /// <param name="withMask">Declare an attention_mask input too (the runner must feed it).</param>
    /// <param name="labelCount">Width of W (to write a model whose labels disagree with a policy).</param>
    public static (string Model, string Vocab) Write(string folder, bool withMask = true, int? labelCount = null)
    {
        var v = Vocab.Length;
        var l = labelCount ?? Labels.Length;
        var e = new float[v * v];
        for (var i = 0; i < v; i++)
        {
            e[(i * v) + i] = 1;
        }
        var w = new float[v * l];
        for (var i = 0; i < v; i++)
        {
            if (Chosen.TryGetValue(Vocab[i], out var c) && Array.IndexOf(Labels, c.Label) < l)
            {
                w[(i * l) + Array.IndexOf(Labels, c.Label)] = c.Logit;
            }
            else
            {
                w[i * l] = 10; // O
            }
        }
        var graph = new GraphProto { Name = "tiny-ner" };
        graph.Initializer.Add(Tensor("E", [v, v], e));
        graph.Initializer.Add(Tensor("W", [v, l], w));
        graph.Initializer.Add(Tensor("b", [l], new float[l]));
        graph.Node.Add(Node("Gather", ["E", "input_ids"], "embedded"));
        graph.Node.Add(Node("MatMul", ["embedded", "W"], "projected"));
        graph.Node.Add(Node("Add", ["projected", "b"], "logits"));
        graph.Input.Add(Value("input_ids", 7, Dim("batch"), Dim("sequence")));
        if (withMask)
        {
            graph.Input.Add(Value("attention_mask", 7, Dim("batch"), Dim("sequence")));
        }
        graph.Output.Add(Value("logits", 1, Dim("batch"), Dim("sequence"), new TensorShapeProto.Types.Dimension { DimValue = l }));
        var model = new ModelProto { IrVersion = 8, ProducerName = "mesh-guard-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });

        var modelPath = Path.Combine(folder, "model.onnx");
        File.WriteAllBytes(modelPath, Google.Protobuf.MessageExtensions.ToByteArray(model));
        var vocabPath = Path.Combine(folder, "vocab.txt");
        File.WriteAllLines(vocabPath, Vocab);
        return (modelPath, vocabPath);
    }

    /// <summary>The rule's YAML (indented for a rule under <c>rules:</c>) naming the written files.</summary>
    public static string Rule(string model, string vocab, string extra = "") => $"""
              - name: names
                detector: ner
                model: '{model}'
                vocab: '{vocab}'
                lowercase: true
                labels: [{string.Join(", ", Labels)}]
                action: redact
        {extra}
        """;

    private static TensorProto Tensor(string name, long[] dims, float[] data)
    {
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(data);
        return t;
    }

    private static NodeProto Node(string op, string[] inputs, string output)
    {
        var n = new NodeProto { OpType = op, Name = op.ToLowerInvariant() };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        return n;
    }

    private static TensorShapeProto.Types.Dimension Dim(string name) => new() { DimParam = name };

    private static ValueInfoProto Value(string name, int elemType, params TensorShapeProto.Types.Dimension[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dims);
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } } };
    }
}
