using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cuda;
using Mesh.Inference.Models;
using Mesh.Kernels.Driver;
using Mesh.Kernels.Tests.Driver;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Kernels.Tests.Backend;

public class CudaBackendFactoryTests
{
    private static string ModelPath(string relative)
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Mesh.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Mesh.sln not found above the test binaries");
        }
        return Path.GetFullPath(Path.Combine(root, "..", "shared", "models", relative));
    }

    [NoCudaDriverFact]
    public void Without_a_GPU_creating_the_CUDA_backend_fails_with_a_message_that_says_why()
    {
        using var model = LlamaModel.Load(ModelPath("stories260K/stories260K.bin"), ModelPath("stories260K/tok512.bin"));

        var e = Assert.Throws<CudaException>(() => CudaBackendFactory.Create(model, new BackendOptions(), NullLogger.Instance));
        Assert.StartsWith("CUDA is not usable: libcuda.so.1 was not found", e.Message, StringComparison.Ordinal);
    }
}
