using System.Diagnostics;
using MtaFunctions.Core.Delivery;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// Proof that an instance's process is gone, on this machine's real <c>/proc</c> with real child processes: only
/// an ended process is ever proven gone; a running one, or one this process cannot see, never is.
/// </summary>
public sealed class ProcessStampTests
{
    private static ProcessStamp Self => ProcessStamp.Current ?? throw new InvalidOperationException("no /proc stamp on this machine (the tests run on Linux)");

    [Fact]
    public void Current_NamesThisProcess_AndReadsBackFromItsStoredForm()
    {
        Assert.Equal(Environment.ProcessId, Self.Pid);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(), Self.BootId);
        Assert.StartsWith("pid:[", Self.PidNamespace);
        Assert.Equal(Self, ProcessStamp.Parse(Self.ToString()));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("boot pid:[1] 12")]
    [InlineData("boot pid:[1] x 12")]
    [InlineData("boot pid:[1] -3 12")]
    public void Parse_NotAStamp_Null(string? text) => Assert.Null(ProcessStamp.Parse(text));

    [Fact]
    public void ProvesGone_ThisProcess_OrNothing_False()
    {
        Assert.False(Self.ProvesGone(Self));
        Assert.False(Self.ProvesGone(null));
    }

    [Fact]
    public void ProvesGone_RunningChild_False_KilledChild_True()
    {
        using var child = Process.Start("sleep", "60");
        var stamp = ProcessStamp.Of(child.Id);
        Assert.NotNull(stamp);

        Assert.False(Self.ProvesGone(stamp));

        child.Kill();
        child.WaitForExit();
        Assert.True(Self.ProvesGone(stamp));
    }

    [Fact]
    public void ProvesGone_KilledChildNotYetReaped_True()
    {
        // A zombie keeps its /proc entry and PID until its parent reaps it, and runs no more code. `sh` starts
        // `sleep` and then sleeps itself, never waiting for it: the killed sleep stays a zombie meanwhile.
        using var parent = Process.Start(new ProcessStartInfo("sh", ["-c", "sleep 60 & echo $!; exec sleep 60"]) { RedirectStandardOutput = true })!;
        try
        {
            var zombie = int.Parse(parent.StandardOutput.ReadLine()!, System.Globalization.CultureInfo.InvariantCulture);
            var stamp = ProcessStamp.Of(zombie);
            Assert.NotNull(stamp);
            Assert.False(Self.ProvesGone(stamp));

            // Only once `sh` has become `sleep` (exec) is nobody left to reap the child: a shell still running
            // reaps a background job that ends, and the PID is gone instead of a zombie.
            while (File.ReadAllText($"/proc/{parent.Id}/comm").Trim() != "sleep")
            {
                Thread.Sleep(20);
            }

            using (var sleeper = Process.GetProcessById(zombie))
            {
                sleeper.Kill();
            }

            while (!File.ReadAllText($"/proc/{zombie}/stat").Contains(") Z ", StringComparison.Ordinal))
            {
                Thread.Sleep(20);
            }

            Assert.True(Self.ProvesGone(stamp));
        }
        finally
        {
            parent.Kill(entireProcessTree: true);
            parent.WaitForExit();
        }
    }

    [Fact]
    public void ProvesGone_PidNowAnotherProcesses_True()
    {
        // The PID runs, but started at another moment: a later process that got the number.
        using var child = Process.Start("sleep", "60");
        try
        {
            var stamp = ProcessStamp.Of(child.Id)!;
            Assert.True(Self.ProvesGone(stamp with { StartTicks = stamp.StartTicks - 1 }));
        }
        finally
        {
            child.Kill();
            child.WaitForExit();
        }
    }

    [Fact]
    public void ProvesGone_OtherBootOrPidNamespace_NeverProven()
    {
        // Another machine, a reboot, or a container whose PIDs we do not see: our /proc says nothing about it,
        // even for a PID that is free here.
        using var child = Process.Start("sleep", "60");
        var stamp = ProcessStamp.Of(child.Id)!;
        child.Kill();
        child.WaitForExit();
        Assert.True(Self.ProvesGone(stamp));

        Assert.False(Self.ProvesGone(stamp with { BootId = Guid.NewGuid().ToString() }));
        Assert.False(Self.ProvesGone(stamp with { PidNamespace = "pid:[1]" }));
    }
}
