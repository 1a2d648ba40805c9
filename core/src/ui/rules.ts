/*
 * The theme checker's rule catalogue. Codes are stable: a code is never reused for another
 * meaning, so CI logs and docs/themes.md stay comparable across versions.
 */

export type ThemeRuleCode =
  'PT001' | 'PT002' | 'PT003' | 'PT004' | 'PT005' | 'PT006' | 'PT007' | 'PT008' | 'PT009' | 'PT010'
export type ThemeProblemLevel = 'error' | 'warning'

export interface ThemeRule {
  readonly level: ThemeProblemLevel
  readonly title: string
}

export const THEME_RULES: Readonly<Record<ThemeRuleCode, ThemeRule>> = Object.freeze({
  PT001: { level: 'error', title: 'package.json missing or invalid (name, version)' },
  PT002: { level: 'error', title: 'engines.parley missing, not a semver range, or not satisfied by this core' },
  PT003: { level: 'error', title: 'default.hbs missing or without {{{body}}}' },
  PT004: { level: 'error', title: 'template does not compile' },
  PT005: { level: 'error', title: 'unescaped output ({{{ }}} or {{& }}) of anything but body' },
  PT006: { level: 'error', title: 'custom setting invalid (name, type, default, options)' },
  PT007: { level: 'error', title: 'custom setting declared but never used' },
  PT008: { level: 'warning', title: 'locale file invalid, or a key used by {{t}} missing from it' },
  PT009: { level: 'warning', title: 'partial referenced but not found in the theme' },
  PT010: { level: 'error', title: 'asset referenced by {{asset}} but missing from assets/' },
})

export interface ThemeProblem {
  readonly code: ThemeRuleCode
  readonly level: ThemeProblemLevel
  /** Path relative to the theme folder, e.g. `pages/home.hbs`. */
  readonly file: string
  readonly line?: number
  readonly message: string
}

export function problem(code: ThemeRuleCode, file: string, message: string, line?: number): ThemeProblem {
  return { code, level: THEME_RULES[code].level, file, ...(line === undefined ? {} : { line }), message }
}
