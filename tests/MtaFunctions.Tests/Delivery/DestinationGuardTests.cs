using System.Net;
using MtaFunctions.Core.Delivery;

namespace MtaFunctions.Tests.Delivery;

public sealed class DestinationGuardTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("fd00::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("2001:db8::1")]
    public void IsAllowed_NonPublicAddress_RefusedUnlessAllowed(string address)
    {
        Assert.False(new DestinationGuard(false).IsAllowed(IPAddress.Parse(address)));
        Assert.True(new DestinationGuard(true).IsAllowed(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("9.9.9.9")]
    [InlineData("172.32.0.1")]
    [InlineData("2a00:1450:4001::1")]
    public void IsAllowed_PublicAddress_Allowed(string address) =>
        Assert.True(new DestinationGuard(false).IsAllowed(IPAddress.Parse(address)));
}
