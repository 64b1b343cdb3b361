/**
 * How the dashboard reads a member's /metrics: fetch() for http URLs; node:https with the
 * dashboard's TLS material for https URLs, since a member's https client URL serves /metrics
 * beside gRPC and verifies clients with the same CA (fetch() takes neither a CA nor a client
 * certificate). The body is read up to a bound, so a misbehaving endpoint cannot fill memory.
 */
import { get as httpsGet } from 'node:https';
import type { TlsOptions } from '../../client/index.js';

/** Largest /metrics body read (etcd 3.4 serves about 100 KiB). */
export const MAX_METRICS_BYTES = 4 * 1024 * 1024;

export type MetricsFetcher = (url: string, signal: AbortSignal) => Promise<string>;

export function metricsFetcher(tls?: TlsOptions): MetricsFetcher {
  return (url, signal) => (url.startsWith('https:') ? fetchOverTls(url, signal, tls ?? {}) : fetchPlain(url, signal));
}

async function fetchPlain(url: string, signal: AbortSignal): Promise<string> {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${url}`);
  const text = await response.text();
  if (text.length > MAX_METRICS_BYTES) throw new Error(`${url} is larger than ${MAX_METRICS_BYTES} bytes`);
  return text;
}

function fetchOverTls(url: string, signal: AbortSignal, tls: TlsOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, {
      signal,
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key }),
    }, (response) => {
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 299) {
        response.resume();
        reject(new Error(`HTTP ${status} from ${url}`));
        return;
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength;
        if (bytes > MAX_METRICS_BYTES) {
          request.destroy(new Error(`${url} is larger than ${MAX_METRICS_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}
