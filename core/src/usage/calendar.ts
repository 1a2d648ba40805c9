/*
 * Calendar days in an IANA time zone, for the stats windows. Intl knows every zone's offsets
 * and daylight-saving rules, so nothing here hard-codes an offset; `time_zone` can change live.
 */

/** A calendar date; `month` is 1-12. */
export interface LocalDate {
  readonly year: number
  readonly month: number
  readonly day: number
}

const HOUR_MS = 3_600_000
/** Local midnight is between UTC−14 h and UTC+12 h of the same date (offsets span −12 … +14). */
const EARLIEST_OFFSET_MS = 15 * HOUR_MS
const LATEST_OFFSET_MS = 13 * HOUR_MS

export class ZonedCalendar {
  readonly #format: Intl.DateTimeFormat

  /** Throws a RangeError for a zone Intl does not know. */
  constructor(readonly timeZone: string) {
    this.#format = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' })
  }

  /** The local date at `instant` (epoch ms). */
  dateOf(instant: number): LocalDate {
    let year = 0
    let month = 0
    let day = 0
    for (const part of this.#format.formatToParts(instant)) {
      if (part.type === 'year') year = Number(part.value)
      else if (part.type === 'month') month = Number(part.value)
      else if (part.type === 'day') day = Number(part.value)
    }
    return { year, month, day }
  }

  /**
   * The first instant (epoch ms, to the second) whose local date is `date`: local midnight, or
   * the end of the daylight-saving gap on days that skip midnight (America/Santiago, ...).
   */
  startOf(date: LocalDate): number {
    const target = ordinal(date)
    const utcMidnight = Date.UTC(date.year, date.month - 1, date.day)
    // Binary search in whole seconds over the window where local midnight must lie.
    let low = Math.floor((utcMidnight - EARLIEST_OFFSET_MS) / 1000)
    let high = Math.floor((utcMidnight + LATEST_OFFSET_MS) / 1000)
    while (low < high) {
      const middle = Math.floor((low + high) / 2)
      if (ordinal(this.dateOf(middle * 1000)) >= target) high = middle
      else low = middle + 1
    }
    return low * 1000
  }
}

/** `date` moved by `days` calendar days (negative goes back). */
export function addDays(date: LocalDate, days: number): LocalDate {
  const moved = new Date(Date.UTC(date.year, date.month - 1, date.day + days))
  return { year: moved.getUTCFullYear(), month: moved.getUTCMonth() + 1, day: moved.getUTCDate() }
}

/** 0 for Monday … 6 for Sunday (ISO 8601 weeks). */
export function isoWeekday(date: LocalDate): number {
  return (new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() + 6) % 7
}

/** `YYYY-MM-DD`. */
export function formatDate(date: LocalDate): string {
  return `${String(date.year).padStart(4, '0')}-${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`
}

function ordinal(date: LocalDate): number {
  return date.year * 10_000 + date.month * 100 + date.day
}
