import { createRequire } from 'node:module';
import type { History } from '@temporalio/common/lib/proto-utils.js';

// Temporal's JSON history format (what `temporal workflow show --output json` and the Web UI's
// download write) to and from the History object the SDK replays.
//
// @temporalio/common's historyFromJSON / historyToJSON do this with protobufjs's protojson from
// the protobufjs copy installed for @temporalio/common. Where npm gives @temporalio/proto a copy of
// its own (as in this tree: every @temporalio package nests protobufjs 8 beside grpc's top-level
// protobufjs 7), proto's types fail that copy's checks and both throw "type must be a Type". The
// same conversion with the protobufjs that @temporalio/proto itself loads works in any layout.

const require = createRequire(import.meta.url);
const requireFromProto = createRequire(require.resolve('@temporalio/proto'));
const protojson = requireFromProto('protobufjs/ext/protojson') as {
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): History;
  toJson(type: unknown, message: History): unknown;
};
const { patchProtobufRoot } = require('@temporalio/proto/lib/patch-protobuf-root') as { patchProtobufRoot<T>(root: T): T };
const historyType = (patchProtobufRoot(require('@temporalio/proto')) as { lookupType(name: string): unknown }).lookupType(
  'temporal.api.history.v1.History',
);

/** A history in Temporal's JSON format; fields a newer server added are ignored. */
export function historyFromJson(json: unknown): History {
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
}

export function historyToJson(history: History): unknown {
  return protojson.toJson(historyType, history);
}
