using System.Net;
using System.Net.Sockets;

namespace Mesh.Tests.Shared;

/// <summary>
/// A loopback TCP port free at the moment of asking, for a server started as its own process (which
/// must be told its port on the command line, unlike an in-process host that binds port 0 and reports
/// it). The port is released before it is returned, so another process could take it in between; the
/// kernel hands out ephemeral ports in turn, which makes that rare on a test machine. A linked file
/// (<c>tests/Shared</c>), as <see cref="DotnetProcess"/> is.
/// </summary>
internal static class LoopbackPort
{
    /// <summary>Binds port 0 on 127.0.0.1, reads the port the kernel chose and releases it.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
