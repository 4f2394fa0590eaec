namespace Mesh.Kernels.Tests;

public class PtxModulesTests
{
    [Fact]
    public void Every_kernel_file_is_embedded_and_declares_targets_CI_can_assemble()
    {
        Assert.NotEmpty(PtxModules.All);
        foreach (var module in PtxModules.All)
        {
            Assert.NotEmpty(module.Targets);
            Assert.All(module.Targets, t => Assert.Contains(t, new[] { "sm_80", "sm_90", "sm_90a" }));
            Assert.NotEmpty(module.Entries);
            Assert.Contains(".address_size 64", module.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_embedded_files_are_the_ones_in_the_source_tree()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Mesh.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Mesh.sln not found above the test binaries");
        }
        var files = Directory.GetFiles(Path.Combine(root, "src", "Kernels", "Ptx"), "*.ptx").Select(Path.GetFileNameWithoutExtension).Order();
        Assert.Equal(files, PtxModules.All.Select(m => m.Name));
    }

    [Fact]
    public void Every_kernel_the_host_launches_exists_in_the_PTX()
    {
        var entries = PtxModules.All.SelectMany(m => m.Entries.Select(e => (m.Name, e))).ToHashSet();
        foreach (var (module, entry) in CudaKernels.EntryPoints)
        {
            Assert.Contains((module, entry), entries);
        }
    }

    [Fact]
    public void A_file_without_a_targets_header_has_no_targets()
    {
        var parsed = PtxModules.Parse("x", ".version 8.0\n.visible .entry k()\n{ ret; }");
        Assert.Empty(parsed.Targets);
        Assert.Equal(["k"], parsed.Entries);
    }
}
