namespace MtaFunctions.Tests.Policy.Dane;

/// <summary>The test classes that share one <see cref="DnssecLab"/> (started once for all of them).</summary>
[CollectionDefinition(Name)]
public sealed class DnssecLabCollection : ICollectionFixture<DnssecLab>
{
    public const string Name = "dnssec-lab";
}
