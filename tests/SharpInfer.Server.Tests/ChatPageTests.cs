using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace SharpInfer.Server.Tests;

/// <summary>
/// The chat page in a real headless Chromium (Debian's <c>chromium</c> package, driven by Microsoft.Playwright; its own
/// browser download cannot work on these machines, and <c>.ci/run</c> installs the package when it is missing).
/// </summary>
public class ChatPageTests
{
    private const string Chromium = "/usr/bin/chromium";

    private static async Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (apt-get install -y chromium; .ci/run does this)");
        var args = Environment.UserName == "root" ? new[] { "--no-sandbox" } : [];
        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = args });
    }

    [Fact]
    public async Task TypeAMessageSeeTheStreamedReplyThenStopOne()
    {
        // 15 ms per step: a reply streams slowly enough to watch and to stop by hand.
        await using var server = await TestServer.StartAsync(o => o with { StepDelay = TimeSpan.FromMilliseconds(15) });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") consoleErrors.Add(message.Text); };
        await page.GotoAsync(server.Address.ToString());
        await Assertions.Expect(page.Locator("#model")).ToHaveTextAsync("stories260K.gguf");

        await page.FillAsync("#temperature", "0");
        await page.FillAsync("#max_tokens", "40");
        // Count the reply's updates as they happen: a streamed reply grows in many steps.
        await page.EvaluateAsync("() => { window.updates = 0; new MutationObserver(() => window.updates++).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true }); }");
        await page.FillAsync("#input", "Once upon a time");
        await page.ClickAsync("#send");
        var reply = page.Locator(".message.assistant").Nth(0);
        await Assertions.Expect(reply).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 30_000 });
        Assert.Equal(OpenAiSdkTests.Lone(OpenAiSdkTests.ChatMlPrompt("Once upon a time"), 40), await reply.Locator(".text").TextContentAsync());
        Assert.True(await page.EvaluateAsync<int>("() => window.updates") > 10, "the reply did not arrive in pieces");
        Assert.Matches(new Regex(@"^40 tokens · [0-9.]+ tokens/s · first token \d+ ms, \d+ prompt tokens cached · length limit$"), await reply.Locator(".stats").TextContentAsync());
        Assert.Equal("Once upon a time", await page.Locator(".message.user").Nth(0).TextContentAsync());

        // A long reply, stopped by hand once some of it has arrived.
        await page.FillAsync("#max_tokens", "1500");
        await page.FillAsync("#input", "Tell me more");
        await page.PressAsync("#input", "Enter");
        var second = page.Locator(".message.assistant").Nth(1);
        await Assertions.Expect(second.Locator(".text")).ToHaveTextAsync(new Regex(@"\S.{10,}", RegexOptions.Singleline), new() { Timeout = 30_000 });
        Assert.True(await page.IsEnabledAsync("#stop"));
        Assert.False(await page.IsEnabledAsync("#send"));
        await page.ClickAsync("#stop");
        await Assertions.Expect(second).ToHaveAttributeAsync("data-state", "stopped");
        await Assertions.Expect(second.Locator(".stats")).ToContainTextAsync("stopped");
        Assert.True(await page.IsEnabledAsync("#send"));
        Assert.False(await page.IsEnabledAsync("#stop"));

        // The server stopped the sequence too: nothing runs, and far fewer than 1500 tokens were made.
        var m = await server.IdleMetricsAsync();
        Assert.True(m["sharpinfer_generated_tokens_total"] < 40 + 500, $"{m["sharpinfer_generated_tokens_total"]} tokens generated: the stop did not reach the server");
        Assert.Empty(consoleErrors);
    }
}
