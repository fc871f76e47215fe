namespace MtaFunctions.Tests.Infra;

/// <summary>
/// A stand-in <c>az</c> and <c>azd</c> on PATH for running the scripts of <c>infra/</c> here, where Azure
/// cannot be reached: the Azure control plane is the one boundary these tests replace. They log every
/// call, <c>az</c> answers the deployment-output queries from fixed values and keeps Key Vault secrets as
/// files, <c>azd env get-values</c> prints the azd environment a test wrote (<see cref="WriteAzdEnvironment"/>).
/// </summary>
public sealed class FakeAzureCli : IDisposable
{
    public const string FunctionApp = "func-mta-test";
    public const string KeyVault = "kv-test";
    public const string Endpoint = "https://func-mta-test.azurewebsites.net/api/tlsrpt";
    public const string EgressIp = "203.0.113.25";
    public const string EgressIpName = "pip-mta-test";
    public const string Hostname = "mta.example.com";

    public FakeAzureCli()
    {
        Directory.CreateDirectory(BinDirectory);
        Directory.CreateDirectory(SecretsDirectory);
        Directory.CreateDirectory(Path.Combine(Root, "azd-env"));
        foreach (var (name, script) in new[] { ("az", Script), ("azd", AzdScript) })
        {
            var file = Path.Combine(BinDirectory, name);
            File.WriteAllText(file, script);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }

    /// <summary>The DKIM_KEYS output the stand-in deployment returns.</summary>
    public const string DkimKeys = "rsa,example.com,mta-rsa,rsa-sha256,dkim-rsa ed25519,example.com,mta-ed25519,ed25519-sha256,dkim-ed25519";

    /// <summary>The calls of <c>azd</c>, one line each.</summary>
    public IReadOnlyList<string> AzdCalls =>
        File.Exists(Path.Combine(Root, "azd-calls.log")) ? File.ReadAllLines(Path.Combine(Root, "azd-calls.log")) : [];

    /// <summary>Writes the azd environment <paramref name="name"/> as <c>azd env get-values</c> prints it (KEY="value").</summary>
    public void WriteAzdEnvironment(string name, IReadOnlyDictionary<string, string> values) =>
        File.WriteAllLines(Path.Combine(Root, "azd-env", name), values.Select(v => $"{v.Key}=\"{v.Value}\""));

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "mta-fake-az-" + Guid.NewGuid().ToString("N"));

    /// <summary>Put this first on PATH.</summary>
    public string BinDirectory => Path.Combine(Root, "bin");

    /// <summary>Secret name -> file with its value.</summary>
    public string SecretsDirectory => Path.Combine(Root, "secrets");

    /// <summary>One line per call: the arguments, space-separated.</summary>
    public IReadOnlyList<string> Calls =>
        File.Exists(Path.Combine(Root, "calls.log")) ? File.ReadAllLines(Path.Combine(Root, "calls.log")) : [];

    /// <summary>Whether <c>az account show</c> says "logged in".</summary>
    public bool LoggedIn
    {
        set
        {
            var marker = Path.Combine(Root, "logged-out");
            if (value)
            {
                File.Delete(marker);
            }
            else
            {
                File.WriteAllText(marker, "");
            }
        }
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);

    private string Script => $$"""
        #!/usr/bin/env bash
        set -u
        state="{{Root}}"
        echo "$*" >> "$state/calls.log"
        value_of() { # value_of --flag args...: the argument after --flag
          local flag="$1"; shift
          while [ $# -gt 0 ]; do [ "$1" = "$flag" ] && { echo "$2"; return; }; shift; done
        }
        case "$1 $2" in
          "account show")
            [ -e "$state/logged-out" ] && { echo "Please run 'az login' to setup account." >&2; exit 1; }
            case "$(value_of --query "$@")" in
              name) echo "Test Subscription" ;;
              user.type) echo "user" ;;
              user.name) echo "operator@example.com" ;;
            esac ;;
          "ad signed-in-user") echo "00000000-0000-0000-0000-00000000abcd" ;;
          "group create" | "provider register" | "deployment sub" | "functionapp deployment" | "functionapp restart") ;;
          "keyvault secret")
            name="$(value_of --name "$@")"
            if [ "$3" = show ]; then
              [ -f "$state/secrets/$name" ] || { echo "SecretNotFound" >&2; exit 3; }
              cat "$state/secrets/$name"
            else
              cp "$(value_of --file "$@")" "$state/secrets/$name"
            fi ;;
          *) echo "fake az: unexpected call: $*" >&2; exit 64 ;;
        esac
        if [ "$1 $2 $3" = "deployment sub show" ]; then
          case "$(value_of --query "$@")" in
            properties.outputs.AZURE_FUNCTION_NAME.value) echo "{{FunctionApp}}" ;;
            properties.outputs.AZURE_KEY_VAULT_NAME.value) echo "{{KeyVault}}" ;;
            properties.outputs.TLSRPT_ENDPOINT.value) echo "{{Endpoint}}" ;;
            properties.outputs.EGRESS_IP.value) echo "{{EgressIp}}" ;;
            properties.outputs.EGRESS_IP_NAME.value) echo "{{EgressIpName}}" ;;
            properties.outputs.MTA_HOSTNAME.value) echo "{{Hostname}}" ;;
            properties.outputs.DKIM_KEYS.value) echo "{{DkimKeys}}" ;;
            *) echo "fake az: unknown output query" >&2; exit 64 ;;
          esac
        fi
        exit 0
        """;

    private string AzdScript => $$"""
        #!/usr/bin/env bash
        set -u
        state="{{Root}}"
        echo "$*" >> "$state/azd-calls.log"
        if [ "$1 $2" = "env get-values" ] && [ "$3" = "--environment" ]; then
          [ -f "$state/azd-env/$4" ] || { echo "ERROR: environment '$4' does not exist" >&2; exit 1; }
          cat "$state/azd-env/$4"
          exit 0
        fi
        echo "fake azd: unexpected call: $*" >&2
        exit 64
        """;
}
