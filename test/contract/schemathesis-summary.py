"""Summarises a Schemathesis NDJSON report: operations with a failure, by check, and the refusals
of schema-valid data sorted by what refused them. The reasons listed in KNOWN are the rules the
document cannot state (docs/api.md, "What the schema cannot say"); anything else refused is a
disagreement between the document and validation, printed with an example."""

import base64
import collections
import json
import re
import sys

# (reason, pattern on the error body); the first that matches names the refusal.
KNOWN = [
    ("Idempotency-Key reused with another request (422)", r'"type":"idempotency_error"'),
    ("starting_after is not an object of the list", r'"param":"starting_after"'),
    ("phone number not valid in its country", r"valid phone number|or an E\.164 phone number"),
    ("external_source filter without external_id", r"external_source filters together with external_id"),
    ("refund or credit beyond what is left", r"can still be (refunded|credited)"),
    ("wallet balance or its worth", r"the wallet holds|a balance and its worth"),
    ("invoice line amounts past 2^53 - 1", r"line amounts and their sum"),
    ("paid_at on a payment that is not succeeded", r"paid_at is set on a succeeded payment only"),
    ("tags or metadata of the customer over their limit", r"a customer holds at most|metadata holds at most"),
    ("exit_tag equal to trigger_tag", r"exit_tag must differ"),
    ("send window that starts where it ends", r"start and end differ"),
    ("template does not render", r"template|Liquid|render"),
    ("webhook URL not public", r"Webhook URLs must be public"),
]


def body_of(interaction):
    response = (interaction or {}).get("response") or {}
    content = response.get("content") or {}
    text = base64.b64decode(content["$base64"]).decode("utf-8", "replace") if "$base64" in content else ""
    return response.get("status_code"), re.sub(r'"request_id":"[^"]*"', "", text)


def main(path):
    failing = collections.defaultdict(set)  # check -> operations
    reasons = collections.defaultdict(set)  # reason -> operations
    unexplained = collections.defaultdict(list)  # (check, operation) -> examples
    for line in open(path, encoding="utf-8"):
        scenario = json.loads(line).get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario["recorder"]
        operation = recorder["label"]
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check["status"] != "failure":
                    continue
                name = check["name"]
                failing[name].add(operation)
                status, body = body_of(recorder.get("interactions", {}).get(case_id))
                if name == "positive_data_acceptance":
                    reason = next((label for label, pattern in KNOWN if re.search(pattern, body)), None)
                    if reason:
                        reasons[reason].add(operation)
                        continue
                case = recorder["cases"].get(case_id, {}).get("value", {})
                sent = {key: case[key] for key in ("path_parameters", "query", "body") if case.get(key) not in (None, {})}
                unexplained[(name, operation)].append(f"{json.dumps(sent)[:240]} -> {status} {body[:240]}")

    operations = set().union(*failing.values()) if failing else set()
    print(f"Operations with a failure: {len(operations)}")
    for name in sorted(failing):
        print(f"  {name}: {len(failing[name])}")
    explained_only = {
        operation
        for operation in failing.get("positive_data_acceptance", set())
        if ("positive_data_acceptance", operation) not in unexplained
    }
    print(f"  positive_data_acceptance, only for reasons the schema cannot say: {len(explained_only)}")
    print("\nSchema-valid requests refused, by reason (operations):")
    for reason, ops in sorted(reasons.items(), key=lambda item: -len(item[1])):
        print(f"  {len(ops):3}  {reason}")
    if unexplained:
        print("\nNot explained by a rule the schema cannot say (one example each):")
        for (name, operation), examples in sorted(unexplained.items()):
            print(f"  {name} {operation} ({len(examples)}): {examples[0]}")


if __name__ == "__main__":
    main(sys.argv[1])
