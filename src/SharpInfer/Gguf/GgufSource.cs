using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using SharpInfer.Tensors;

namespace SharpInfer.Gguf;

/// <summary>Where the bytes of a GGUF file live: a read-only memory map of a file, or pinned memory.</summary>
internal abstract unsafe class GgufSource : IDisposable
{
    public abstract byte* Pointer { get; }

    public abstract long Length { get; }

    public abstract void Dispose();

    public static GgufSource Map(string path)
    {
        if (Directory.Exists(path)) throw new IOException($"{path} is a directory, not a GGUF file");
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"file not found: {path}", path);
        if (info.Length == 0) return new ArraySource([]);
        return new MappedSource(path, info.Length);
    }

    private sealed class MappedSource : GgufSource
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;
        private readonly byte* _pointer;
        private readonly long _length;
        private int _disposed;

        public MappedSource(string path, long length)
        {
            _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
            try
            {
                _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                byte* p = null;
                _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
                MemoryAdvice.AdviseHugePages(p, (long)_view.SafeMemoryMappedViewHandle.ByteLength);
                _pointer = p + _view.PointerOffset;
                _length = length;
            }
            catch
            {
                _file.Dispose();
                throw;
            }
        }

        public override byte* Pointer => _pointer;

        public override long Length => _length;

        public override void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }

    public sealed class ArraySource : GgufSource
    {
        private readonly byte[] _bytes;
        private GCHandle _handle;

        public ArraySource(byte[] bytes)
        {
            _bytes = bytes;
            _handle = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        }

        public override byte* Pointer => (byte*)_handle.AddrOfPinnedObject();

        public override long Length => _bytes.Length;

        public override void Dispose()
        {
            if (_handle.IsAllocated) _handle.Free();
        }
    }
}
