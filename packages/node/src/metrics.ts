/**
 * A small Prometheus text-format registry: counters and gauges with optional labels. Gauges can be computed at
 * scrape time, so values like the mempool size are never stale.
 */
type Labels = Readonly<Record<string, string>>;

interface Series {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly values: Map<string, number>;
  readonly collect?: () => number | Promise<number>;
}

function labelKey(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const parts = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export class Metrics {
  readonly #series = new Map<string, Series>();

  #get(name: string, help: string, type: 'counter' | 'gauge', collect?: () => number | Promise<number>): Series {
    let s = this.#series.get(name);
    if (s === undefined) {
      s = collect === undefined ? { name, help, type, values: new Map() } : { name, help, type, values: new Map(), collect };
      this.#series.set(name, s);
    }
    return s;
  }

  /** Adds `by` (default 1) to a counter. */
  inc(name: string, help: string, by = 1, labels?: Labels): void {
    const s = this.#get(name, help, 'counter');
    const k = labelKey(labels);
    s.values.set(k, (s.values.get(k) ?? 0) + by);
  }

  /** Sets a gauge. */
  set(name: string, help: string, value: number, labels?: Labels): void {
    this.#get(name, help, 'gauge').values.set(labelKey(labels), value);
  }

  /** A gauge computed at every scrape. */
  gauge(name: string, help: string, collect: () => number | Promise<number>): void {
    this.#get(name, help, 'gauge', collect);
  }

  /** The text exposition format, version 0.0.4. */
  async render(): Promise<string> {
    const lines: string[] = [];
    for (const s of this.#series.values()) {
      lines.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`);
      if (s.collect !== undefined) {
        lines.push(`${s.name} ${await s.collect()}`);
        continue;
      }
      for (const [k, v] of s.values) lines.push(`${s.name}${k} ${v}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
