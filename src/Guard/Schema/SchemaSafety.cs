using System.Text.Json;

namespace Mesh.Guard.Schema;

/// <summary>
/// Checks a JSON Schema document before JsonSchema.Net builds it, for what the library finds only
/// while evaluating — or never, because the process dies first:
/// <list type="bullet">
/// <item>references out of the document (remote references are never fetched) or to nothing in it;</item>
/// <item>reference cycles that never step into the instance (<c>a → allOf → $ref b → allOf → $ref a</c>):
/// evaluating one recurses forever and ends the process with a stack overflow;</item>
/// <item>chains of subschemas applied to the same value (allOf/anyOf/oneOf/not/if/then/else/
/// dependentSchemas/$ref) longer than <see cref="MaxInPlaceChain"/>, and more than
/// <see cref="MaxSubschemas"/> subschemas.</item>
/// </list>
/// Evaluation recurses once per subschema it applies: at most (instance depth + 1) × (longest
/// in-place chain + 1) frames deep, which <see cref="CompiledSchema.MaxInstanceDepth"/> keeps under
/// <see cref="EvaluationBudget"/>. JsonSchema.Net 8 overflowed a 1.5 MiB thread-pool stack at
/// about 4,000 nested subschemas when measured; the budget keeps a 2× margin.
/// Works on the raw JSON with explicit stacks, so the check itself cannot recurse on request data.
/// </summary>
public sealed class SchemaSafety
{
    /// <summary>Longest chain of subschemas applied to one value (each one a nested call).</summary>
    public const int MaxInPlaceChain = 64;

    /// <summary>Most subschemas a schema may have.</summary>
    public const int MaxSubschemas = 20_000;

    /// <summary>Nested subschema evaluations one validation may need; see the type's remarks.</summary>
    public const int EvaluationBudget = 2_048;

    /// <summary>Deepest instance any schema validates (the JSON parser's limit).</summary>
    public const int InstanceDepthLimit = 128;

    private static readonly string[] InPlaceSingle = ["not", "if", "then", "else"];
    private static readonly string[] InPlaceArrays = ["allOf", "anyOf", "oneOf"];
    private static readonly string[] InPlaceMaps = ["dependentSchemas", "dependencies"];
    private static readonly string[] DescendSingle = ["additionalProperties", "unevaluatedProperties", "propertyNames", "items", "additionalItems", "unevaluatedItems", "contains"];
    private static readonly string[] DescendArrays = ["prefixItems", "items"];
    private static readonly string[] DescendMaps = ["properties", "patternProperties"];
    private static readonly string[] Containers = ["$defs", "definitions"];
    private static readonly string[] ContainerSingle = ["contentSchema"];
    private static readonly Uri DefaultBase = new("https://mesh.invalid/schema");

    private readonly List<Node> _nodes = [];
    private readonly Dictionary<string, int> _byPointer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (JsonElement Root, string Pointer)> _resources = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _anchors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<int>> _dynamicAnchors = new(StringComparer.Ordinal);
    private readonly List<int> _recursiveAnchors = [];
    private readonly Stack<int> _toWalk = new();

    private SchemaSafety()
    {
    }

    /// <summary>
    /// Checks <paramref name="root"/>; returns how deep an instance this schema may validate, or
    /// throws <see cref="InvalidSchemaException"/> saying what to change.
    /// </summary>
    public static int Check(JsonElement root)
    {
        var safety = new SchemaSafety();
        safety.Add(root, "", DefaultBase);
        safety.WalkAll();
        safety.ResolveReferences();
        var chain = safety.LongestInPlaceChain();
        return Math.Min(InstanceDepthLimit, EvaluationBudget / (chain + 1) - 1);
    }

    private sealed class Node(JsonElement element, string pointer, Uri baseUri)
    {
        public JsonElement Element { get; } = element;
        public string Pointer { get; } = pointer;
        public Uri Base { get; set; } = baseUri;
        public List<int> InPlace { get; } = [];
        public List<(string Keyword, string Reference)> References { get; } = [];
    }

    private int Add(JsonElement element, string pointer, Uri baseUri)
    {
        if (_byPointer.TryGetValue(pointer, out var existing))
        {
            return existing;
        }
        if (_nodes.Count >= MaxSubschemas)
        {
            throw new InvalidSchemaException($"The schema has more than {MaxSubschemas} subschemas; split it or simplify it.");
        }
        var id = _nodes.Count;
        _nodes.Add(new Node(element, pointer, baseUri));
        _byPointer[pointer] = id;
        _toWalk.Push(id);
        return id;
    }

    private void WalkAll()
    {
        while (_toWalk.Count > 0)
        {
            Walk(_toWalk.Pop());
        }
    }

    private void Walk(int id)
    {
        var node = _nodes[id];
        if (node.Element.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        var e = node.Element;
        if (e.TryGetProperty("$id", out var idValue) && idValue.ValueKind == JsonValueKind.String)
        {
            var text = idValue.GetString()!;
            if (text.StartsWith('#'))
            {
                // Draft 6/7 spelling of an anchor.
                _anchors[Key(node.Base, text[1..])] = node.Pointer;
            }
            else if (Uri.TryCreate(node.Base, text, out var resolved))
            {
                node.Base = WithoutFragment(resolved);
                _resources[node.Base.AbsoluteUri] = (e, node.Pointer);
            }
        }
        else if (id == 0)
        {
            _resources[node.Base.AbsoluteUri] = (e, node.Pointer);
        }
        foreach (var anchorKeyword in (ReadOnlySpan<string>)["$anchor", "$dynamicAnchor"])
        {
            if (e.TryGetProperty(anchorKeyword, out var a) && a.ValueKind == JsonValueKind.String)
            {
                _anchors[Key(node.Base, a.GetString()!)] = node.Pointer;
                if (anchorKeyword == "$dynamicAnchor")
                {
                    CollectionsMarshalAdd(_dynamicAnchors, a.GetString()!, id);
                }
            }
        }
        if (e.TryGetProperty("$recursiveAnchor", out var ra) && ra.ValueKind == JsonValueKind.True)
        {
            _recursiveAnchors.Add(id);
        }

        foreach (var p in e.EnumerateObject())
        {
            var at = node.Pointer + "/" + Escape(p.Name);
            var v = p.Value;
            var name = p.Name;
            if (name is "$ref" or "$dynamicRef" or "$recursiveRef" && v.ValueKind == JsonValueKind.String)
            {
                node.References.Add((name, v.GetString()!));
            }
            else if (InPlaceSingle.Contains(name) && IsSchema(v))
            {
                node.InPlace.Add(Add(v, at, node.Base));
            }
            else if (InPlaceArrays.Contains(name) && v.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var item in v.EnumerateArray())
                {
                    if (IsSchema(item))
                    {
                        node.InPlace.Add(Add(item, $"{at}/{i}", node.Base));
                    }
                    i++;
                }
            }
            else if (InPlaceMaps.Contains(name) && v.ValueKind == JsonValueKind.Object)
            {
                foreach (var child in v.EnumerateObject().Where(c => IsSchema(c.Value)))
                {
                    node.InPlace.Add(Add(child.Value, at + "/" + Escape(child.Name), node.Base));
                }
            }
            else if ((DescendSingle.Contains(name) || ContainerSingle.Contains(name)) && IsSchema(v))
            {
                Add(v, at, node.Base);
            }
            else if (DescendArrays.Contains(name) && v.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var item in v.EnumerateArray())
                {
                    if (IsSchema(item))
                    {
                        Add(item, $"{at}/{i}", node.Base);
                    }
                    i++;
                }
            }
            else if ((DescendMaps.Contains(name) || Containers.Contains(name)) && v.ValueKind == JsonValueKind.Object)
            {
                foreach (var child in v.EnumerateObject().Where(c => IsSchema(c.Value)))
                {
                    Add(child.Value, at + "/" + Escape(child.Name), node.Base);
                }
            }
        }
    }

    private void ResolveReferences()
    {
        // Resolving may add nodes (a pointer into a place no keyword names as a schema): loop until done.
        for (var id = 0; id < _nodes.Count; id++)
        {
            var node = _nodes[id];
            foreach (var (keyword, reference) in node.References)
            {
                if (keyword == "$recursiveRef")
                {
                    node.InPlace.Add(0);
                    node.InPlace.AddRange(_recursiveAnchors);
                    continue;
                }
                node.InPlace.Add(Resolve(node, keyword, reference));
                if (keyword == "$dynamicRef" && reference.StartsWith('#') && _dynamicAnchors.TryGetValue(reference[1..], out var dynamicTargets))
                {
                    // The target depends on the dynamic scope: every anchor of that name may be applied.
                    node.InPlace.AddRange(dynamicTargets);
                }
            }
            WalkAll();
        }
    }

    private int Resolve(Node from, string keyword, string reference)
    {
        if (!Uri.TryCreate(from.Base, reference, out var target))
        {
            throw new InvalidSchemaException($"{Show(from.Pointer)}: {keyword} '{reference}' is not a valid URI reference.");
        }
        var document = WithoutFragment(target).AbsoluteUri;
        if (!_resources.TryGetValue(document, out var resource))
        {
            throw new InvalidSchemaException(
                $"{Show(from.Pointer)}: {keyword} '{reference}' points outside this schema; remote references are not fetched. " +
                "Put the referenced schema under $defs and refer to it as '#/$defs/…'.");
        }
        var fragment = Uri.UnescapeDataString(target.Fragment.TrimStart('#'));
        if (fragment.Length == 0 || fragment.StartsWith('/'))
        {
            var element = resource.Root;
            foreach (var raw in fragment.Split('/').Skip(1))
            {
                var segment = raw.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
                if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(segment, out var child))
                {
                    element = child;
                }
                else if (element.ValueKind == JsonValueKind.Array && int.TryParse(segment, out var index) && index >= 0 && index < element.GetArrayLength())
                {
                    element = element[index];
                }
                else
                {
                    throw new InvalidSchemaException($"{Show(from.Pointer)}: {keyword} '{reference}' points to nothing in the schema (no '{segment}').");
                }
            }
            if (!IsSchema(element))
            {
                throw new InvalidSchemaException($"{Show(from.Pointer)}: {keyword} '{reference}' points to a {element.ValueKind}, not a schema.");
            }
            var pointer = resource.Pointer + (fragment.Length == 0 ? "" : "/" + string.Join('/', fragment.Split('/').Skip(1).Select(s =>
                Escape(s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)))));
            return Add(element, pointer, new Uri(document));
        }
        if (_anchors.TryGetValue(Key(new Uri(document), fragment), out var anchored))
        {
            return _byPointer[anchored];
        }
        throw new InvalidSchemaException($"{Show(from.Pointer)}: {keyword} '{reference}' names no $anchor in the schema.");
    }

    /// <summary>Longest chain of in-place applications; throws on a cycle (iterative DFS, so no recursion here either).</summary>
    private int LongestInPlaceChain()
    {
        var state = new byte[_nodes.Count]; // 0 new, 1 on the path, 2 done
        var longest = new int[_nodes.Count];
        var path = new List<int>();
        var next = new Stack<int>();
        var best = 0;
        for (var start = 0; start < _nodes.Count; start++)
        {
            if (state[start] != 0)
            {
                continue;
            }
            path.Add(start);
            next.Push(0);
            state[start] = 1;
            while (path.Count > 0)
            {
                var id = path[^1];
                var k = next.Pop();
                var edges = _nodes[id].InPlace;
                if (k < edges.Count)
                {
                    next.Push(k + 1);
                    var child = edges[k];
                    if (state[child] == 1)
                    {
                        var cycle = path.Skip(path.IndexOf(child)).Append(child).Select(n => Show(_nodes[n].Pointer));
                        throw new InvalidSchemaException(
                            $"The schema applies itself to the same value forever: {string.Join(" → ", cycle)}. " +
                            "A reference cycle must pass through properties, items or another keyword that steps into the value.");
                    }
                    if (state[child] == 0)
                    {
                        state[child] = 1;
                        path.Add(child);
                        next.Push(0);
                    }
                    continue;
                }
                longest[id] = 1 + (edges.Count == 0 ? 0 : edges.Max(c => longest[c]));
                if (longest[id] > MaxInPlaceChain)
                {
                    throw new InvalidSchemaException(
                        $"{Show(_nodes[id].Pointer)}: {longest[id]} subschemas are applied to the same value one inside another (allOf, anyOf, oneOf, not, if/then/else, $ref); the limit is {MaxInPlaceChain}.");
                }
                best = Math.Max(best, longest[id]);
                state[id] = 2;
                path.RemoveAt(path.Count - 1);
            }
        }
        return best;
    }

    private static bool IsSchema(JsonElement e) => e.ValueKind is JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False;

    private static Uri WithoutFragment(Uri uri) => new(uri.GetLeftPart(UriPartial.Query));

    private static string Key(Uri resource, string anchor) => WithoutFragment(resource).AbsoluteUri + "#" + anchor;

    private static string Escape(string segment) => segment.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static string Show(string pointer) => "#" + pointer;

    private static void CollectionsMarshalAdd(Dictionary<string, List<int>> map, string key, int value)
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = [];
        }
        list.Add(value);
    }
}
