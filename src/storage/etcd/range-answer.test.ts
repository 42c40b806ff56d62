import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Client, ServiceClientConstructor } from "@grpc/grpc-js";
import { Etcd3, type IRangeResponse } from "etcd3";
import { decodeRangeAnswer } from "./range-answer.js";

/**
 * etcd3's own encoder for RangeResponse (from etcd's rpc.proto, as its clients are built): the
 * bytes a member sends. No call is made, so nothing connects.
 */
function withRangeResponseEncoder(test: (encode: (answer: object) => Buffer) => void): void {
  const etcd = new Etcd3({ hosts: "127.0.0.1:1" });
  try {
    const pool = (etcd as unknown as { pool: { hosts: { getServiceClient(name: string): Client }[] } }).pool;
    const client = pool.hosts[0]!.getServiceClient("KV");
    const range = (client.constructor as ServiceClientConstructor).service["Range"]!;
    test((answer) => range.responseSerialize(answer));
  } finally {
    etcd.close();
  }
}

const kv = (fields: Partial<Record<keyof IRangeResponse["kvs"][number], unknown>>) => ({
  create_revision: "0",
  mod_revision: "0",
  version: "1",
  lease: "0",
  ...fields,
});

describe("decodeRangeAnswer", () => {
  it("reads keys, values, revisions, leases and `more` as etcd3's decoder and fromKv did", () => {
    withRangeResponseEncoder((encode) => {
      const bytes = encode({
        header: {
          cluster_id: "14841639068965178418",
          member_id: "10276657743932975437",
          revision: "9007199254740",
          raft_term: "7",
        },
        kvs: [
          kv({
            key: Buffer.from("flock/v2/p/post/abc"),
            value: Buffer.from([0, 1, 2, 255]),
            create_revision: "4294967301",
            mod_revision: "4294967302",
            version: "3",
          }),
          // A lease id uses all 64 bits: it must come back exactly, not rounded through a double.
          kv({
            key: Buffer.from("flock/v2/a/sess/ünï"),
            value: Buffer.from("x"),
            create_revision: "5",
            mod_revision: "6",
            lease: "7587885383318431239",
          }),
          kv({ key: Buffer.from("k"), create_revision: "8", mod_revision: "8" }),
        ],
        more: true,
        count: "41",
      });
      const answer = decodeRangeAnswer(bytes);
      assert.equal(answer.revision, 9007199254740);
      assert.equal(answer.more, true);
      assert.deepEqual(
        answer.kvs.map(({ value, ...rest }) => ({ ...rest, value: [...value] })),
        [
          {
            key: "flock/v2/p/post/abc",
            value: [0, 1, 2, 255],
            createRevision: 4294967301,
            modRevision: 4294967302,
            lease: "0",
          },
          {
            key: "flock/v2/a/sess/ünï",
            value: [120],
            createRevision: 5,
            modRevision: 6,
            lease: "7587885383318431239",
          },
          { key: "k", value: [], createRevision: 8, modRevision: 8, lease: "0" },
        ],
      );
      // Plain views, not Buffers: a record decoded from them slices cheaply.
      assert.ok(answer.kvs.every((entry) => !Buffer.isBuffer(entry.value)));
    });
  });

  it("answers an empty range with no keys, no more, and the header's revision", () => {
    withRangeResponseEncoder((encode) => {
      assert.deepEqual(decodeRangeAnswer(encode({ header: { revision: "12" }, kvs: [], more: false })), {
        kvs: [],
        more: false,
        revision: 12,
      });
    });
  });

  it("refuses a truncated message instead of answering part of it", () => {
    withRangeResponseEncoder((encode) => {
      const bytes = encode({
        header: { revision: "12" },
        kvs: [kv({ key: Buffer.from("some/key"), value: Buffer.from("v") })],
      });
      assert.throws(() => decodeRangeAnswer(bytes.subarray(0, bytes.length - 3)));
    });
  });
});
