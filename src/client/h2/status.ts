/**
 * The end of a gRPC call as a status: from `grpc-status`/`grpc-message` trailers (or headers,
 * for a trailers-only response), from the HTTP status when a server or proxy answered without
 * gRPC status, or from how the HTTP/2 stream closed. Failures are reported as grpc-js reports
 * them (an Error whose message is `<code> <NAME>: <details>`, with `code`, `details` and
 * `metadata`), so errors.ts maps both transports' failures by the same rules.
 */
import { constants as h2 } from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http2';
import { Metadata } from '@grpc/grpc-js';
import { GrpcStatus } from '../errors.js';

export interface CallStatus {
  readonly code: number;
  readonly details: string;
  /** Trailers other than the status (the grpc-js Metadata type, as grpc-js errors carry). */
  readonly metadata: Metadata;
}

/** The `code` of the error a session is destroyed with when a keep-alive ping goes unanswered. */
export const KEEPALIVE_TIMEOUT_CODE = 'ERR_KEEPALIVE_TIMEOUT';

const codeNames = new Map<number, string>(Object.entries(GrpcStatus).map(([name, code]) => [code, name]));

/** A failed call as grpc-js raises it. */
export interface GrpcStatusError extends Error {
  readonly code: number;
  readonly details: string;
  readonly metadata: Metadata;
}

export function statusError(status: CallStatus): GrpcStatusError {
  const error = new Error(`${status.code} ${codeNames.get(status.code) ?? 'UNKNOWN'}: ${status.details}`) as Error & { code: number; details: string; metadata: Metadata };
  error.code = status.code;
  error.details = status.details;
  error.metadata = status.metadata;
  return error;
}

export function simpleStatus(code: number, details: string): CallStatus {
  return { code, details, metadata: new Metadata() };
}

/** The gRPC spec's mapping of an HTTP status to a gRPC code, for answers without grpc-status. */
export function statusFromHttp(httpStatus: number): CallStatus {
  let code: number;
  switch (httpStatus) {
    case 400: code = GrpcStatus.INTERNAL; break;
    case 401: code = GrpcStatus.UNAUTHENTICATED; break;
    case 403: code = GrpcStatus.PERMISSION_DENIED; break;
    case 404: code = GrpcStatus.UNIMPLEMENTED; break;
    case 429: case 502: case 503: case 504: code = GrpcStatus.UNAVAILABLE; break;
    default: code = GrpcStatus.UNKNOWN;
  }
  return simpleStatus(code, `Received HTTP status code ${httpStatus}`);
}

/**
 * `grpc-message` is percent-encoded UTF-8 (the spec: bytes outside printable ASCII, and `%`).
 * A `%` not followed by two hex digits is kept as it is rather than failing the call.
 */
export function decodeGrpcMessage(encoded: string): string {
  if (!encoded.includes('%')) return encoded;
  // Each run of escapes is one byte sequence (a multi-byte character spans several escapes).
  return encoded.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => Buffer.from(run.replaceAll('%', ''), 'hex').toString('utf8'));
}

const reservedHeaders = new Set(['grpc-status', 'grpc-message', ':status', 'content-type', 'date', 'grpc-encoding', 'grpc-accept-encoding']);

function trailerMetadata(headers: IncomingHttpHeaders): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) {
    if (reservedHeaders.has(key) || key.startsWith(':') || value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const one of values) {
      if (key.endsWith('-bin')) metadata.add(key, Buffer.from(one, 'base64'));
      else metadata.add(key, one);
    }
  }
  return metadata;
}

/** OK statuses are the common case: no metadata object is built for them. */
const okStatus: CallStatus = Object.freeze({ code: GrpcStatus.OK, details: '', metadata: new Metadata() });

/** The status carried by trailers (or a trailers-only response's headers). */
export function statusFromTrailers(headers: IncomingHttpHeaders, httpStatus: number | undefined): CallStatus {
  const raw = headers['grpc-status'];
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (text !== undefined) {
    const code = Number(text);
    if (code === GrpcStatus.OK) return okStatus;
    const message = headers['grpc-message'];
    const details = message === undefined ? '' : decodeGrpcMessage(Array.isArray(message) ? message[0]! : message);
    return { code: Number.isInteger(code) ? code : GrpcStatus.UNKNOWN, details, metadata: trailerMetadata(headers) };
  }
  if (httpStatus !== undefined) return { ...statusFromHttp(httpStatus), metadata: trailerMetadata(headers) };
  return { code: GrpcStatus.UNKNOWN, details: 'No status information received', metadata: trailerMetadata(headers) };
}

/**
 * A stream that closed before a status arrived, by its RST_STREAM code (grpc-js's table).
 * `dropped` says the connection went away under it (Node reports that as CANCEL too).
 */
export function statusFromReset(rstCode: number, httpStatus: number | undefined, dropped: boolean, cause: Error | undefined): CallStatus {
  switch (rstCode) {
    case h2.NGHTTP2_NO_ERROR:
      if (httpStatus !== undefined && httpStatus !== 200) return statusFromHttp(httpStatus);
      if (dropped) return simpleStatus(GrpcStatus.UNAVAILABLE, 'Connection dropped');
      return simpleStatus(GrpcStatus.INTERNAL, `Received RST_STREAM with code ${rstCode} (Call ended without gRPC status)`);
    case h2.NGHTTP2_REFUSED_STREAM:
      return simpleStatus(GrpcStatus.UNAVAILABLE, 'Stream refused by server');
    case h2.NGHTTP2_CANCEL:
      return dropped ? simpleStatus(GrpcStatus.UNAVAILABLE, 'Connection dropped') : simpleStatus(GrpcStatus.CANCELLED, 'Call cancelled');
    case h2.NGHTTP2_ENHANCE_YOUR_CALM:
      return simpleStatus(GrpcStatus.RESOURCE_EXHAUSTED, 'Bandwidth exhausted or memory limit exceeded');
    case h2.NGHTTP2_INADEQUATE_SECURITY:
      return simpleStatus(GrpcStatus.PERMISSION_DENIED, 'Protocol not secure enough');
    case h2.NGHTTP2_INTERNAL_ERROR: {
      const code = (cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ECONNRESET' || code === 'ETIMEDOUT') return simpleStatus(GrpcStatus.UNAVAILABLE, cause!.message);
      // Our keep-alive gave up on the session: grpc-js reports its calls as dropped
      // connections (UNAVAILABLE: they fail over, idempotent ones retry).
      if (code === KEEPALIVE_TIMEOUT_CODE) return simpleStatus(GrpcStatus.UNAVAILABLE, 'Connection dropped');
      if (cause !== undefined) return simpleStatus(GrpcStatus.INTERNAL, `Received RST_STREAM with code ${rstCode} triggered by internal client error: ${cause.message}`);
      return simpleStatus(GrpcStatus.INTERNAL, `Received RST_STREAM with code ${rstCode} (Internal server error)`);
    }
    default:
      return simpleStatus(GrpcStatus.INTERNAL, `Received RST_STREAM with code ${rstCode}`);
  }
}
