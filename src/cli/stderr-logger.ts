import type { LogFields, Logger } from '../base/logger.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Where log lines go (the process's stderr by default; tests pass their own). */
export type LineSink = (line: string) => void;

/**
 * A Logger that writes one readable line per record:
 *   2026-11-25T00:41:02.123Z info  member started name=m1 id=8e9e05c52164694d engine=lmdb
 * Field values that contain spaces, quotes or `=` are JSON-quoted so every line splits back
 * into `key=value` pairs; bigints print in decimal, errors as their message.
 */
export class StderrLogger implements Logger {
  private readonly minimum: number;

  constructor(level: LogLevel = 'info', private readonly sink: LineSink = (line) => process.stderr.write(line), private readonly now: () => Date = () => new Date()) {
    this.minimum = LOG_LEVELS.indexOf(level);
  }

  debug(message: string, fields?: LogFields): void {
    this.write(0, message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.write(1, message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.write(2, message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.write(3, message, fields);
  }

  private write(level: number, message: string, fields: LogFields | undefined): void {
    if (level < this.minimum) return;
    let line = `${this.now().toISOString()} ${LOG_LEVELS[level]!.padEnd(5)} ${oneLine(message)}`;
    if (fields !== undefined) {
      for (const [key, value] of Object.entries(fields)) {
        if (value === undefined) continue;
        line += ` ${key}=${formatValue(value)}`;
      }
    }
    this.sink(`${line}\n`);
  }
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

export function formatValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else if (value instanceof Error) text = (value as { code?: unknown }).code !== undefined ? `${String((value as { code?: unknown }).code)}: ${value.message}` : value.message;
  else if (value === null) text = 'null';
  else {
    try {
      text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text === '' || /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}
