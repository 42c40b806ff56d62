import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { KeyValue, RangeResult } from "../kv.js";

/**
 * etcd's RangeResponse (rpc.proto), read straight into the storage seam's types.
 *
 * A backend loading its read model reads every post, about a million keys, through Range.
 * etcd3's own decoder (protobufjs with `longs: String`) makes four Long objects and four
 * decimal strings per key, two default Buffers it then overwrites, and a plain-object copy
 * of each message, before `fromKv` turns it all into numbers again: a quarter of a
 * restart's CPU. Here each key costs one object, its key string and a view of its value.
 *
 * Only the fields the seam uses are read; any other (count, cluster id, version…) is skipped.
 */
export function decodeRangeAnswer(message: Uint8Array): RangeResult {
  // A Node Buffer's subarray builds a Buffer, much slower than a plain view of the same bytes.
  const reader = new BinaryReader(new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
  const kvs: KeyValue[] = [];
  let more = false;
  let revision = 0;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) revision = headerRevision(reader);
    else if (field === 2 && wireType === WireType.LengthDelimited) kvs.push(keyValue(reader));
    else if (field === 3 && wireType === WireType.Varint) more = reader.bool();
    else reader.skip(wireType, field);
  }
  return { kvs, more, revision };
}

/** ResponseHeader: only `revision` (3). */
function headerRevision(reader: BinaryReader): number {
  const end = reader.uint32() + reader.pos;
  let revision = 0;
  while (reader.pos < end) {
    const [field, wireType] = reader.tag();
    if (field === 3 && wireType === WireType.Varint) revision = Number(reader.int64());
    else reader.skip(wireType, field);
  }
  return revision;
}

/** mvccpb.KeyValue: key (1), create_revision (2), mod_revision (3), value (5), lease (6). */
function keyValue(reader: BinaryReader): KeyValue {
  const end = reader.uint32() + reader.pos;
  const kv: KeyValue = { key: "", value: EMPTY, createRevision: 0, modRevision: 0, lease: "0" };
  while (reader.pos < end) {
    const [field, wireType] = reader.tag();
    if (wireType === WireType.LengthDelimited && field === 1) kv.key = reader.string();
    else if (wireType === WireType.LengthDelimited && field === 5) kv.value = reader.bytes();
    else if (wireType === WireType.Varint && field === 2) kv.createRevision = Number(reader.int64());
    else if (wireType === WireType.Varint && field === 3) kv.modRevision = Number(reader.int64());
    // Lease ids use all 64 bits: kept as the exact decimal string.
    else if (wireType === WireType.Varint && field === 6) kv.lease = reader.int64().toString();
    else reader.skip(wireType, field);
  }
  return kv;
}

/** The value of a key stored empty (one shared array: nothing writes into a value). */
export const EMPTY = new Uint8Array(0);
