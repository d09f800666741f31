using System.Runtime.InteropServices;

namespace SharpInfer.Files;

/// <summary>
/// What a path ends at on a Unix file system (links followed): device, inode and file type. .NET reports FIFOs,
/// devices and regular files alike (<c>FileAttributes.Normal</c>), and shows no inode, so this asks <c>stat</c>
/// through the runtime's own native shim, whose layout is the same on every Unix .NET runs on.
/// </summary>
internal readonly record struct FileIdentity(long Device, long Inode, int Type)
{
    private const int TypeMask = 0xF000, RegularType = 0x8000;

    // Offsets in the shim's FileStatus: Flags, Mode, Uid, Gid (4 bytes each), Size and twelve more 8-byte fields
    // (times, Dev at 88, RDev, Ino at 104). The buffer is larger than the struct, so a longer future one still fits.
    private const int ModeOffset = 4, DeviceOffset = 88, InodeOffset = 104, BufferBytes = 512;

    /// <summary>Whether the path ends at a regular file (not a FIFO, device, socket or directory).</summary>
    public bool IsRegularFile => Type == RegularType;

    /// <summary>The identity of what <paramref name="path"/> names, or null where it cannot be known (no such file, Windows).</summary>
    public static unsafe FileIdentity? Of(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        byte* status = stackalloc byte[BufferBytes];
        try
        {
            if (SystemNativeStat(path, status) != 0) return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        return new FileIdentity(*(long*)(status + DeviceOffset), *(long*)(status + InodeOffset), *(int*)(status + ModeOffset) & TypeMask);
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true)]
    private static extern unsafe int SystemNativeStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte* status);
}
