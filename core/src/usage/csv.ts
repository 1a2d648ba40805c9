/*
 * CSV for spreadsheets (RFC 4180, CRLF lines). Usernames, model names and request ids come from
 * callers, so a cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR
 * first) gets a leading apostrophe (OWASP "CSV injection"). Text cells are always quoted.
 */

/** Excel reads a file as UTF-8 (Chinese names intact) only when it starts with this mark. */
export const UTF8_BOM = '\uFEFF'

const FORMULA_START = /^[=+\-@\t\r]/

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(',')}\r\n`
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  let text = String(value)
  if (FORMULA_START.test(text)) text = `'${text}`
  return `"${text.replaceAll('"', '""')}"`
}
