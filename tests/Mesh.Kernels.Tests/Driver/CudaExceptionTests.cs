using Mesh.Kernels.Driver;

namespace Mesh.Kernels.Tests.Driver;

public class CudaExceptionTests
{
    [Fact]
    public void Message_names_the_call_the_error_and_its_code()
    {
        var e = new CudaException("cuMemAlloc_v2(1024 bytes)", CuResult.OutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");

        Assert.Equal("cuMemAlloc_v2(1024 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", e.Message);
        Assert.Equal(CuResult.OutOfMemory, e.Result);
        Assert.Equal("cuMemAlloc_v2(1024 bytes)", e.Call);
    }

    [Fact]
    public void Without_the_drivers_names_the_code_is_named_from_the_enum()
    {
        var e = new CudaException("cuModuleLoadDataEx", CuResult.InvalidPtx, null, null);

        Assert.Equal("cuModuleLoadDataEx failed: CUDA_ERROR_InvalidPtx (218)", e.Message);
    }

    [Fact]
    public void A_failed_PTX_load_carries_the_JIT_error_log()
    {
        const string log = "ptxas application ptx input, line 12; error   : Unknown symbol 'x'";
        var e = new CudaException("cuModuleLoadDataEx", CuResult.InvalidPtx, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed", log);

        Assert.Contains("JIT log:", e.Message, StringComparison.Ordinal);
        Assert.EndsWith(log, e.Message, StringComparison.Ordinal);
        Assert.Equal(log, e.JitLog);
    }
}
