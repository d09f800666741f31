namespace SharpInfer.Models;

/// <summary>A model file cannot be used: missing or mis-shaped tensor, unsupported architecture or type, bad metadata.</summary>
public sealed class ModelLoadException : Exception
{
    /// <summary>Creates the exception with a message that names the problem.</summary>
    public ModelLoadException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}
