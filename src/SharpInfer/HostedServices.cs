using SharpInfer.Inference;

namespace SharpInfer;

/// <summary>What the <c>Microsoft.Extensions.AI</c> clients hand out through <c>GetService</c>.</summary>
internal static class HostedServices
{
    /// <summary>
    /// For an unkeyed request: the client itself, its metadata, its <see cref="InferenceHost"/> or its
    /// <see cref="Models.Model"/>, whichever is of <paramref name="serviceType"/>; otherwise null.
    /// </summary>
    public static object? Find(Type serviceType, object? serviceKey, object client, object metadata, InferenceHost host)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        foreach (object candidate in (object[])[client, metadata, host, host.Model])
        {
            if (serviceType.IsInstanceOfType(candidate)) return candidate;
        }
        return null;
    }
}
