import {
  status,
  type handleUnaryCall,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { codeName, splitMethodPath } from "../../shared/metrics.js";
import type { BackendMetrics } from "./metrics.js";
import type { RateCounter } from "../../shared/rate.js";
import { requestIdOf } from "../../grpc/metadata.js";
import { logCall } from "./request-log.js";

export interface CallInstruments {
  metrics: BackendMetrics;
  log: Logger;
  rate: RateCounter;
}

/**
 * Wraps every unary handler of a service: counts the call, times it, records its status
 * code and logs it with the web's request id. The handlers themselves are untouched.
 */
export function instrumentService(
  definition: ServiceDefinition,
  implementation: UntypedServiceImplementation,
  { metrics, log, rate }: CallInstruments,
): UntypedServiceImplementation {
  const wrapped: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    const method = definition[name];
    if (!method || method.requestStream || method.responseStream) {
      wrapped[name] = handler;
      continue;
    }
    const [serviceLabel, methodLabel] = splitMethodPath(method.path);
    const rpc = `${serviceLabel}/${methodLabel}`;
    const unary = handler as handleUnaryCall<unknown, unknown>;
    const instrumented: handleUnaryCall<unknown, unknown> = (
      call: ServerUnaryCall<unknown, unknown>,
      callback: sendUnaryData<unknown>,
    ) => {
      const started = performance.now();
      const requestId = requestIdOf(call.metadata);
      rate.add();
      unary(call, (err, value, trailer, flags) => {
        const ms = performance.now() - started;
        const code = err ? (err.code ?? status.UNKNOWN) : status.OK;
        const name = codeName(code);
        metrics.calls.inc({ service: serviceLabel, method: methodLabel, code: name });
        if (code !== status.OK)
          metrics.errors.inc({ service: serviceLabel, method: methodLabel, code: name });
        metrics.duration.observe({ service: serviceLabel, method: methodLabel }, ms / 1000);
        logCall(log, requestId, rpc, code, name, ms);
        callback(err, value, trailer, flags);
      });
    };
    wrapped[name] = instrumented;
  }
  return wrapped;
}
