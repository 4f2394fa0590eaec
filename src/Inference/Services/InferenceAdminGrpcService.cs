using Grpc.Core;
using Mesh.Inference.Hosting;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Lora;
using Mesh.Inference.Admin.V1;
using Mesh.ServiceDefaults.Errors;
using Microsoft.Extensions.Options;

namespace Mesh.Inference.Services;

/// <summary>
/// The <c>mesh.inference.admin.v1.InferenceAdminService</c> RPCs: LoRA adapters loaded, unloaded and listed
/// at run time (this file) and tuning jobs (<c>InferenceAdminGrpcService.Tuning.cs</c>). Paths are resolved inside <see cref="InferenceOptions.AdapterDirectory"/> (a path that
/// leaves it is INVALID_ARGUMENT); without that setting loading is FAILED_PRECONDITION.
/// </summary>
public sealed partial class InferenceAdminGrpcService(ModelRegistry models, IOptions<InferenceOptions> options, TuningJobs tuningJobs) : InferenceAdminService.InferenceAdminServiceBase
{
    /// <summary>
    /// Loads the adapter at <c>path</c> (inside the adapter directory) over <c>model</c> as <c>name</c>.
    /// NOT_FOUND for an unknown model or a missing file; INVALID_ARGUMENT for a bad name, a path outside
    /// the directory, or a file that is not an adapter of the model; FAILED_PRECONDITION without an adapter
    /// directory or on a backend without adapters; RESOURCE_EXHAUSTED past <see cref="LoraAdapterStore.MaxAdapters"/>.
    /// </summary>
    public override Task<AdapterInfo> LoadAdapter(LoadAdapterRequest request, ServerCallContext context)
    {
        var store = Store(request.Model);
        var root = AdapterDirectory("loading adapters");
        GenerateRequestValidator.Require(request.Path.Length > 0, "path is required: a GGUF adapter file or a PEFT directory inside the adapter directory");
        var full = InAdapterDirectory(root, request.Path, "path");
        try
        {
            return Task.FromResult(Info(request.Model, store.Load(request.Name, full)));
        }
        catch (ArgumentException e)
        {
            throw ServiceException.InvalidArgument(e.Message);
        }
        catch (FileNotFoundException)
        {
            throw ServiceException.NotFound($"no adapter at '{request.Path}' in the adapter directory");
        }
        catch (ModelFormatException e)
        {
            // The message names the file: report it relative to the adapter directory only.
            throw ServiceException.InvalidArgument(e.Message.Replace(root, "", StringComparison.Ordinal));
        }
        catch (NotSupportedException e)
        {
            throw new ServiceException(StatusCode.FailedPrecondition, e.Message);
        }
        catch (InvalidOperationException e)
        {
            throw ServiceException.ResourceExhausted(e.Message);
        }
    }

    /// <summary>Stops serving the adapter; NOT_FOUND for an unknown model or adapter.</summary>
    public override Task<UnloadAdapterResponse> UnloadAdapter(UnloadAdapterRequest request, ServerCallContext context) =>
        Store(request.Model).Unload(request.Name)
            ? Task.FromResult(new UnloadAdapterResponse())
            : throw ServiceException.NotFound($"adapter '{request.Name}' is not loaded over model '{request.Model}'");

    /// <summary>The adapters over <c>model</c>, by name; NOT_FOUND for an unknown model.</summary>
    public override Task<ListAdaptersResponse> ListAdapters(ListAdaptersRequest request, ServerCallContext context)
    {
        var response = new ListAdaptersResponse();
        response.Adapters.AddRange(Store(request.Model).Adapters.Select(a => Info(request.Model, a)));
        return Task.FromResult(response);
    }

    private static readonly string[] TargetNames = ["q", "k", "v", "o", "gate", "up", "down"];

    private static AdapterInfo Info(string model, LoraAdapter a)
    {
        var info = new AdapterInfo { Model = model, Name = a.Name, Format = a.Format, Rank = a.Rank, Alpha = a.Alpha, Parameters = a.ParameterCount };
        info.Targets.AddRange(a.Targets.Select(t => TargetNames[(int)t]));
        return info;
    }

    /// <summary>The full path of the adapter directory; FAILED_PRECONDITION (saying what is off) without one.</summary>
    private string AdapterDirectory(string what)
    {
        var directory = options.Value.AdapterDirectory;
        return string.IsNullOrEmpty(directory)
            ? throw new ServiceException(StatusCode.FailedPrecondition, $"{what} is off: set Inference:AdapterDirectory to the folder adapters are loaded from")
            : Path.GetFullPath(directory);
    }

    /// <summary><paramref name="path"/> resolved inside <paramref name="root"/>; INVALID_ARGUMENT naming <paramref name="field"/> when it leaves it.</summary>
    private static string InAdapterDirectory(string root, string path, string field)
    {
        var full = Path.GetFullPath(Path.Combine(root, path));
        GenerateRequestValidator.Require(full.StartsWith(Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal), $"{field} '{path}' leaves the adapter directory");
        return full;
    }

    private LoraAdapterStore Store(string model) =>
        models.TryGetAdapters(model, out var store)
            ? store
            : throw ServiceException.NotFound($"model '{model}' is not loaded here");
}
