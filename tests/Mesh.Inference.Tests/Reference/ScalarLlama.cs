namespace Mesh.Inference.Tests.Reference;

/// <summary>
/// An independent, deliberately plain port of llama2.c's <c>run.c</c> forward pass: scalar loops,
/// its own reader of the llama2.c checkpoint, its own RoPE and softmax. The production CPU backend is
/// checked against it token for token.
/// </summary>
internal sealed class ScalarLlama
{
    private readonly int _dim, _hidden, _layers, _heads, _kvHeads, _vocab, _seqLen, _headSize, _kvDim;
    private readonly float[] _embedding, _rmsAtt, _wq, _wk, _wv, _wo, _rmsFfn, _w1, _w2, _w3, _rmsFinal, _wcls;
    private readonly float[] _keyCache, _valueCache;

    public ScalarLlama(string checkpointPath)
    {
        using var reader = new BinaryReader(File.OpenRead(checkpointPath));
        _dim = reader.ReadInt32();
        _hidden = reader.ReadInt32();
        _layers = reader.ReadInt32();
        _heads = reader.ReadInt32();
        _kvHeads = reader.ReadInt32();
        var vocab = reader.ReadInt32();
        _seqLen = reader.ReadInt32();
        _vocab = Math.Abs(vocab);
        _headSize = _dim / _heads;
        _kvDim = _dim * _kvHeads / _heads;

        float[] Read(long n)
        {
            var result = new float[n];
            for (long i = 0; i < n; i++)
            {
                result[i] = reader.ReadSingle();
            }

            return result;
        }

        _embedding = Read((long)_vocab * _dim);
        _rmsAtt = Read((long)_layers * _dim);
        _wq = Read((long)_layers * _dim * _dim);
        _wk = Read((long)_layers * _dim * _kvDim);
        _wv = Read((long)_layers * _dim * _kvDim);
        _wo = Read((long)_layers * _dim * _dim);
        _rmsFfn = Read((long)_layers * _dim);
        _w1 = Read((long)_layers * _dim * _hidden);
        _w2 = Read((long)_layers * _hidden * _dim);
        _w3 = Read((long)_layers * _dim * _hidden);
        _rmsFinal = Read(_dim);
        Read((long)_seqLen * _headSize / 2 * 2); // freq_cis_real and freq_cis_imag
        _wcls = vocab > 0 ? _embedding : Read((long)_vocab * _dim);
        _keyCache = new float[(long)_layers * _seqLen * _kvDim];
        _valueCache = new float[(long)_layers * _seqLen * _kvDim];
    }

    public int VocabSize => _vocab;

    /// <summary>llama2.c's forward(): the logits after feeding <paramref name="token"/> at <paramref name="pos"/>.</summary>
    public float[] Forward(int token, int pos)
    {
        var x = new float[_dim];
        Array.Copy(_embedding, (long)token * _dim, x, 0, _dim);
        var xb = new float[_dim];
        var xb2 = new float[_dim];
        var hb = new float[_hidden];
        var hb2 = new float[_hidden];
        var q = new float[_dim];
        var att = new float[_seqLen];
        var kvMul = _heads / _kvHeads;

        for (var l = 0; l < _layers; l++)
        {
            RmsNorm(xb, x, _rmsAtt, l * _dim);
            var loff = (long)l * _seqLen * _kvDim;
            var k = new float[_kvDim];
            var v = new float[_kvDim];
            MatMul(q, xb, _wq, (long)l * _dim * _dim, _dim, _dim);
            MatMul(k, xb, _wk, (long)l * _dim * _kvDim, _dim, _kvDim);
            MatMul(v, xb, _wv, (long)l * _dim * _kvDim, _dim, _kvDim);

            for (var i = 0; i < _dim; i += 2)
            {
                var headDim = i % _headSize;
                var freq = 1.0f / MathF.Pow(10000.0f, headDim / (float)_headSize);
                var val = pos * freq;
                var fcr = MathF.Cos(val);
                var fci = MathF.Sin(val);
                var rotn = i < _kvDim ? 2 : 1;
                for (var r = 0; r < rotn; r++)
                {
                    var vec = r == 0 ? q : k;
                    var v0 = vec[i];
                    var v1 = vec[i + 1];
                    vec[i] = (v0 * fcr) - (v1 * fci);
                    vec[i + 1] = (v0 * fci) + (v1 * fcr);
                }
            }

            Array.Copy(k, 0, _keyCache, loff + ((long)pos * _kvDim), _kvDim);
            Array.Copy(v, 0, _valueCache, loff + ((long)pos * _kvDim), _kvDim);

            for (var h = 0; h < _heads; h++)
            {
                for (var t = 0; t <= pos; t++)
                {
                    var score = 0f;
                    for (var i = 0; i < _headSize; i++)
                    {
                        score += q[(h * _headSize) + i] * _keyCache[loff + ((long)t * _kvDim) + (h / kvMul * _headSize) + i];
                    }

                    att[t] = score / MathF.Sqrt(_headSize);
                }

                Softmax(att, pos + 1);
                for (var i = 0; i < _headSize; i++)
                {
                    xb[(h * _headSize) + i] = 0;
                }

                for (var t = 0; t <= pos; t++)
                {
                    for (var i = 0; i < _headSize; i++)
                    {
                        xb[(h * _headSize) + i] += att[t] * _valueCache[loff + ((long)t * _kvDim) + (h / kvMul * _headSize) + i];
                    }
                }
            }

            MatMul(xb2, xb, _wo, (long)l * _dim * _dim, _dim, _dim);
            for (var i = 0; i < _dim; i++)
            {
                x[i] += xb2[i];
            }

            RmsNorm(xb, x, _rmsFfn, l * _dim);
            MatMul(hb, xb, _w1, (long)l * _dim * _hidden, _dim, _hidden);
            MatMul(hb2, xb, _w3, (long)l * _dim * _hidden, _dim, _hidden);
            for (var i = 0; i < _hidden; i++)
            {
                var val = hb[i];
                val *= 1.0f / (1.0f + MathF.Exp(-val));
                hb[i] = val * hb2[i];
            }

            MatMul(xb, hb, _w2, (long)l * _dim * _hidden, _hidden, _dim);
            for (var i = 0; i < _dim; i++)
            {
                x[i] += xb[i];
            }
        }

        RmsNorm(x, x, _rmsFinal, 0);
        var logits = new float[_vocab];
        MatMul(logits, x, _wcls, 0, _dim, _vocab);
        return logits;
    }

    /// <summary>llama2.c's generate() with temperature 0: feeds the prompt, then argmax, for <paramref name="steps"/> positions.</summary>
    public List<int> Greedy(IReadOnlyList<int> prompt, int steps)
    {
        var generated = new List<int>();
        var token = prompt[0];
        for (var pos = 0; pos < steps; pos++)
        {
            var logits = Forward(token, pos);
            int next;
            if (pos < prompt.Count - 1)
            {
                next = prompt[pos + 1];
            }
            else
            {
                next = 0;
                for (var i = 1; i < logits.Length; i++)
                {
                    if (logits[i] > logits[next])
                    {
                        next = i;
                    }
                }

                generated.Add(next);
            }

            token = next;
        }

        return generated;
    }

    private static void RmsNorm(float[] o, float[] x, float[] weight, int offset)
    {
        var ss = 0f;
        for (var j = 0; j < x.Length; j++)
        {
            ss += x[j] * x[j];
        }

        ss /= x.Length;
        ss += 1e-5f;
        ss = 1.0f / MathF.Sqrt(ss);
        for (var j = 0; j < x.Length; j++)
        {
            o[j] = weight[offset + j] * (ss * x[j]);
        }
    }

    private static void Softmax(float[] x, int size)
    {
        var max = x[0];
        for (var i = 1; i < size; i++)
        {
            max = Math.Max(max, x[i]);
        }

        var sum = 0f;
        for (var i = 0; i < size; i++)
        {
            x[i] = MathF.Exp(x[i] - max);
            sum += x[i];
        }

        for (var i = 0; i < size; i++)
        {
            x[i] /= sum;
        }
    }

    private static void MatMul(float[] xout, float[] x, float[] w, long offset, int n, int d)
    {
        for (var i = 0; i < d; i++)
        {
            var val = 0f;
            for (var j = 0; j < n; j++)
            {
                val += w[offset + ((long)i * n) + j] * x[j];
            }

            xout[i] = val;
        }
    }
}
