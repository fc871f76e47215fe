#!/usr/bin/env bash
# Shared by infra/deploy.sh and the azd postprovision hook (infra/postprovision.sh): the DKIM key step and
# the DNS records to publish, so `azd up` and deploy.sh leave the same keys and print the same records.
# Source it: it defines functions and the two results of store_dkim_keys.

# Set by store_dkim_keys, read by print_dns_records and the callers.
dkim_records=()
dkim_created=0

# Prints the DKIM TXT value (v=DKIM1; k=...; p=...) of a PEM private key.
dkim_record() {
  local key="$1" algorithm="$2"
  if [ "$algorithm" = ed25519-sha256 ]; then
    # RFC 8463 §4.2: p= is the bare 32-byte Ed25519 public key, the last 32 bytes of its DER form.
    printf 'v=DKIM1; k=ed25519; p=%s' "$(openssl pkey -in "$key" -pubout -outform DER | tail -c 32 | base64 -w0)"
  else
    printf 'v=DKIM1; k=rsa; p=%s' "$(openssl pkey -in "$key" -pubout -outform DER | base64 -w0)"
  fi
}

# store_dkim_keys VAULT KEYS WORKDIR: for each signature of KEYS (the DKIM_KEYS output of bicep/main.bicep:
# "name,domain,selector,algorithm,secretName" separated by spaces) keeps the Key Vault secret when it
# exists, else generates the key and stores it. Sets dkim_records (TXT records to publish) and
# dkim_created (how many keys were made now).
store_dkim_keys() {
  local vault="$1" keys="$2" work="$3" spec name domain selector algorithm secret key_file stored attempt
  dkim_records=()
  dkim_created=0
  for spec in $keys; do
    IFS=, read -r name domain selector algorithm secret <<<"$spec"
    [ -n "$secret" ] || { echo "DKIM key spec '$spec' is not name,domain,selector,algorithm,secretName" >&2; return 1; }
    key_file="$work/$secret.pem"
    if az keyvault secret show --vault-name "$vault" --name "$secret" --query value --output tsv >"$key_file" 2>/dev/null \
      && [ -s "$key_file" ]; then
      echo "DKIM key '$name': using secret $secret of $vault"
    else
      echo "DKIM key '$name': generating $algorithm key, storing it as secret $secret of $vault"
      (
        umask 077
        if [ "$algorithm" = ed25519-sha256 ]; then
          openssl genpkey -algorithm ED25519 -out "$key_file"
        else
          openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key_file" 2>/dev/null
        fi
      )
      # A fresh role assignment (Key Vault Secrets Officer) can take a few minutes to apply.
      stored=false
      for attempt in 1 2 3 4 5 6 7 8 9 10; do
        if az keyvault secret set --vault-name "$vault" --name "$secret" --file "$key_file" \
          --content-type application/x-pem-file --output none 2>/dev/null; then
          stored=true
          break
        fi
        echo "  Key Vault refused the secret (attempt $attempt; role assignment not active yet?), retrying in ${DKIM_RETRY_SECONDS:-30} s"
        sleep "${DKIM_RETRY_SECONDS:-30}"
      done
      if [ "$stored" = false ]; then
        echo "could not store DKIM key $secret in $vault; grant yourself Key Vault Secrets Officer and rerun" >&2
        rm -f "$key_file"
        return 1
      fi
      dkim_created=$((dkim_created + 1))
    fi
    dkim_records+=("$selector._domainkey.$domain. TXT \"$(dkim_record "$key_file" "$algorithm")\"")
    rm -f "$key_file"
  done
}

# print_dns_records DOMAIN HOSTNAME ENDPOINT EGRESS_IP EGRESS_IP_NAME RESOURCE_GROUP: what the operator
# publishes; the DKIM records are those store_dkim_keys set.
print_dns_records() {
  local domain="${1:-<your mail domain>}" hostname="${2:-<EHLO host name>}" endpoint="$3" egress_ip="$4" egress_ip_name="$5" resource_group="$6" record
  cat <<EOF2

TLS report endpoint (RFC 8460 https rua; POST application/tlsrpt+gzip or +json):
  $endpoint

DNS records to publish:
  # Reports about your domain's inbound TLS come to this app (RFC 8460 §3):
  _smtp._tls.$domain. TXT "v=TLSRPTv1; rua=$endpoint"
EOF2
  if [ -n "$egress_ip" ]; then
    cat <<EOF2
  # All outbound mail leaves from the NAT gateway's static IP $egress_ip:
  $hostname. A $egress_ip
  $domain. TXT "v=spf1 ip4:$egress_ip -all"      (merge into your existing SPF record, if any)
  # Reverse DNS (PTR) of $egress_ip -> $hostname, once the A record above resolves:
  #   az network public-ip update -g $resource_group -n $egress_ip_name --reverse-fqdn $hostname.
  #   (or redeploy with egressReverseFqdn=$hostname. / azd env set EGRESS_REVERSE_FQDN $hostname.)
EOF2
  else
    cat <<EOF2
  # No static egress IP (deployed without --vnet / VNET_ENABLED): outbound mail leaves from shared,
  # changing platform addresses that SPF cannot name and whose reverse DNS you cannot set; most receivers
  # will reject or junk such mail. Redeploy with --vnet for a NAT gateway with one static IP.
EOF2
  fi
  if [ ${#dkim_records[@]} -gt 0 ]; then
    echo "  # DKIM public keys of the TLS report signatures (split values over 255 characters into several strings):"
    for record in "${dkim_records[@]}"; do
      echo "  $record"
    done
  else
    echo "  # No DKIM signatures: deploy with a mail domain (-d / MAIL_DOMAIN, or dkimSignatures=...) to sign TLS report mail."
  fi
}
