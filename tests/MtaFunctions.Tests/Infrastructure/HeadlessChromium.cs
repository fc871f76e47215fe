using Microsoft.Playwright;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>Debian's chromium, headless, driven by Playwright; collects the page's errors.</summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private const string Executable = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;
    private readonly IBrowserContext _browser;

    private HeadlessChromium(IPlaywright playwright, IBrowserContext browser, IPage page)
    {
        _playwright = playwright;
        _browser = browser;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                Errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => Errors.Add(error);
        page.RequestFailed += (_, request) => Errors.Add("request failed: " + request.Url);
    }

    /// <summary>The one page.</summary>
    public IPage Page { get; }

    /// <summary>Console errors, script errors and failed requests of the page.</summary>
    public List<string> Errors { get; } = [];

    public static async Task<HeadlessChromium> LaunchAsync()
    {
        var playwright = await Playwright.CreateAsync();

        // A new empty profile (--user-data-dir), which Playwright takes as the persistent context's folder.
        var browser = await playwright.Chromium.LaunchPersistentContextAsync(
            Directory.CreateTempSubdirectory("chromium").FullName,
            new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = Executable,
                Headless = true,
                Args =
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                ],
            });
        var page = browser.Pages.Count > 0 ? browser.Pages[0] : await browser.NewPageAsync();
        return new HeadlessChromium(playwright, browser, page);
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
