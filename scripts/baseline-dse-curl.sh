#!/usr/bin/env bash
# The documented way to set up one Data Science Engine in strict mode, with S3, Kerberos and TLS:
# one curl per request, one after the other, checking every answer. The peer of
# `dcos-creds dse setup` in scripts/bench-dse.sh.
#
#   DCOS_URL=... DCOS_TLS_CA_PATH=ca.pem DCOS_ACS_TOKEN=... AWS_ACCESS_KEY_ID=... \
#   AWS_SECRET_ACCESS_KEY=... scripts/baseline-dse-curl.sh KEYTAB KEYSTORE PASSWORD_FILE
#
# What the Security, S3, Kerberos and TLS pages have an admin do for the service
# `data-science-engine`: a key pair (openssl, as `dcos security org service-accounts keypair`
# does), the service account, its login secret, the ten Mesos permissions of strict mode, the
# two AWS secrets, the keytab, the keystore and its password as secrets, and read on each
# secret's name and value for the account. Each grant creates its ACL first (409: it exists).
# Values and the token travel on standard input and in a header file, never in argv.
set -euo pipefail

keytab="${1:?usage: baseline-dse-curl.sh KEYTAB KEYSTORE PASSWORD_FILE}"
keystore="${2:?}"
password_file="${3:?}"
: "${DCOS_URL:?}" "${DCOS_TLS_CA_PATH:?}" "${DCOS_ACS_TOKEN:?}"
: "${AWS_ACCESS_KEY_ID:?}" "${AWS_SECRET_ACCESS_KEY:?}"
svc=data-science-engine

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
printf 'authorization: token=%s\n' "$DCOS_ACS_TOKEN" >"$work/headers"

# put PATH OK_STATUSES CONTENT_TYPE [BODY on stdin]: one PUT; fails unless the status is one of
# OK_STATUSES.
put() {
  local status
  status="$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$DCOS_TLS_CA_PATH" \
    -H "@$work/headers" -H "content-type: $3" -X PUT --data-binary @- "$DCOS_URL$1")"
  case " $2 " in
    *" $status "*) ;;
    *) echo "PUT $1 answered $status" >&2; exit 1 ;;
  esac
}

# grant RID ACTION: the ACL, then the account's grant on it.
grant() {
  local rid="${1//\//%252F}"
  printf '{"description":"%s"}' "$1" | put "/acs/api/v1/acls/$rid" "201 409" application/json
  put "/acs/api/v1/acls/$rid/users/$svc/$2" "204 409" application/json </dev/null
}

# text_secret NAME [VALUE on stdin] and binary_secret NAME FILE: a secret and its two reads.
text_secret() {
  jq -Rsc '{value: .}' | put "/secrets/v1/secret/default/$svc/$1" 201 application/json
  grant "dcos:secrets:list:default:$svc/$1" read
  grant "dcos:secrets:default:$svc/$1" read
}
binary_secret() {
  put "/secrets/v1/secret/default/$svc/$1" 201 application/octet-stream <"$2"
  grant "dcos:secrets:list:default:$svc/$1" read
  grant "dcos:secrets:default:$svc/$1" read
}

openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/private.pem"
openssl pkey -in "$work/private.pem" -pubout -out "$work/public.pem"
jq -Rsc '{description: "Data Science Engine", public_key: .}' <"$work/public.pem" |
  put "/acs/api/v1/users/$svc" 201 application/json
jq -Rsc --arg uid "$svc" \
  '{uid: $uid, private_key: ., login_endpoint: "https://leader.mesos/acs/api/v1/auth/login"} | tojson' \
  <"$work/private.pem" | jq -rj . | text_secret service-account
for rid in master:task:user:nobody agent:task:user:nobody "master:framework:role:$svc" \
  "master:reservation:role:$svc" "master:volume:role:$svc" "master:task:role:$svc" \
  "master:task:principal:$svc" "master:task:app_id:$svc"; do
  grant "dcos:mesos:$rid" create
done
for rid in "master:reservation:principal:$svc" "master:volume:principal:$svc"; do
  grant "dcos:mesos:$rid" delete
done
printf '%s' "$AWS_ACCESS_KEY_ID" | text_secret aws_access_key_id
printf '%s' "$AWS_SECRET_ACCESS_KEY" | text_secret aws_secret_access_key
binary_secret keytab "$keytab"
binary_secret tls_keystore "$keystore"
printf '%s' "$(cat "$password_file")" | text_secret tls_keystore_password
