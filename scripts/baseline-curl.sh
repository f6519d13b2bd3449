#!/usr/bin/env bash
# The runbook way: onboard COUNT services' AWS key pairs with one curl per request, one after
# the other, checking every answer. The peer of `dcos-creds apply` in scripts/bench.sh.
#
#   DCOS_URL=... DCOS_TLS_CA_PATH=ca.pem DCOS_ACS_TOKEN=... \
#   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... scripts/baseline-curl.sh COUNT [PREFIX]
#
# For each service PREFIX-N: create the two secrets PREFIX-N/aws_access_key_id and
# PREFIX-N/aws_secret_access_key, create the list ACL of each (409: it exists), and grant the
# service account `dse` read on it (409: granted already). Six requests per service. Values and
# the token travel on standard input and in a header file, never in argv.
set -euo pipefail

count="${1:?usage: baseline-curl.sh COUNT [PREFIX]}"
prefix="${2:-svc}"
: "${DCOS_URL:?}" "${DCOS_TLS_CA_PATH:?}" "${DCOS_ACS_TOKEN:?}"
: "${AWS_ACCESS_KEY_ID:?}" "${AWS_SECRET_ACCESS_KEY:?}"

headers="$(mktemp)"
trap 'rm -f "$headers"' EXIT
chmod 600 "$headers"
printf 'authorization: token=%s\ncontent-type: application/json\n' "$DCOS_ACS_TOKEN" >"$headers"

# put PATH OK_STATUSES [BODY on stdin]: one PUT; fails unless the status is one of OK_STATUSES.
put() {
  local status
  status="$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$DCOS_TLS_CA_PATH" \
    -H "@$headers" -X PUT --data-binary @- "$DCOS_URL$1")"
  case " $2 " in
    *" $status "*) ;;
    *) echo "PUT $1 answered $status" >&2; exit 1 ;;
  esac
}

for i in $(seq -f '%05g' 1 "$count"); do
  service="$prefix-$i"
  printf '{"value":"%s"}' "$AWS_ACCESS_KEY_ID" | put "/secrets/v1/secret/default/$service/aws_access_key_id" 201
  printf '{"value":"%s"}' "$AWS_SECRET_ACCESS_KEY" | put "/secrets/v1/secret/default/$service/aws_secret_access_key" 201
  for name in aws_access_key_id aws_secret_access_key; do
    rid="dcos:secrets:list:default:$service%252F$name"
    printf '{"description":"list %s"}' "$service/$name" | put "/acs/api/v1/acls/$rid" "201 409"
    put "/acs/api/v1/acls/$rid/users/dse/read" "204 409" </dev/null
  done
done
