"""Summarises a Schemathesis NDJSON report: operations with a failure, by check, and the refusals
of schema-valid data sorted by what refused them. The reasons listed in KNOWN are the rules the
document cannot state (docs/api.md, "What the schema cannot say"); anything else refused is a
disagreement between the document and validation, printed with an example."""

import base64
import collections
import json
import re
import sys

# (reason, pattern on one refused field's message, or on the whole error body for refusals that
# name no field list); a refusal is explained when a reason matches each field it names.
KNOWN = [
    ("Idempotency-Key reused with another request (422)", r"was already used with a different request"),
    ("starting_after is not an object of the list", r"^No such (object|customer in this list): "),
    ("phone number not valid in its country", r"valid phone number|or an E\.164 phone number"),
    ("external_source filter without external_id", r"^external_source filters together with external_id$"),
    ("external_source set on a customer without external_id", r"^external_source needs an external_id$"),
    ("refund or credit beyond what is left", r"can still be (refunded|credited)|the credit note is (not for|in )"),
    ("wallet balance or its worth", r"^the wallet holds|a balance and its worth"),
    ("invoice line amounts past 2^53 - 1", r"^line amounts and their sum"),
    ("tags or metadata of the customer over their limit", r"^a customer holds at most|^metadata holds at most"),
    ("exit_tag equal to trigger_tag", r"^exit_tag must differ"),
    ("template does not parse or render within its limits",
     r"^Template does not parse|^Template did not render|^Rendering (ran out|needs more)|the most a part may have"),
    ("webhook URL not public", r"^Webhook URLs must be public"),
]
SAME_START_AND_END = re.compile(r"^([0-9]{2}:[0-9]{2})-\1$")
SEND_WINDOW = ("send window that starts where it ends", r"^expected a window such as")


def body_of(interaction):
    response = (interaction or {}).get("response") or {}
    content = response.get("content") or {}
    text = base64.b64decode(content["$base64"]).decode("utf-8", "replace") if "$base64" in content else ""
    return response.get("status_code"), text


def value_at(case, param):
    """The value a refused field had in the request: in the body, the query or the path."""
    for place in ("body", "query", "path_parameters"):
        value = case.get(place)
        for part in param.split("."):
            if isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            elif isinstance(value, dict) and part in value:
                value = value[part]
            else:
                value = None
                break
        if value is not None:
            return value
    return None


def reasons_for(body, case):
    """The reasons explaining every field a refusal names, or None when one is not explained."""
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return None
    fields = error.get("errors") or [{"param": error.get("param") or "", "message": error.get("message", "")}]
    found = set()
    for field in fields:
        message = field.get("message", "")
        reason = next((label for label, pattern in KNOWN if re.search(pattern, message)), None)
        if reason is None and re.search(SEND_WINDOW[1], message):
            # Malformed windows get the same message: only one whose start is its end counts.
            value = value_at(case, field.get("param", ""))
            reason = SEND_WINDOW[0] if isinstance(value, str) and SAME_START_AND_END.match(value) else None
        if reason is None:
            return None
        found.add(reason)
    return found


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
                case = recorder["cases"].get(case_id, {}).get("value", {})
                if name == "positive_data_acceptance":
                    explained = reasons_for(body, case)
                    if explained:
                        for reason in explained:
                            reasons[reason].add(operation)
                        continue
                sent = {key: case[key] for key in ("path_parameters", "query", "body") if case.get(key) not in (None, {})}
                shown = re.sub(r',?"request_id":"[^"]*"', "", body)
                unexplained[(name, operation)].append(f"{json.dumps(sent)[:240]} -> {status} {shown[:240]}")

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
    print(f"  positive_data_acceptance, for a refusal no such reason explains: {len(failing.get('positive_data_acceptance', set())) - len(explained_only)}")
    print("\nSchema-valid requests refused, by reason (operations):")
    for reason, ops in sorted(reasons.items(), key=lambda item: -len(item[1])):
        print(f"  {len(ops):3}  {reason}")
    if unexplained:
        print("\nNot explained by a rule the schema cannot say (one example each):")
        for (name, operation), examples in sorted(unexplained.items()):
            print(f"  {name} {operation} ({len(examples)}): {examples[0]}")


if __name__ == "__main__":
    main(sys.argv[1])
