// A small parser for CronJob schedules (the 5-field cron syntax the CronJob controller accepts via
// robfig/cron: minute hour day-of-month month day-of-week, with `*`, lists, ranges, steps, month
// and weekday names, `?` as `*`, and the @yearly/@annually/@monthly/@weekly/@daily/@midnight/
// @hourly macros; https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax).
// Used to tell whether a CronJob was due to run inside the observation window. Times are UTC
// unless the CronJob sets a fixed-offset `timeZone` such as `Etc/UTC`; other zones are treated as
// UTC and the report says so.

/** A parsed schedule: the allowed values of each field. */
export interface CronSchedule {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  /** Whether day-of-month / day-of-week were restricted (`*` not used): cron ORs them when both are. */
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

/** The result of parsing a schedule. */
export type CronParseResult =
  { readonly ok: true; readonly value: CronSchedule } | { readonly ok: false; readonly reason: string };

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Offset of names[0]: months are 1-based. */
  readonly nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 },
  // 7 is accepted as Sunday, as Vixie cron does.
  { name: 'day of week', min: 0, max: 7, names: DAY_NAMES, nameBase: 0 },
];

function parseValue(text: string, f: FieldSpec): number | null {
  if (/^\d+$/.test(text)) return Number(text);
  const i = f.names?.indexOf(text.toLowerCase()) ?? -1;
  return i >= 0 ? i + (f.nameBase ?? 0) : null;
}

function parseField(
  text: string,
  f: FieldSpec,
): { ok: true; values: Set<number>; star: boolean } | { ok: false; reason: string } {
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(',')) {
    const [rangeText, stepText, extra] = part.split('/');
    if (rangeText === undefined || rangeText === '' || extra !== undefined)
      return { ok: false, reason: `${f.name} "${part}" is malformed` };
    const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) ? Number(stepText) : NaN;
    if (!Number.isInteger(step) || step < 1)
      return { ok: false, reason: `${f.name} step "${stepText ?? ''}" must be a positive number` };
    let lo: number;
    let hi: number;
    if (rangeText === '*' || rangeText === '?') {
      lo = f.min;
      hi = f.max;
      if (stepText === undefined) star = true;
    } else {
      const [a, b, more] = rangeText.split('-');
      const x = a !== undefined ? parseValue(a, f) : null;
      const y = b !== undefined ? parseValue(b, f) : x;
      if (x === null || y === null || more !== undefined)
        return { ok: false, reason: `${f.name} "${rangeText}" is not a number, name or range` };
      lo = x;
      // `5/15` means 5-max stepping 15.
      hi = b === undefined && stepText !== undefined ? f.max : y;
    }
    if (lo < f.min || hi > f.max || lo > hi)
      return { ok: false, reason: `${f.name} "${rangeText}" is outside ${f.min}-${f.max}` };
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { ok: true, values, star };
}

/** Parses a 5-field cron schedule or macro. */
export function parseCron(schedule: string): CronParseResult {
  let text = schedule.trim();
  // CronJobs may carry CRON_TZ=/TZ= prefixes (rejected by newer API servers); the zone is ignored here.
  text = text.replace(/^(CRON_TZ|TZ)=\S+\s+/, '');
  const macro = MACROS[text.toLowerCase()];
  if (macro !== undefined) text = macro;
  if (text.startsWith('@'))
    return {
      ok: false,
      reason: `unknown macro "${text}" (use @yearly, @monthly, @weekly, @daily or @hourly)`,
    };
  const parts = text.split(/\s+/);
  if (parts.length !== 5)
    return {
      ok: false,
      reason: `"${schedule}" has ${parts.length} fields; a CronJob schedule has 5 (minute hour day-of-month month day-of-week)`,
    };
  const parsed: { values: Set<number>; star: boolean }[] = [];
  for (let i = 0; i < 5; i++) {
    const r = parseField(parts[i] as string, FIELDS[i] as FieldSpec);
    if (!r.ok) return { ok: false, reason: r.reason };
    parsed.push(r);
  }
  const [mi, h, dom, mo, dow] = parsed as [
    (typeof parsed)[number],
    (typeof parsed)[number],
    (typeof parsed)[number],
    (typeof parsed)[number],
    (typeof parsed)[number],
  ];
  return {
    ok: true,
    value: {
      minutes: mi.values,
      hours: h.values,
      daysOfMonth: dom.values,
      months: mo.values,
      daysOfWeek: new Set([...dow.values].map((d) => (d === 7 ? 0 : d))),
      domRestricted: !dom.star,
      dowRestricted: !dow.star,
    },
  };
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

function dayMatches(s: CronSchedule, d: Date): boolean {
  if (!s.months.has(d.getUTCMonth() + 1)) return false;
  const domOk = s.daysOfMonth.has(d.getUTCDate());
  const dowOk = s.daysOfWeek.has(d.getUTCDay());
  // Vixie cron: when both day fields are restricted, a day matching either one runs.
  if (s.domRestricted && s.dowRestricted) return domOk || dowOk;
  return domOk && dowOk;
}

/** The first scheduled run at or after `fromMs` and before `untilMs` (UTC), or null when none. */
export function nextRun(s: CronSchedule, fromMs: number, untilMs: number): number | null {
  if (untilMs <= fromMs) return null;
  const start = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
  const sortedHours = [...s.hours].sort((a, b) => a - b);
  const sortedMinutes = [...s.minutes].sort((a, b) => a - b);
  // Walk days (bounded by the window), then hours and minutes within matching days.
  for (let day = Math.floor(start / DAY_MS) * DAY_MS; day < untilMs; day += DAY_MS) {
    if (!dayMatches(s, new Date(day))) continue;
    for (const h of sortedHours) {
      for (const m of sortedMinutes) {
        const t = day + h * 3_600_000 + m * MINUTE_MS;
        if (t >= start && t < untilMs) return t;
        if (t >= untilMs) return null;
      }
    }
  }
  return null;
}

/** How many runs fall in [fromMs, untilMs), counting at most `cap`. */
export function countRuns(s: CronSchedule, fromMs: number, untilMs: number, cap = 1000): number {
  let n = 0;
  let t = fromMs;
  while (n < cap) {
    const next = nextRun(s, t, untilMs);
    if (next === null) break;
    n++;
    t = next + MINUTE_MS;
  }
  return n;
}
