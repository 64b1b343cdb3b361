/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for checking what a
 * member's /metrics serves rather than merely extracting numbers from it. prom-client writes
 * this format but has no reader, so the rules are written out here:
 * - `# HELP name text` (escapes `\\` and `\n`) and `# TYPE name type` at most once per family,
 *   TYPE before the family's first sample; other `#` lines are comments;
 * - a sample is `name{label="value",...} value [timestampMs]`; label values escape `\\`, `\"`,
 *   `\n`; label names are unique per sample and not `__`-prefixed; values are Go floats
 *   (`NaN`, `+Inf`, `-Inf` included);
 * - a family's lines are contiguous, no two samples share name and labels;
 * - histogram series carry `_bucket` samples with an `le` label, ascending, cumulative, ending
 *   in `le="+Inf"` equal to `_count`; summaries carry `quantile` samples in [0, 1] besides
 *   `_sum` and `_count`; counters are never negative.
 * Any breach throws a PrometheusTextError naming the 1-based line.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PrometheusSample {
  /** The sample's own name (for a histogram: `x_bucket`, `x_sum` or `x_count`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs: number | undefined;
  /** 1-based line of the sample in the text. */
  readonly line: number;
}

export interface MetricFamily {
  readonly name: string;
  type: MetricType;
  help: string | undefined;
  readonly samples: PrometheusSample[];
}

/** A breach of the text format; `line` is 1-based (0 for problems of the text as a whole). */
export class PrometheusTextError extends Error {
  readonly code = 'ERR_PROMETHEUS_TEXT';

  constructor(readonly line: number, readonly reason: string) {
    super(line > 0 ? `line ${line}: ${reason}` : reason);
    this.name = 'PrometheusTextError';
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

/** Parses `text` into its metric families, in order of appearance, or throws PrometheusTextError. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  /** Families whose lines have ended (another family's line came after them). */
  const closed = new Set<string>();
  let current: MetricFamily | undefined;
  const seenSeries = new Set<string>();
  /** Families whose TYPE line was read (a family's type alone cannot tell "untyped" from unset). */
  const typed = new Set<string>();
  const lines = text.split('\n');
  if (text !== '' && !text.endsWith('\n')) throw new PrometheusTextError(lines.length, 'the text does not end with a line feed');

  const enter = (name: string, lineNo: number): MetricFamily => {
    if (current?.name === name) return current;
    if (closed.has(name)) throw new PrometheusTextError(lineNo, `lines of metric family ${name} are not contiguous`);
    if (current !== undefined) closed.add(current.name);
    current = { name, type: 'untyped', help: undefined, samples: [] };
    families.set(name, current);
    return current;
  };

  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    const line = lines[index]!;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const meta = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (meta === null) continue; // a plain comment
      const [, keyword, name, rest = ''] = meta as unknown as [string, 'HELP' | 'TYPE', string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new PrometheusTextError(lineNo, `invalid metric name ${JSON.stringify(name)}`);
      const family = enter(name, lineNo);
      if (keyword === 'HELP') {
        if (family.help !== undefined) throw new PrometheusTextError(lineNo, `second HELP line for ${name}`);
        family.help = unescapeHelp(rest, lineNo);
      } else {
        if (family.samples.length > 0) throw new PrometheusTextError(lineNo, `TYPE line for ${name} after its samples`);
        if (typed.has(name)) throw new PrometheusTextError(lineNo, `second TYPE line for ${name}`);
        const type = rest.trim() as MetricType;
        if (!TYPES.includes(type)) throw new PrometheusTextError(lineNo, `unknown metric type ${JSON.stringify(rest.trim())} for ${name}`);
        family.type = type;
        typed.add(name);
      }
      continue;
    }
    const sample = parseSampleLine(line, lineNo);
    const familyName = familyOf(sample.name, current);
    const family = enter(familyName, lineNo);
    checkSampleFitsFamily(sample, family);
    const seriesKey = `${sample.name}\u0000${Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join('\u0000')}`;
    if (seenSeries.has(seriesKey)) throw new PrometheusTextError(lineNo, `duplicate sample ${sample.name}${formatLabels(sample.labels)}`);
    seenSeries.add(seriesKey);
    family.samples.push(sample);
  }
  for (const family of families.values()) {
    if (family.type === 'histogram') checkHistogram(family);
    else if (family.type === 'summary') checkSummary(family);
  }
  return families;
}

/**
 * The family a sample belongs to: a histogram's or summary's `_bucket`/`_sum`/`_count` samples
 * belong to the family being read when its name is their stem; anything else is its own family.
 */
function familyOf(sampleName: string, current: MetricFamily | undefined): string {
  if (current !== undefined && (current.type === 'histogram' || current.type === 'summary')) {
    const suffixes = current.type === 'histogram' ? ['_bucket', '_sum', '_count'] : ['_sum', '_count'];
    for (const suffix of suffixes) if (sampleName === current.name + suffix) return current.name;
  }
  return sampleName;
}

function checkSampleFitsFamily(sample: PrometheusSample, family: MetricFamily): void {
  const fail = (reason: string): never => {
    throw new PrometheusTextError(sample.line, reason);
  };
  if (family.type === 'histogram') {
    if (sample.name === family.name) fail(`histogram ${family.name} has a sample without _bucket, _sum or _count`);
    if (sample.name.endsWith('_bucket')) {
      if (sample.labels.le === undefined) fail(`histogram bucket ${sample.name} has no le label`);
      parseFloatToken(sample.labels.le!, sample.line, 'le label');
    } else if (sample.labels.le !== undefined) fail(`${sample.name} must not carry an le label`);
  } else if (family.type === 'summary') {
    if (sample.name === family.name) {
      if (sample.labels.quantile === undefined) fail(`summary ${family.name} has a sample without a quantile label`);
      const quantile = parseFloatToken(sample.labels.quantile!, sample.line, 'quantile label');
      if (!(quantile >= 0 && quantile <= 1)) fail(`quantile ${sample.labels.quantile} of ${family.name} is outside [0, 1]`);
    } else if (sample.labels.quantile !== undefined) fail(`${sample.name} must not carry a quantile label`);
  } else if (family.type === 'counter') {
    if (sample.value < 0) fail(`counter ${sample.name} is negative (${sample.value})`);
  }
  if ((family.type === 'histogram' || family.type === 'summary') && (sample.name.endsWith('_count') || sample.name.endsWith('_bucket'))) {
    if (!(sample.value >= 0) || !Number.isInteger(sample.value)) fail(`${sample.name} must be a non-negative integer count (got ${sample.value})`);
  }
}

/** The labels of a sample without `le`/`quantile`: which series of a histogram or summary it is part of. */
function seriesLabels(sample: PrometheusSample, drop: string): string {
  return Object.entries(sample.labels).filter(([k]) => k !== drop).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',');
}

interface Series {
  buckets: Array<{ le: number; value: number; line: number }>;
  count: PrometheusSample | undefined;
  sum: PrometheusSample | undefined;
  firstLine: number;
}

function groupSeries(family: MetricFamily, drop: string): Map<string, Series> {
  const series = new Map<string, Series>();
  for (const sample of family.samples) {
    const key = seriesLabels(sample, drop);
    let entry = series.get(key);
    if (entry === undefined) {
      entry = { buckets: [], count: undefined, sum: undefined, firstLine: sample.line };
      series.set(key, entry);
    }
    if (sample.name === `${family.name}_count`) entry.count = sample;
    else if (sample.name === `${family.name}_sum`) entry.sum = sample;
    else if (sample.name === `${family.name}_bucket`) entry.buckets.push({ le: parseFloatToken(sample.labels.le!, sample.line, 'le label'), value: sample.value, line: sample.line });
  }
  return series;
}

function checkHistogram(family: MetricFamily): void {
  for (const [labels, series] of groupSeries(family, 'le')) {
    const where = `${family.name}{${labels}}`;
    if (series.count === undefined) throw new PrometheusTextError(series.firstLine, `histogram ${where} has no _count`);
    if (series.sum === undefined) throw new PrometheusTextError(series.firstLine, `histogram ${where} has no _sum`);
    if (series.buckets.length === 0) throw new PrometheusTextError(series.firstLine, `histogram ${where} has no _bucket samples`);
    for (let i = 1; i < series.buckets.length; i++) {
      const [previous, bucket] = [series.buckets[i - 1]!, series.buckets[i]!];
      if (!(bucket.le > previous.le)) throw new PrometheusTextError(bucket.line, `buckets of ${where} are not in ascending le order (${previous.le} then ${bucket.le})`);
      if (bucket.value < previous.value) throw new PrometheusTextError(bucket.line, `buckets of ${where} are not cumulative (${previous.value} then ${bucket.value})`);
    }
    const last = series.buckets.at(-1)!;
    if (last.le !== Number.POSITIVE_INFINITY) throw new PrometheusTextError(last.line, `histogram ${where} has no le="+Inf" bucket`);
    if (last.value !== series.count.value) throw new PrometheusTextError(series.count.line, `histogram ${where}: le="+Inf" bucket (${last.value}) differs from _count (${series.count.value})`);
  }
}

function checkSummary(family: MetricFamily): void {
  for (const [labels, series] of groupSeries(family, 'quantile')) {
    const where = `${family.name}{${labels}}`;
    if (series.count === undefined) throw new PrometheusTextError(series.firstLine, `summary ${where} has no _count`);
    if (series.sum === undefined) throw new PrometheusTextError(series.firstLine, `summary ${where} has no _sum`);
  }
}

function parseSampleLine(line: string, lineNo: number): PrometheusSample {
  const fail = (reason: string): never => {
    throw new PrometheusTextError(lineNo, reason);
  };
  let at = 0;
  const skipBlanks = (): void => {
    while (line[at] === ' ' || line[at] === '\t') at++;
  };
  skipBlanks();
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line.slice(at));
  if (nameMatch === null) fail(`expected a metric name at column ${at + 1}`);
  const name = nameMatch![0];
  at += name.length;
  const labels: Record<string, string> = {};
  const afterName = at;
  skipBlanks();
  if (line[at] !== '{') at = afterName;
  else {
    at++;
    for (;;) {
      skipBlanks();
      if (line[at] === '}') {
        at++;
        break;
      }
      const labelMatch = /^[^=\s{}"]+/.exec(line.slice(at));
      if (labelMatch === null) fail(`expected a label name at column ${at + 1}`);
      const labelName = labelMatch![0];
      if (!LABEL_NAME.test(labelName)) fail(`invalid label name ${JSON.stringify(labelName)}`);
      if (labelName.startsWith('__')) fail(`label name ${labelName} is reserved (starts with __)`);
      if (Object.hasOwn(labels, labelName)) fail(`label ${labelName} appears twice`);
      at += labelName.length;
      skipBlanks();
      if (line[at] !== '=') fail(`expected = after label ${labelName}`);
      at++;
      skipBlanks();
      if (line[at] !== '"') fail(`expected a quoted value for label ${labelName}`);
      at++;
      let value = '';
      for (;;) {
        const ch = line[at];
        if (ch === undefined) fail(`unterminated value of label ${labelName}`);
        at++;
        if (ch === '"') break;
        if (ch === '\\') {
          const escaped = line[at++];
          if (escaped === '\\') value += '\\';
          else if (escaped === '"') value += '"';
          else if (escaped === 'n') value += '\n';
          else fail(`invalid escape \\${escaped ?? ''} in the value of label ${labelName}`);
        } else value += ch;
      }
      labels[labelName] = value;
      skipBlanks();
      if (line[at] === ',') at++;
      else if (line[at] !== '}') fail(`expected , or } after the value of label ${labelName}`);
    }
  }
  if (line[at] !== ' ' && line[at] !== '\t') fail(`expected a blank before the value of ${name}`);
  const rest = line.slice(at).trim().split(/[ \t]+/);
  if (rest.length === 0 || rest[0] === '') fail(`sample ${name} has no value`);
  if (rest.length > 2) fail(`unexpected text after the sample of ${name}: ${JSON.stringify(rest.slice(2).join(' '))}`);
  const value = parseFloatToken(rest[0]!, lineNo, `value of ${name}`);
  let timestampMs: number | undefined;
  if (rest.length === 2) {
    if (!/^-?[0-9]+$/.test(rest[1]!)) fail(`invalid timestamp ${JSON.stringify(rest[1])} of ${name}`);
    timestampMs = Number(rest[1]);
  }
  return { name, labels, value, timestampMs, line: lineNo };
}

/** A Go ParseFloat-style number: decimal or exponent notation, NaN, +Inf, -Inf (Inf without a sign too). */
function parseFloatToken(token: string, lineNo: number, what: string): number {
  if (/^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(token)) return Number(token);
  if (/^nan$/i.test(token)) return Number.NaN;
  if (/^\+?inf$/i.test(token)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(token)) return Number.NEGATIVE_INFINITY;
  throw new PrometheusTextError(lineNo, `invalid number ${JSON.stringify(token)} as ${what}`);
}

function unescapeHelp(text: string, lineNo: number): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const escaped = text[++i];
    if (escaped === '\\') out += '\\';
    else if (escaped === 'n') out += '\n';
    else throw new PrometheusTextError(lineNo, `invalid escape \\${escaped ?? ''} in HELP text`);
  }
  return out;
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
}

/** The sum over every sample called `sampleName` (all label sets), or undefined when there is none. */
export function sampleSum(families: ReadonlyMap<string, MetricFamily>, sampleName: string): number | undefined {
  let sum: number | undefined;
  for (const family of families.values()) {
    for (const sample of family.samples) if (sample.name === sampleName) sum = (sum ?? 0) + sample.value;
  }
  return sum;
}
