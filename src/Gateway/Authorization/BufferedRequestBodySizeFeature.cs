using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Gateway.Authorization;

/// <summary>
/// Stands in for Kestrel's body-size feature once the gateway has read the whole request into memory
/// (<see cref="RequestMessageReader"/>). The limit has then been enforced already; Kestrel's feature
/// turns read-only after the first read, and YARP, which lifts the limit on the streaming calls it
/// forwards, would log a warning for every call that it cannot.
/// </summary>
internal sealed class BufferedRequestBodySizeFeature : IHttpMaxRequestBodySizeFeature
{
    /// <inheritdoc/>
    public bool IsReadOnly => false;

    /// <inheritdoc/>
    public long? MaxRequestBodySize { get; set; }
}
