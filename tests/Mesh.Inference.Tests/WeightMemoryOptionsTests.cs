using Mesh.Inference.Hosting;
using Mesh.Inference.Models;
using Microsoft.Extensions.Configuration;

namespace Mesh.Inference.Tests;

/// <summary>
/// <c>--Inference:WeightMemory</c> as <c>serve</c> binds it: a named value is taken, and a number that
/// names none (the binder accepts any integer for an enum) is refused at start naming the key, rather
/// than silently serving mapped.
/// </summary>
public sealed class WeightMemoryOptionsTests
{
    [Theory]
    [InlineData("Mapped", true)]
    [InlineData("hugepages", true)]
    [InlineData("Auto", true)]
    [InlineData("2", true)]
    [InlineData("7", false)]
    [InlineData("-1", false)]
    public void TheSettingIsTakenOnlyWhenItNamesAValue(string value, bool valid)
    {
        var result = Validate($"--Inference:WeightMemory={value}");
        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Inference:WeightMemory must be Auto, HugePages or Mapped", result.FailureMessage);
        }
    }

    [Fact]
    public void AnUndefinedCpuParallelismIsRefusedToo()
    {
        var result = Validate("--Inference:CpuParallelism=5");
        Assert.True(result.Failed);
        Assert.Contains("Inference:CpuParallelism must be", result.FailureMessage);
    }

    private static Microsoft.Extensions.Options.ValidateOptionsResult Validate(string arg)
    {
        var configuration = new ConfigurationBuilder().AddCommandLine([arg, "--Inference:Models:0:Path=model.gguf"]).Build();
        var options = configuration.GetSection(InferenceOptions.SectionName).Get<InferenceOptions>()!;
        return new InferenceOptionsValidator().Validate(null, options);
    }
}

/// <summary>
/// The host keeps the weights mapped whenever they will be uploaded to the GPU: with <c>--device cuda</c>
/// and with the default <c>--device auto</c> on a machine whose GPU is usable (a host copy on huge pages
/// would cost the model's size in private memory and load time for nothing); else the setting holds.
/// </summary>
public sealed class ServedWeightMemoryTests
{
    [Theory]
    [InlineData("cuda", true, WeightMemory.Auto, WeightMemory.Mapped)]
    [InlineData("CUDA", true, WeightMemory.HugePages, WeightMemory.Mapped)]
    [InlineData("auto", true, WeightMemory.Auto, WeightMemory.Mapped)]
    [InlineData("auto", true, WeightMemory.HugePages, WeightMemory.Mapped)]
    [InlineData("auto", false, WeightMemory.Auto, WeightMemory.Auto)]
    [InlineData("auto", false, WeightMemory.HugePages, WeightMemory.HugePages)]
    [InlineData("cpu", true, WeightMemory.HugePages, WeightMemory.HugePages)]
    [InlineData("cpu", true, WeightMemory.Mapped, WeightMemory.Mapped)]
    public void WeightsBoundForTheGpuStayMapped(string device, bool gpuUsable, WeightMemory configured, WeightMemory expected)
    {
        var probed = false;
        Assert.Equal(expected, ServedModel.HostWeightMemory(device, configured, () => probed = gpuUsable));
        Assert.False(probed && device == "cpu", "--device cpu must not probe the GPU");
    }
}
