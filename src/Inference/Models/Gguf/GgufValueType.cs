namespace Mesh.Inference.Models.Gguf;

/// <summary>Types of GGUF metadata values (the file format's own numbering).</summary>
public enum GgufValueType : uint
{
    /// <summary>An unsigned 8-bit integer.</summary>
    UInt8 = 0,

    /// <summary>A signed 8-bit integer.</summary>
    Int8 = 1,

    /// <summary>An unsigned 16-bit integer, little-endian.</summary>
    UInt16 = 2,

    /// <summary>A signed 16-bit integer, little-endian.</summary>
    Int16 = 3,

    /// <summary>An unsigned 32-bit integer, little-endian.</summary>
    UInt32 = 4,

    /// <summary>A signed 32-bit integer, little-endian.</summary>
    Int32 = 5,

    /// <summary>An IEEE 754 single, little-endian.</summary>
    Float32 = 6,

    /// <summary>One byte, 0 or 1 (any other value is refused).</summary>
    Bool = 7,

    /// <summary>A uint64 byte length, then that many bytes of UTF-8 (no terminator).</summary>
    String = 8,

    /// <summary>A uint32 element type, a uint64 count, then the elements (arrays of arrays are refused).</summary>
    Array = 9,

    /// <summary>An unsigned 64-bit integer, little-endian.</summary>
    UInt64 = 10,

    /// <summary>A signed 64-bit integer, little-endian.</summary>
    Int64 = 11,

    /// <summary>An IEEE 754 double, little-endian.</summary>
    Float64 = 12,
}
