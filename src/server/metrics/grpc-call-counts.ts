import type { Counter } from 'prom-client';
import type { GrpcMethodMetrics, GrpcType } from './sink.js';

/** gRPC status code names as Go's codes.Code prints them (the grpc_code label etcd exports). */
const GRPC_CODE_NAMES: readonly string[] = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
];

type MethodLabels = { grpc_type: GrpcType; grpc_service: string; grpc_method: string };

/** One method's counts: plain numbers bumped per call, and what was last handed to prom-client. */
class MethodCounts implements GrpcMethodMetrics {
  private startedCount = 0;
  private startedPublished = 0;
  /** By status code number (0..16; other numbers are rare and kept in the same sparse array). */
  private readonly handledCounts: number[] = [];
  private readonly handledPublished: number[] = [];

  constructor(readonly labels: MethodLabels) {}

  started(): void {
    this.startedCount += 1;
  }

  handled(code: number): void {
    this.handledCounts[code] = (this.handledCounts[code] ?? 0) + 1;
  }

  publishStarted(counter: Counter<'grpc_type' | 'grpc_service' | 'grpc_method'>): void {
    const delta = this.startedCount - this.startedPublished;
    if (delta === 0) return;
    counter.inc(this.labels, delta);
    this.startedPublished = this.startedCount;
  }

  publishHandled(counter: Counter<'grpc_type' | 'grpc_service' | 'grpc_method' | 'grpc_code'>): void {
    this.handledCounts.forEach((count, code) => {
      const delta = count - (this.handledPublished[code] ?? 0);
      if (delta === 0) return;
      counter.inc({ ...this.labels, grpc_code: GRPC_CODE_NAMES[code] ?? String(code) }, delta);
      this.handledPublished[code] = count;
    });
  }
}

/**
 * grpc_server_started_total and grpc_server_handled_total as etcd's go-grpc-prometheus
 * exports them, counted as plain numbers on the call path and handed to prom-client when a
 * scrape collects. prom-client's labelled inc() builds a label hash string per call (about
 * 900 bytes of garbage per unary call for the two counters, measured on in-process gets);
 * the counters' collect hooks add the calls seen since the last scrape instead.
 */
export class GrpcCallCounts {
  private readonly methods: MethodCounts[] = [];

  method(service: string, method: string, type: GrpcType): GrpcMethodMetrics {
    const counts = new MethodCounts({ grpc_type: type, grpc_service: service, grpc_method: method });
    this.methods.push(counts);
    return counts;
  }

  publishStarted(counter: Counter<'grpc_type' | 'grpc_service' | 'grpc_method'>): void {
    for (const counts of this.methods) counts.publishStarted(counter);
  }

  publishHandled(counter: Counter<'grpc_type' | 'grpc_service' | 'grpc_method' | 'grpc_code'>): void {
    for (const counts of this.methods) counts.publishHandled(counter);
  }
}
