#!/usr/bin/env bash
# Runs Schemathesis against a running API's /openapi.json and prints, per check, the operations
# with a failure, each failure sorted by what refused it (see docs/api.md, "What the schema
# cannot say"). It starts nothing: give it the base URL of a running service and an API key.
#
#   test/contract/schemathesis.sh http://127.0.0.1:3000 sk_sandbox_...
#
# Schemathesis is installed once into a virtualenv in the per-user cache. Environment:
#   ST_MAX_EXAMPLES  test cases per operation and phase (default 30)
#   ST_SEED          the generator's seed (default 1), so two runs compare
#   ST_REPORT_DIR    where the NDJSON report goes (default a new temporary folder)
# Use a key of a merchant of its own: the run writes customers, payments and the rest.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <base url> <api key>" >&2
  exit 2
fi
BASE_URL=${1%/}
API_KEY=$2
VERSION=4.32.5
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/customer-lifecycle/schemathesis"
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "$("$VENV/bin/st" --version 2>/dev/null)" != "st, version $VERSION" ]; then
  echo "Installing schemathesis $VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$VERSION"
fi

REPORT_DIR=${ST_REPORT_DIR:-$(mktemp -d -t schemathesis.XXXXXX)}
mkdir -p "$REPORT_DIR"

# The checks that compare what the document allows with what the API does: schema-valid data
# accepted, schema-invalid data refused, answers as documented. No NUL bytes: every string of the
# API refuses them (PostgreSQL cannot store them), a rule of the whole API that docs/api.md states
# once rather than a pattern on every field. Not stateful: links between operations are not
# declared, so that phase would only repeat the others. schemathesis_hooks.py gives each write a
# new Idempotency-Key, as clients are asked to. No example database: a run replays no
# failure of an earlier one, and writes nothing into the checkout.
status=0
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks "$VENV/bin/st" run "$BASE_URL/openapi.json" \
  --header "x-api-key: $API_KEY" \
  --checks positive_data_acceptance,negative_data_rejection,response_schema_conformance,not_a_server_error,status_code_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "${ST_MAX_EXAMPLES:-30}" \
  --seed "${ST_SEED:-1}" \
  --continue-on-failure \
  --generation-allow-x00 false \
  --generation-database :memory: \
  --report ndjson --report-dir "$REPORT_DIR" \
  --no-color >"$REPORT_DIR/st.log" 2>&1 || status=$?
tail -n 25 "$REPORT_DIR/st.log"
python3 "$HERE/schemathesis-summary.py" "$REPORT_DIR"/ndjson-*.ndjson
echo "Full log and report: $REPORT_DIR"
exit "$status"
