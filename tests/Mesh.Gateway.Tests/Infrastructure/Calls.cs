using Grpc.Core;

namespace Mesh.Gateway.Tests.Infrastructure;

/// <summary>Runs a call and reports how it ended, so a test can compare outcomes.</summary>
public static class Calls
{
    public static async Task<StatusCode> StatusOf(Func<Task> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

    public static async Task<RpcException> FailureOf(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (RpcException ex)
        {
            return ex;
        }

        throw new Xunit.Sdk.XunitException("The call succeeded; a failure was expected.");
    }
}
