namespace Mesh.Inference.Bench;

internal static class Program
{
    private static int Main() => 0;
}
