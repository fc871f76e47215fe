using MtaFunctions.Tool;

// The operator's tool: `mta --help` lists the verbs. Exit codes: 0 ok, 1 failure, 2 usage.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
return await MtaTool.RunAsync(args, new ToolEnvironment(Console.Out, Console.Error, Directory.GetCurrentDirectory()), cancel.Token);
