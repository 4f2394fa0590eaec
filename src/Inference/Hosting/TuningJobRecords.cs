using Google.Protobuf;
using Mesh.Inference.Admin.V1;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Hosting;

/// <summary>
/// Tuning jobs' records on disk, so that <c>GetTuningJob</c> still answers after the replica restarts
/// (OpenAI's fine-tuning jobs outlive a restart too): one file a job, <c>&lt;id&gt;.pb</c>, holding the
/// <see cref="TuningJob"/> message as the RPCs return it, in the folder <see cref="Directory"/>
/// (<c>.tuning-jobs</c> inside the adapter directory). Each save writes a temporary file and moves it
/// over the record, so a crash leaves the old record or the new one, never half of one.
/// </summary>
/// <remarks>
/// The files are read back as untrusted input: one larger than <see cref="MaxRecordBytes"/>, one that is
/// not a <see cref="TuningJob"/>, or one whose id is not its file name is skipped with a warning and left
/// for an operator to look at; it never stops the replica from starting.
/// </remarks>
public sealed class TuningJobRecords(string directory, ILogger logger)
{
    /// <summary>A record is a few hundred bytes; anything past this is not one of ours.</summary>
    public const int MaxRecordBytes = 64 * 1024;

    /// <summary>The folder of the records (created on the first save).</summary>
    public string Directory { get; } = directory;

    /// <summary>Every readable record, oldest first (by <c>created_at</c>).</summary>
    public IReadOnlyList<TuningJob> Load()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        var jobs = new List<TuningJob>();
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, "*.pb"))
        {
            try
            {
                var info = new FileInfo(path);
                if (info.Length > MaxRecordBytes)
                {
                    throw new InvalidDataException($"{info.Length} bytes, more than a record's {MaxRecordBytes}");
                }

                var job = TuningJob.Parser.ParseFrom(File.ReadAllBytes(path));
                if (job.Id + ".pb" != info.Name)
                {
                    throw new InvalidDataException($"it holds job '{job.Id}'");
                }

                jobs.Add(job);
            }
            catch (Exception e) when (e is InvalidDataException or InvalidProtocolBufferException or IOException or UnauthorizedAccessException)
            {
                logger.LogWarning("Skipped the tuning job record {Path}: {Reason}", path, e.Message);
            }
        }

        return [.. jobs.OrderBy(j => j.CreatedAt).ThenBy(j => j.Id, StringComparer.Ordinal)];
    }

    /// <summary>Writes <paramref name="job"/>'s record, replacing the previous one atomically.</summary>
    /// <exception cref="IOException">The folder cannot be written.</exception>
    public void Save(TuningJob job)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, job.Id + ".pb");
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, job.ToByteArray());
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Removes the record of job <paramref name="id"/> (nothing when there is none).</summary>
    public void Delete(string id) => File.Delete(Path.Combine(Directory, id + ".pb"));
}
