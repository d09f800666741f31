using Microsoft.AspNetCore.Http;
using SharpInfer.Inference;

namespace SharpInfer.Server.Api;

/// <summary>Hands a request to the scheduler, turning its refusals into API errors.</summary>
internal static class Submission
{
    /// <summary>
    /// Submits with the connection's lifetime as cancellation (a client that goes away stops its request). A prompt
    /// longer than the context is a 400, a full queue or a shutdown a 503.
    /// </summary>
    public static GenerationStream Submit(LoadedModel model, GenerationRequest request, HttpContext http, string promptParam)
    {
        int capacity = model.Scheduler.Capacity;
        if (request.PromptTokens.Count > capacity)
        {
            throw new ApiException(400, $"the prompt is {request.PromptTokens.Count} tokens, more than the context's {capacity}; shorten it or start the server with a larger -c", promptParam, "context_length_exceeded");
        }
        try
        {
            return model.Scheduler.Submit(request, http.RequestAborted);
        }
        catch (SchedulerUnavailableException e)
        {
            throw new ApiException(503, e.ShuttingDown ? "the server is shutting down" : e.Message, code: e.ShuttingDown ? "shutting_down" : "queue_full");
        }
        catch (ArgumentException e)
        {
            throw new ApiException(400, e.Message);
        }
    }

    public static ApiException ShuttingDown() => new(503, "the server is shutting down; the request was cancelled", code: "shutting_down");

    /// <summary>A choice the server cancelled (on shutdown) while the client is still there: the reply is a 503.</summary>
    public static void ThrowIfCancelledByServer(IEnumerable<StopReason> reasons)
    {
        if (reasons.Contains(StopReason.Cancelled)) throw ShuttingDown();
    }
}
