import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEtcdCounters } from "./etcd-work.js";

describe("parseEtcdCounters", () => {
  it("sums every status code of Range, Txn and Put, and reads the WAL fsync count", () => {
    const text = [
      "# HELP grpc_server_handled_total Total number of RPCs completed on the server.",
      "# TYPE grpc_server_handled_total counter",
      'grpc_server_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 120',
      'grpc_server_handled_total{grpc_code="Unavailable",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 3',
      'grpc_server_handled_total{grpc_code="OK",grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"} 40',
      'grpc_server_handled_total{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 7',
      'grpc_server_handled_total{grpc_code="OK",grpc_method="LeaseGrant",grpc_service="etcdserverpb.Lease",grpc_type="unary"} 9',
      'grpc_server_started_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 999',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 50',
      "etcd_disk_wal_fsync_duration_seconds_sum 0.5",
      "etcd_disk_wal_fsync_duration_seconds_count 61",
    ].join("\n");
    assert.deepEqual(parseEtcdCounters(text), { range: 123, txn: 40, put: 7, fsync: 61 });
  });

  it("reads nothing from a text without those counters", () => {
    assert.deepEqual(parseEtcdCounters("# nothing here\nprocess_cpu_seconds_total 3\n"), {
      range: 0,
      txn: 0,
      put: 0,
      fsync: 0,
    });
  });
});
